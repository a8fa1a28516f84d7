// Principle 3: a statement that needs a strong lock waits at most lock_timeout, is rolled back
// and retried with an escalating timeout, and gives up with a LockTimeoutError naming the
// blocking session; meanwhile the application's reads and writes are never stuck behind it in
// the lock queue for longer than one timeout. Principle 4: a CREATE INDEX CONCURRENTLY that
// times out leaves an INVALID index, which is dropped before the retry.
import assert from "node:assert/strict";
import { Client } from "pg";
import { runStep, runSteps, type ExecutionStats, type ExecutorOptions } from "../../src/db/executor";
import type { StepWatch } from "../../src/db/watch";
import { LockTimeoutError } from "../../src/errors";
import { alone, transaction } from "../../src/plan/step";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { startWriter } from "../support/writer";
import { createStep, holdInTransaction, sleep, specOf, waitFor } from "./support/expand";

const ROWS = 2_000;

function executorOptions(lockTimeoutMs: number, lockRetries: number, maxLockTimeoutMs: number, log?: string[]): ExecutorOptions {
  return { lock: { lockTimeoutMs, lockRetries, maxLockTimeoutMs }, table: "public.orders", ...(log ? { log: (l: string) => log.push(l) } : {}) };
}

/** Reports of an alone step every 100 ms (the provider's: every 30 s), from sessions named test-watch. */
function watchOf(url: string): StepWatch {
  return {
    connect: async () => {
      const c = new Client({ connectionString: url, application_name: "test-watch" });
      await c.connect();
      return c;
    },
    everyMs: 100,
  };
}

