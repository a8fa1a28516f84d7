import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import type { Client } from "pg";
import { ColumnTypeChange, type Stage } from "../../index";
import { startOwnServer, withClient, type OwnServer } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

const TABLE = "gone_t";
const ROWS = 60_000;
const PASSWORD = "pgshift-test"; // the embedded servers' (test/support/pg.ts)

/**
 * The server goes away under a running `pulumi up`: its backends are terminated
 * (pg_terminate_backend), or PostgreSQL restarts (fast shutdown and start, on a server of this
 * test's own), in the middle of the backfill and in the middle of the cutover swap. The up
 * fails with a short message (no stack trace, no password), the database is consistent, and
 * the next `pulumi up` completes the stage.
 */
describe("the server goes away mid-backfill and mid-cutover", function () {
  let server: OwnServer;
  let url: string;

  before(async () => {
    server = await startOwnServer();
    url = server.url;
  });

  after(async () => {
    await server?.stop();
  });

  interface Run {
    stack: Stack;
    up(stage: Stage): Promise<{ ok: boolean; text: string }>;
  }

  async function fresh(name: string): Promise<Run> {
    const dbUrl = new URL(url);
    await withClient(url, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${name}`);
    });
    dbUrl.pathname = `/${name}`;
    const dbText = dbUrl.toString();
    await withClient(dbText, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, v integer NOT NULL)`);
      await c.query(`CREATE INDEX ${TABLE}_v_idx ON ${TABLE} (v)`);
      await c.query(`INSERT INTO ${TABLE} (v) SELECT g FROM generate_series(1, $1) g`, [ROWS]);
    });
    const program = async () => {
      new ColumnTypeChange("gone", {
        table: TABLE,
        column: "v",
        toType: "bigint",
        stage: new pulumi.Config().require("stage") as Stage,
        connection: pulumi.secret(dbText),
        // slow on purpose (about 3 s), so the server can go away in the middle of it
        backfill: { batchSize: 1000, maxBatchSize: 1000, pauseMs: 40 },
        // the swap waits behind a test's transaction long enough to be interrupted
        lockTimeoutMs: 500,
        maxLockTimeoutMs: 2000,
        lockRetries: 20,
      });
    };
    const stack = await createStack({ projectName: `pgshift-gone-${name}`, program });
    return {
      stack,
      up: async (stage) => {
        await stack.setConfig("stage", { value: stage });
        const out = collectOutput();
        const ok = await stack.up({ onOutput: out.onOutput }).then(
          () => true,
          (err: Error) => (out.onOutput(`\n${err.message}`), false),
        );
        return { ok, text: out.text() };
      },
    };
  }

  const dbOf = (name: string) => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };

  async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await fn().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const backfilling = (db: string) => () =>
    withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT (backfill->>'rowsScanned')::int AS n FROM pgshift_migrations`);
      return (rows[0]?.n ?? 0) >= 5000;
    });

  /** pgshift's swap waits for the table's lock behind `blocker`. */
  const swapWaiting = (db: string) => () =>
    withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgshift%' AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE%'`);
      return rows.length > 0;
    });

  async function terminatePgshift(db: string): Promise<number> {
    return withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'pgshift%' AND pid <> pg_backend_pid()`);
      return rows.length;
    });
  }

  /** The failed up's message: short and clear, no stack trace, no password. */
  function assertClearError(text: string, pattern: RegExp): void {
    assert.match(text, pattern);
    assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace in the output:\n${text}`);
    assert.ok(!text.includes(PASSWORD), `the password is in the output:\n${text}`);
  }

  /** `output`: what the last up printed, in the failure's message (the state row's absence once went unexplained). */
  async function assertConsistent(db: string, stage: string, output = ""): Promise<void> {
    await withClient(db, async (c: Client) => {
      const { rows: state } = await c.query(`SELECT to_regclass('pgshift_migrations') IS NOT NULL AS ok`);
      assert.ok(state[0].ok, `no pgshift_migrations at ${stage}; the last up printed:\n${output}`);
      const { rows: invalid } = await c.query(`SELECT indexrelid::regclass::text AS i FROM pg_index WHERE NOT indisvalid`);
      assert.deepEqual(invalid, []);
      const { rows } = await c.query(`SELECT stage, (backfill->>'done')::boolean AS done FROM pgshift_migrations`);
      assert.equal(rows[0].stage, stage);
      assert.equal(rows[0].done, true);
      const { rows: bad } = await c.query(
        stage === "expand"
          ? `SELECT count(*)::int AS n FROM ${TABLE} WHERE v__pgshift_new IS DISTINCT FROM v::bigint`
          : `SELECT count(*)::int AS n FROM ${TABLE} WHERE v__pgshift_old IS DISTINCT FROM v::integer OR v IS NULL`,
      );
      assert.equal(bad[0].n, 0);
    });
  }

  for (const how of ["terminated", "restarted"] as const) {
    const goAway = async (db: string) => {
      if (how === "terminated") assert.ok((await terminatePgshift(db)) > 0, "no pgshift backend to terminate");
      else await server.restart();
    };
    // ConnectionLostError: what was running, the reason (PostgreSQL's 57P01 message, pg's
    // "Connection terminated unexpectedly" when it came between two statements, or the socket's
    // "read ECONNRESET" when the server closed it first: seen on PostgreSQL 18), what to do
    const gone = /the connection to the database was lost during pgshift \w+: (terminating connection due to administrator command|Connection terminated unexpectedly|read ECONNRESET)\. [^\n]*run pulumi up again/;

    it(`connection ${how} mid-backfill: a clear error, then the next up completes`, async () => {
      const name = `gone_backfill_${how}`;
      const db = dbOf(name);
      const run = await fresh(name);
      const first = run.up("expand");
      await until("the backfill to get going", backfilling(db));
      await goAway(db);
      const failed = await first;
      assert.equal(failed.ok, false, "the up survived the server going away (it was not in the middle of it)");
      assertClearError(failed.text, gone);
      const second = await run.up("expand");
      assert.ok(second.ok, second.text);
      await assertConsistent(db, "expand", second.text);
    });

    it(`connection ${how} mid-cutover: a clear error, then the next up completes`, async () => {
      const name = `gone_cutover_${how}`;
      const db = dbOf(name);
      const run = await fresh(name);
      const expanded = await run.up("expand");
      assert.ok(expanded.ok, expanded.text);
      // an application transaction holds the table, so the swap waits (retrying) in its LOCK TABLE
      await withClient(db, async (blocker) => {
        blocker.on("error", () => undefined); // a restart ends this session too
        await blocker.query(`BEGIN; SELECT count(*) FROM ${TABLE}`);
        const first = run.up("cutover");
        await until("the swap to wait for the table's lock", swapWaiting(db));
        await goAway(db);
        const failed = await first;
        assert.equal(failed.ok, false);
        assertClearError(failed.text, gone);
        await blocker.query("ROLLBACK").catch(() => undefined);
      }).catch((err) => {
        // the restart also ends the blocker's session: only its own end may fail
        if (!(how === "restarted" && /terminat|Connection/i.test(String(err)))) throw err;
      });
      await assertConsistent(db, "expand");
      const second = await run.up("cutover");
      assert.ok(second.ok, second.text);
      await assertConsistent(db, "cutover", second.text);
    });
  }
});
