// `pgshift status`, the built CLI (dist/src/cli/main.js) run as a child process against a
// real server: a migration part-way through its backfill, one that has only its shadow
// column, a pgshift session stuck behind a lock, and the exit codes 1 and 2.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { runBackfill } from "../../src/backfill/run";
import type { StatusReport } from "../../src/cli/statusFormat";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { repoRoot } from "../support/pulumi";
import { contextFromRow, createStep, expand, migrationRow, specOf, waitFor } from "./support/expand";

const CLI = path.join(repoRoot, "dist", "src", "cli", "main.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with exactly `env` (plus PATH): no DATABASE_URL or PG* leaks in from the test's environment. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function report(run: Run): StatusReport {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as StatusReport;
}

/** Fixed batch size: a target far above any batch's duration keeps the adaptive size from moving. */
const FIXED = { batchSize: 1000, maxBatchSize: 1000, pauseMs: 0, targetBatchMs: 600_000, maxReplicationLagMs: 0 };
const ROWS = 20_000;

describe("pgshift status (the built CLI against a real server)", function () {
  let db: TestDatabase;
  const orders = specOf({ table: "orders", column: "amount", toType: "bigint", backfill: FIXED });
  // a long lock_timeout: the lock-wait test needs this migration's step to wait, not to give up
  const invoices = specOf({ table: "billing.invoices", column: "total", toType: "bigint", lockTimeoutMs: 60_000, maxLockTimeoutMs: 60_000, lockRetries: 1 });

  before(async function () {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run npm run build first`);
    db = await createTestDatabase("status_cli");
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE orders (id serial PRIMARY KEY, amount integer NOT NULL);
               INSERT INTO orders (amount) SELECT g FROM generate_series(1, ${ROWS}) g;
               ANALYZE orders;
               CREATE SCHEMA billing;
               CREATE TABLE billing.invoices (id bigserial PRIMARY KEY, total integer);
               INSERT INTO billing.invoices (total) SELECT g FROM generate_series(1, 100) g;`),
    );
    // orders: shadow column and trigger, then 3 of its 20 batches
    await expand(db.url, orders, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, orders, "orders", "amount");
    const first = await withClient(db.url, (c) =>
      runBackfill(c, ctx, null, { lock: orders.lock, table: "public.orders", stateSchema: "public", maxBatches: 3 }),
    );
    assert.equal(first.checkpoint.rowsScanned, 3000);
    // billing.invoices: only the shadow column (its state table is billing.pgshift_migrations)
    await expand(db.url, invoices, ["shadow-column"]);
  });

  after(async () => {
    await db?.drop();
  });

  it("ships as the package's bin: package.json points at it and it starts with a node shebang", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { bin: Record<string, string>; files: string[] };
    assert.equal(path.resolve(repoRoot, pkg.bin.pgshift), CLI);
    assert.ok(pkg.files.some((f) => CLI.startsWith(path.join(repoRoot, f))), `"files" (${pkg.files.join(", ")}) must include ${pkg.bin.pgshift}`);
    assert.equal(fs.readFileSync(CLI, "utf8").split("\n")[0], "#!/usr/bin/env node");
  });

  it("prints a table: stage, change, backfill progress with rate and ETA, reversibility, owner", async () => {
    const run = await cli(["status", "--connection", db.url]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.match(lines[0], /^STAGE\s+CHANGE\s+BACKFILL\s+RATE\s+ETA\s+REVERSIBLE\s+OWNER$/);
    // state tables in schema order: billing, then public
    assert.match(lines[1], /^expand\s+billing\.invoices\.total integer -> bigint\s+not started\s+-\s+-\s+yes\s+-$/);
    assert.match(lines[2], /^expand\s+public\.orders\.amount integer -> bigint\s+3,000 of ~20,000 rows \(15\.0%\)\s+[\d,]+ rows\/s\s+\d+(h\d\dm|m\d\ds|s)\s+yes\s+-$/);
    assert.equal(lines.length, 4, run.stdout);
    assert.equal(run.stderr, "");
  });

  it("--json: the same facts with stable field names, rate and ETA from the row's timestamps", async () => {
    const r = report(await cli(["status", "--json", "--connection", db.url]));
    assert.equal(r.formatVersion, 1);
    assert.equal(r.schema, null);
    assert.deepEqual(r.migrations.map((m) => m.id), ["billing.invoices.total", "public.orders.amount"]);
    assert.deepEqual(r.lockWaits, []);

    const [inv, ord] = r.migrations;
    assert.equal(inv.stateSchema, "billing");
    assert.deepEqual(inv.backfill, {
      status: "not-started", rowsScanned: 0, rowsUpdated: 0, estimatedRows: inv.backfill.estimatedRows, percent: inv.backfill.percent,
      rowsPerSecond: null, etaSeconds: null, lastCheckpointAt: null, secondsSinceCheckpoint: null, idle: false,
    });

    assert.equal(ord.stage, "expand");
    assert.deepEqual(ord.table, { schema: "public", name: "orders" });
    assert.equal(ord.column, "amount");
    assert.equal(ord.from, "integer");
    assert.equal(ord.to, "bigint");
    assert.equal(ord.change, "public.orders.amount integer -> bigint");
    assert.equal(ord.reversible, true);
    assert.equal(ord.irreversibleReason, null);
    assert.equal(ord.owner, null, "the handlers were driven without an owner");
    const b = ord.backfill;
    assert.equal(b.status, "in-progress");
    assert.equal(b.rowsScanned, 3000);
    assert.equal(b.rowsUpdated, 3000);
    assert.equal(b.estimatedRows, ROWS, "pg_class.reltuples after ANALYZE");
    assert.equal(b.percent, 15);
    assert.equal(b.lastCheckpointAt, ord.updatedAt);
    // what the state row says, recomputed here
    const row = await migrationRow(db.url, "orders", "amount");
    const { lastKey, upperKey, rowsScanned, rowsUpdated, done } = row!.backfill!;
    assert.deepEqual({ lastKey, upperKey, rowsScanned, rowsUpdated, done }, { lastKey: ["3000"], upperKey: [String(ROWS)], rowsScanned: 3000, rowsUpdated: 3000, done: false });
    const elapsed = (Date.parse(ord.updatedAt) - Date.parse(ord.createdAt)) / 1000;
    assert.ok(elapsed > 0, `updated_at after created_at: ${ord.createdAt} .. ${ord.updatedAt}`);
    assert.ok(b.rowsPerSecond !== null && Math.abs(b.rowsPerSecond - 3000 / elapsed) < 0.1, `rate ${b.rowsPerSecond} = 3000 rows / ${elapsed} s`);
    assert.ok(b.etaSeconds !== null && Math.abs(b.etaSeconds - (ROWS - 3000) / (3000 / elapsed)) < 0.2, `ETA ${b.etaSeconds}`);
    assert.ok(b.secondsSinceCheckpoint !== null && b.secondsSinceCheckpoint >= 0);
  });

  it("--schema restricts to migrations whose table or state table is in that schema", async () => {
    const billing = report(await cli(["status", "--json", "--schema", "billing", "--connection", db.url]));
    assert.deepEqual(billing.migrations.map((m) => m.id), ["billing.invoices.total"]);
    assert.equal(billing.schema, "billing");
    const none = await cli(["status", "--schema", "nowhere", "--connection", db.url]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "No pgshift migrations in schema nowhere.\n");
  });

  it("connects through DATABASE_URL, else the PG* variables, as the component does", async () => {
    const viaUrl = report(await cli(["status", "--json"], { DATABASE_URL: db.url }));
    assert.equal(viaUrl.migrations.length, 2);
    const u = new URL(db.url);
    const pgEnv = { PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: u.pathname.slice(1) };
    const viaPg = report(await cli(["status", "--json"], pgEnv));
    assert.deepEqual(viaPg.migrations.map((m) => m.id), viaUrl.migrations.map((m) => m.id));
    // --connection wins over both
    const wrong = { DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none", PGHOST: "127.0.0.1", PGPORT: "1" };
    assert.equal(report(await cli(["status", "--json", "--connection", db.url], wrong)).migrations.length, 2);
  });

  it("shows a pgshift session that waits on a lock, and the session that blocks it", async function () {
    const holder = new Client({ connectionString: db.url, application_name: "status-test-holder" });
    await holder.connect();
    let step: Promise<unknown> | undefined;
    try {
      const { rows } = await holder.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
      const holderPid = rows[0].pid;
      await holder.query(`BEGIN; LOCK TABLE billing.invoices IN SHARE MODE`);
      // the mirror trigger's CREATE TRIGGER needs SHARE ROW EXCLUSIVE: it queues behind the holder
      step = createStep(db.url, "mirror-trigger", invoices);
      step.catch(() => undefined);
      const waiterPid = await waitFor("the mirror-trigger step to wait on its lock", () =>
        withClient(db.url, async (c) => {
          const { rows: w } = await c.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'pgshift mirror-trigger' AND wait_event_type = 'Lock'`,
          );
          return w[0]?.pid;
        }),
      );

      const r = report(await cli(["status", "--json", "--connection", db.url]));
      assert.equal(r.lockWaits.length, 1, JSON.stringify(r.lockWaits));
      const w = r.lockWaits[0];
      assert.equal(w.pid, waiterPid);
      assert.equal(w.applicationName, "pgshift mirror-trigger");
      assert.equal(w.lockType, "relation");
      assert.equal(w.lockMode, "ShareRowExclusiveLock");
      assert.equal(w.relation, "billing.invoices");
      assert.match(w.query, /CREATE TRIGGER/i);
      assert.ok(w.waitingSeconds !== null && w.waitingSeconds >= 0);
      assert.equal(w.blockedBy.length, 1);
      assert.equal(w.blockedBy[0].pid, holderPid);
      assert.equal(w.blockedBy[0].applicationName, "status-test-holder");
      assert.equal(w.blockedBy[0].state, "idle in transaction");
      assert.match(w.blockedBy[0].query, /LOCK TABLE billing\.invoices IN SHARE MODE/);

      const table = await cli(["status", "--connection", db.url]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /\npgshift sessions waiting on locks \(1\):\n/);
      assert.match(table.stdout, new RegExp(`pid ${waiterPid} \\(pgshift mirror-trigger\\) waiting \\d+s for ShareRowExclusiveLock on billing\\.invoices: CREATE TRIGGER`, "i"));
      assert.match(table.stdout, new RegExp(`blocked by pid ${holderPid} \\(status-test-holder, user \\S+, idle in transaction, transaction open \\d+s\\): (BEGIN; )?LOCK TABLE billing\\.invoices IN SHARE MODE`));

      // a wait on another schema's relation is left out by --schema
      assert.deepEqual(report(await cli(["status", "--json", "--schema", "public", "--connection", db.url])).lockWaits, []);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await step;
    }
    // the step went on once the lock was free; nothing waits any more
    assert.deepEqual(report(await cli(["status", "--json", "--connection", db.url])).lockWaits, []);
  });

  it("exit 1 with one line, and never the password, when the server refuses or cannot be reached", async () => {
    const u = new URL(db.url);
    u.password = "not-the-password-xyz";
    const refused = await cli(["status", "--connection", u.toString()]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.match(refused.stderr, /^pgshift status: cannot connect to [^\n]*password authentication failed[^\n]*\n$/);
    assert.ok(!refused.stderr.includes("not-the-password-xyz"), refused.stderr);

    const real = new URL(db.url);
    const unreachable = await cli(["status"], { PGHOST: "127.0.0.1", PGPORT: "1", PGUSER: "x", PGPASSWORD: decodeURIComponent(real.password), PGDATABASE: "x" });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^pgshift status: cannot connect to 127\.0\.0\.1:1\/x: [^\n]*ECONNREFUSED[^\n]*\n$/);
    assert.ok(!unreachable.stderr.includes(decodeURIComponent(real.password)), unreachable.stderr);
  });

  it("exit 2 for bad arguments, before any connection", async () => {
    const bad = await cli(["status", "--bogus", "--connection", db.url]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '--bogus'/);
    const none = await cli(["status"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no database connection/);
  });
});