/** The watcher's sessions still open. */
const watchSessions = (url: string) =>
  withClient(url, async (c) => Number((await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'test-watch'`)).rows[0].n));

describe("lock_timeout and retries (src/db/executor.ts)", function () {
  let db: TestDatabase;
  let schemaBefore: string;

  before(async () => {
    db = await createTestDatabase("lock_retry");
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE orders (id serial PRIMARY KEY, amount integer);
               INSERT INTO orders (amount) SELECT g FROM generate_series(1, ${ROWS}) g;
               CREATE TABLE "Orders" (id serial PRIMARY KEY, amount integer);
               INSERT INTO "Orders" (amount) SELECT g FROM generate_series(1, 100) g;`),
    );
    schemaBefore = await describeTableSchema(db.url, "public.orders");
  });

  after(async () => {
    await db?.drop();
  });

  it("gives up with a LockTimeoutError naming the blocking pid, leaves the table unchanged, and never stalls the application", async () => {
    const writer = startWriter({ url: db.url, table: "orders", column: "amount", maxId: ROWS });
    const holder = await holdInTransaction(db.url, "LOCK TABLE orders IN ACCESS SHARE MODE");
    const log: string[] = [];
    try {
      await waitFor("the writer to get going", async () => writer.stats.inserts + writer.stats.updates >= 20);
      const opsBefore = writer.stats.inserts + writer.stats.updates;
      const started = Date.now();
      await withClient(db.url, async (c) => {
        const stats: ExecutionStats = { statements: 0, lockRetries: 0 };
        await assert.rejects(
          runStep(c, transaction("add a column", "ALTER TABLE orders ADD COLUMN extra bigint"), executorOptions(20, 3, 1000, log), stats),
          (err: Error) => {
            assert.ok(err instanceof LockTimeoutError, String(err));
            assert.equal(err.attempts, 3);
            assert.match(err.message, /^gave up on add a column after 3 attempts: each time another session held a conflicting lock longer than the lock_timeout/);
            assert.match(err.message, new RegExp(`\\(blocking sessions: .*pid ${holder.pid} \\(idle in transaction, transaction open`));
            assert.match(err.message, /LOCK TABLE orders IN ACCESS SHARE MODE/);
            return true;
          },
        );
        assert.equal(stats.lockRetries, 3);
        assert.equal(stats.statements, 0);
        // the session is usable again, outside any transaction, with its own lock_timeout
        const { rows } = await c.query(`SELECT current_setting('lock_timeout') AS t, pg_current_xact_id_if_assigned() AS x`);
        assert.deepEqual(rows, [{ t: "0", x: null }]);
      });
      const elapsed = Date.now() - started;
      // 20 + 40 + 80 ms of lock waits plus two jittered pauses (25-75 ms, 50-150 ms)
      assert.ok(elapsed < 2000, `gave up after ${elapsed} ms`);
      await sleep(50);
      assert.ok(writer.stats.inserts + writer.stats.updates > opsBefore + 10, "the application kept writing meanwhile");
    } finally {
      await holder.release();
      await writer.stop();
    }
    const stats = writer.stats;
    assert.deepEqual(stats.failures, []);
    // each attempt queues for its lock_timeout at most; a plain write waits behind it no longer
    assert.ok(stats.maxLatencyMs < 1000, `the writer was blocked for ${stats.maxLatencyMs} ms`);
    assert.deepEqual(
      log.filter((l) => l.includes("lock not granted")).map((l) => l.replace(/retrying in \d+ ms/, "retrying")),
      [
        "pgshift: add a column: lock not granted within 20 ms (attempt 1/3), retrying",
        "pgshift: add a column: lock not granted within 40 ms (attempt 2/3), retrying",
        "pgshift: add a column: lock not granted within 80 ms (attempt 3/3), giving up",
      ],
    );
    assert.equal(await describeTableSchema(db.url, "public.orders"), schemaBefore);
  });

  it("a plain SELECT in another session is not blocked beyond the lock_timeout either", async () => {
    const holder = await holdInTransaction(db.url, "LOCK TABLE orders IN ACCESS SHARE MODE");
    const reader = new Client({ connectionString: db.url });
    await reader.connect();
    let maxLatency = 0;
    let reads = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const t0 = Date.now();
        await reader.query("SELECT count(*) FROM orders WHERE id < 100");
        maxLatency = Math.max(maxLatency, Date.now() - t0);
        reads++;
      }
    })();
    try {
      await withClient(db.url, (c) =>
        assert.rejects(runStep(c, transaction("add a column", "ALTER TABLE orders ADD COLUMN extra bigint"), executorOptions(50, 4, 1000)), LockTimeoutError),
      );
    } finally {
      running = false;
      await loop;
      await reader.end();
      await holder.release();
    }
    assert.ok(reads > 10, `${reads} reads`);
    assert.ok(maxLatency < 1000, `a SELECT waited ${maxLatency} ms`);
    assert.equal(await describeTableSchema(db.url, "public.orders"), schemaBefore);
  });

  it("succeeds once the blocker commits while the step is retrying, counting the retries", async () => {
    const writer = startWriter({ url: db.url, table: "orders", column: "amount", maxId: ROWS });
    const holder = await holdInTransaction(db.url, "LOCK TABLE orders IN ACCESS SHARE MODE");
    let stats: ExecutionStats;
    const released = sleep(150).then(() => holder.release());
    try {
      stats = await withClient(db.url, (c) =>
        runSteps(c, [transaction("add a column", "ALTER TABLE orders ADD COLUMN extra bigint", "ALTER TABLE orders ADD COLUMN extra2 text")], executorOptions(20, 10, 200)),
      );
    } finally {
      await released;
      await writer.stop();
    }
    assert.ok(stats.lockRetries > 0, `lockRetries ${stats.lockRetries}`);
    assert.equal(stats.statements, 2);
    assert.deepEqual(writer.stats.failures, []);
    assert.ok(writer.stats.maxLatencyMs < 1000, `the writer was blocked for ${writer.stats.maxLatencyMs} ms`);
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname LIKE 'extra%' AND NOT attisdropped ORDER BY 1`);
      assert.deepEqual(rows.map((r) => r.attname), ["extra", "extra2"]);
      await c.query(`ALTER TABLE orders DROP COLUMN extra, DROP COLUMN extra2`);
    });
  });

  it("an alone step (CREATE INDEX CONCURRENTLY) waits out an old snapshot instead of failing, without blocking the application", async () => {
    // CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which no SELECT/INSERT/UPDATE/DELETE
    // queues behind, then waits for every transaction with an older snapshot. An "alone" step
    // therefore runs without lock_timeout: a timeout would only fail the build (leaving an
    // INVALID index) whenever some long transaction is open.
    const writer = startWriter({ url: db.url, table: "orders", column: "amount", maxId: ROWS });
    const holder = await holdInTransaction(db.url, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", `SELECT count(*) FROM "Orders"`);
    const builder = new Client({ connectionString: db.url, application_name: "test-cic" });
    await builder.connect();
    const step = alone("build index orders_amount_idx", `CREATE INDEX CONCURRENTLY orders_amount_idx ON orders (amount)`, [
      "DROP INDEX CONCURRENTLY IF EXISTS public.orders_amount_idx",
    ]);
    const indexState = () =>
      withClient(db.url, async (c) => (await c.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('public.orders_amount_idx')`)).rows);
    const stats: ExecutionStats = { statements: 0, lockRetries: 0 };
    let settled: "pending" | "resolved" | Error = "pending";
    const log: string[] = [];
    const running = runStep(builder, step, { ...executorOptions(20, 3, 1000, log), watch: watchOf(db.url) }, stats).then(
      () => (settled = "resolved"),
      (err: Error) => (settled = err),
    );
    try {
      await waitFor("the build to wait for the old snapshot", () =>
        withClient(db.url, async (c) => {
          const { rows } = await c.query(`SELECT wait_event FROM pg_stat_activity WHERE application_name = 'test-cic' AND wait_event_type = 'Lock'`);
          return rows[0]?.wait_event === "virtualxid";
        }),
      );
      const opsBefore = writer.stats.inserts + writer.stats.updates;
      // far longer than every lock_timeout of the schedule (20 + 40 + 80 ms) and its pauses
      await sleep(600);
      assert.equal(settled, "pending", "the build is still waiting, not failed");
      assert.equal(stats.lockRetries, 0);
      assert.deepEqual(await indexState(), [{ valid: false }], "in progress");
      assert.ok(writer.stats.inserts + writer.stats.updates > opsBefore + 10, "the application kept writing meanwhile");
      // while it waits it says so, naming the session to end and what it runs
      await waitFor("a report naming the old snapshot's session", async () => log.some((l) => l.includes(`pid ${holder.pid}`)));
      const report = log.find((l) => l.includes(`pid ${holder.pid}`))!;
      assert.match(
        report,
        new RegExp(`^pgshift: build index orders_amount_idx: running \\d+s; index waiting for old snapshots(, \\d+ of \\d+ sessions ended)?; waiting for pid ${holder.pid} \\(idle in transaction, transaction open 00:00:\\d\\d: "SELECT count\\(\\*\\) FROM \\\\"Orders\\\\""\\) to end$`),
      );
    } finally {
      await holder.release();
      await running;
      await writer.stop();
    }
    assert.equal(await watchSessions(db.url), 0, "the watcher's session is closed with the step");
    const reports = log.length;
    await sleep(300);
    assert.equal(log.length, reports, "no report after the step ended");
    assert.equal(settled, "resolved", String(settled));
    assert.deepEqual(await indexState(), [{ valid: true }]);
    const { rows } = await builder.query(`SELECT current_setting('lock_timeout') AS t`);
    assert.equal(rows[0].t, "0", "the session's lock_timeout is back to its default");
    await builder.end();
    assert.deepEqual(writer.stats.failures, []);
    assert.ok(writer.stats.maxLatencyMs < 1000, `the writer was blocked for ${writer.stats.maxLatencyMs} ms`);
    await withClient(db.url, (c) => c.query(`DROP INDEX orders_amount_idx`));
    assert.equal(await describeTableSchema(db.url, "public.orders"), schemaBefore);
  });

  it("an alone DROP INDEX CONCURRENTLY waits for a transaction on the table and reports whom it waits for until it ends", async () => {
    await withClient(db.url, (c) => c.query(`CREATE INDEX orders_amount_drop_idx ON orders (amount)`));
    const holder = await holdInTransaction(db.url, "SELECT count(*) FROM orders");
    const log: string[] = [];
    const dropping = withClient(db.url, (c) =>
      runStep(c, alone("drop index orders_amount_drop_idx", "DROP INDEX CONCURRENTLY IF EXISTS public.orders_amount_drop_idx"), { ...executorOptions(20, 3, 1000, log), watch: watchOf(db.url) }),
    );
    try {
      await waitFor("two reports naming the holder", async () => log.filter((l) => l.includes(`waiting for pid ${holder.pid} (idle in transaction`)).length >= 2);
    } finally {
      await holder.release();
    }
    await dropping;
    assert.match(log[0], /^pgshift: drop index orders_amount_drop_idx: running \d+s; waiting for pid \d+ \(idle in transaction, transaction open 00:00:\d\d: "SELECT count\(\*\) FROM orders"\) to end$/);
    const { rows } = await withClient(db.url, (c) => c.query(`SELECT to_regclass('public.orders_amount_drop_idx') AS idx`));
    assert.equal(rows[0].idx, null);
    assert.equal(await watchSessions(db.url), 0);
  });

  it("through the provider: ShadowColumn's ADD COLUMN under a held lock fails with the blocking pid and adds nothing", async () => {
    const holder = await holdInTransaction(db.url, "LOCK TABLE orders IN ACCESS SHARE MODE");
    try {
      await assert.rejects(
        createStep(db.url, "shadow-column", specOf({ table: "orders", column: "amount", toType: "bigint", lockTimeoutMs: 20, lockRetries: 3, maxLockTimeoutMs: 100 })),
        (err: Error) => {
          assert.ok(err instanceof LockTimeoutError, String(err));
          assert.match(err.message, new RegExp(`^gave up on add the shadow column after 3 attempts: .*pid ${holder.pid} `));
          return true;
        },
      );
    } finally {
      await holder.release();
    }
    assert.equal(await describeTableSchema(db.url, "public.orders"), schemaBefore);
  });

  // the provider hands the executor the quoted table name ("public"."Orders"): its
  // blockingSessions() resolves it with to_regclass(), and an unquoted public.Orders would fold
  // to public.orders, a different table here, and name whoever locks that one instead.
  it("through the provider: names the blocking pid for a mixed-case table too", async () => {
    const holder = await holdInTransaction(db.url, `LOCK TABLE "Orders" IN ACCESS SHARE MODE`);
    try {
      await assert.rejects(
        createStep(db.url, "shadow-column", specOf({ table: `"Orders"`, column: "amount", toType: "bigint", lockTimeoutMs: 20, lockRetries: 2, maxLockTimeoutMs: 100 })),
        (err: Error) => {
          assert.ok(err instanceof LockTimeoutError, String(err));
          assert.match(err.message, new RegExp(`\\(blocking sessions: .*pid ${holder.pid} `));
          return true;
        },
      );
    } finally {
      await holder.release();
    }
  });
});
