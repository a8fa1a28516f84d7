// Reliability item 4: a long transaction holding ACCESS SHARE on the table (a plain SELECT in an
// open transaction) while pgshift swaps (cutover) and drops (contract). The application's
// INSERT/UPDATE queue behind pgshift's ACCESS EXCLUSIVE request for at most one lock_timeout
// (never longer than about maxLockTimeoutMs); pgshift retries on its schedule, then fails with a
// LockTimeoutError naming the blocking pid and its query, nothing half-done; once the blocker
// commits, the same step succeeds. And: statement_timeout / idle_in_transaction_session_timeout
// set on the connecting role do not break a lifecycle whose statements run longer than them.
import assert from "node:assert/strict";
import { LockTimeoutError } from "../../src/errors";
import { fingerprint, type Fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { startWriter } from "../support/writer";
import { createStep, expand, holdInTransaction, migrationRow, namesOf, shadowMismatches, sleep, specOf, waitFor } from "./support/expand";

const ROWS = 5_000;
const LOCK = { lockTimeoutMs: 50, maxLockTimeoutMs: 200, lockRetries: 3 };
/** What a write may wait beyond maxLockTimeoutMs: scheduling on two shared cores, the round trip. */
const SLACK_MS = 150;

/** The fingerprint without the rows of `table` (which a running writer changes). */
function withoutData(f: Fingerprint, table: string): Fingerprint {
  const data = { ...f.data };
  delete data[table];
  return { catalog: f.catalog, data };
}

describe("lock contention during cutover and contract (real PostgreSQL)", function () {
  let db: TestDatabase;
  const q = <T extends object = Record<string, unknown>>(sql: string, url = db.url) => withClient(url, async (c) => (await c.query<T>(sql)).rows);
  const spec = (stage: "expand" | "cutover" | "contract") => specOf({ table: "t", column: "n", toType: "bigint", stage, ...LOCK });
  const measured: Record<string, number> = {};

  before(async () => {
    db = await createTestDatabase("lock_contention");
    await q(`CREATE TABLE t (id serial PRIMARY KEY, n int, note text);
             INSERT INTO t (n, note) SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) g;`);
    await expand(db.url, spec("expand"));
  });
  after(async () => {
    // eslint-disable-next-line no-console
    console.log(`      measured longest application waits (ms): ${JSON.stringify(measured)}`);
    await db?.drop();
  });

  /**
   * Runs `kind` against a long reader: it must fail with a LockTimeoutError naming the reader,
   * while a writer's statements never wait much longer than maxLockTimeoutMs, and leave the
   * database as it was. Then the reader commits and the step succeeds.
   */
  async function blockedThenSucceeds(kind: "cutover" | "contract"): Promise<void> {
    const s = spec(kind);
    const holder = await holdInTransaction(db.url, "SELECT count(*) FROM t WHERE id < 10");

    // 1. with the application writing: how long does one of its statements wait?
    const before = await withClient(db.url, fingerprint);
    const writer = startWriter({ url: db.url, table: "t", column: "n", maxId: ROWS });
    let elapsed = 0;
    try {
      await waitFor("the writer to get going", async () => writer.stats.inserts + writer.stats.updates >= 20);
      const started = Date.now();
      await assert.rejects(createStep(db.url, kind, s), (err: Error) => {
        assert.ok(err instanceof LockTimeoutError, `${err.name}: ${err.message}`);
        assert.equal(err.attempts, 3);
        assert.match(err.message, new RegExp(`pid ${holder.pid} \\(idle in transaction, transaction open [0-9:]+: "SELECT count\\(\\*\\) FROM t WHERE id < 10"\\)`));
        return true;
      });
      elapsed = Date.now() - started;
    } finally {
      await writer.stop();
    }
    const stats = writer.stats;
    measured[`${kind} (writer, longest statement)`] = stats.maxLatencyMs;
    measured[`${kind} (pgshift gave up after)`] = elapsed;
    assert.deepEqual(stats.failures, []);
    assert.ok(stats.inserts > 0 && stats.updates > 0, JSON.stringify({ inserts: stats.inserts, updates: stats.updates }));
    assert.ok(stats.maxLatencyMs <= LOCK.maxLockTimeoutMs + SLACK_MS, `an application write waited ${stats.maxLatencyMs} ms (maxLockTimeoutMs ${LOCK.maxLockTimeoutMs})`);
    // nothing of the step was applied: only the writer's rows changed
    assert.deepEqual(withoutData(await withClient(db.url, fingerprint), "t"), withoutData(before, "t"));

    // 2. without a writer, the whole fingerprint (rows included) is unchanged by the attempt
    const quiet = await withClient(db.url, fingerprint);
    await assert.rejects(createStep(db.url, kind, { ...s, lock: { ...s.lock } }), LockTimeoutError);
    assert.deepEqual(await withClient(db.url, fingerprint), quiet);
    assert.equal((await migrationRow(db.url, "t", "n"))?.stage, kind === "cutover" ? "expand" : "cutover");

    // 3. the reader commits: the same step succeeds, the application writing meanwhile
    await holder.release();
    const writer2 = startWriter({ url: db.url, table: "t", column: "n", maxId: ROWS });
    try {
      await createStep(db.url, kind, s);
    } finally {
      await writer2.stop();
    }
    assert.deepEqual(writer2.stats.failures, []);
    measured[`${kind} (writer while the step succeeded)`] = writer2.stats.maxLatencyMs;
    assert.equal((await migrationRow(db.url, "t", "n"))?.stage, kind);
  }

  it("cutover: the swap gives up naming the long reader, writes wait at most about maxLockTimeoutMs, nothing changes; then it succeeds", async () => {
    await blockedThenSucceeds("cutover");
    assert.deepEqual(await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'n'`), [{ t: "bigint" }]);
    // the old column mirrors the new one (the reverse trigger)
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "t", namesOf("t", "n").oldColumn, "n::int"), []));
  });

  it("contract: the drop gives up naming the long reader, writes wait at most about maxLockTimeoutMs, nothing changes; then it succeeds", async () => {
    await blockedThenSucceeds("contract");
    assert.deepEqual(await q(`SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass AND attname LIKE '%pgshift%' AND NOT attisdropped`), []);
    assert.deepEqual(await q(`SELECT indexname FROM pg_indexes WHERE tablename = 't' ORDER BY 1`), [{ indexname: "t_pkey" }]);
  });

  it("contract's DROP INDEX CONCURRENTLY of the old column's index waits out the long reader without blocking writes, then finishes", async () => {
    // an "alone" step takes SHARE UPDATE EXCLUSIVE (no write queues behind it) and waits for
    // the older transactions to end: no lock_timeout, no LockTimeoutError (src/db/executor.ts)
    await q(`CREATE TABLE u (id serial PRIMARY KEY, n int); CREATE INDEX u_n_idx ON u (n); INSERT INTO u (n) SELECT g FROM generate_series(1, ${ROWS}) g`);
    const change = { table: "u", column: "n", toType: "bigint", ...LOCK } as const;
    await expand(db.url, specOf(change));
    await createStep(db.url, "cutover", specOf({ ...change, stage: "cutover" }));
    const holder = await holdInTransaction(db.url, "SELECT count(*) FROM u WHERE id < 10");
    const writer = startWriter({ url: db.url, table: "u", column: "n", maxId: ROWS });
    let settled: "pending" | "done" | Error = "pending";
    const running = createStep(db.url, "contract", specOf({ ...change, stage: "contract" })).then(
      () => (settled = "done"),
      (err: Error) => (settled = err),
    );
    try {
      await waitFor("the index drop to wait for the reader", async () =>
        (await q(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'DROP INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`)).length > 0,
      );
      const ops = writer.stats.inserts + writer.stats.updates;
      await sleep(800);
      assert.equal(settled, "pending");
      assert.ok(writer.stats.inserts + writer.stats.updates > ops + 10, "the application kept writing");
    } finally {
      await holder.release();
      await running;
      await writer.stop();
    }
    assert.equal(settled, "done", String(settled));
    measured["contract DROP INDEX CONCURRENTLY behind the reader (writer, longest statement)"] = writer.stats.maxLatencyMs;
    assert.deepEqual(writer.stats.failures, []);
    assert.ok(writer.stats.maxLatencyMs <= LOCK.maxLockTimeoutMs + SLACK_MS, `an application write waited ${writer.stats.maxLatencyMs} ms`);
    assert.deepEqual(await q(`SELECT indexname FROM pg_indexes WHERE tablename = 'u' ORDER BY 1`), [{ indexname: "u_n_idx" }, { indexname: "u_pkey" }]);
  });
});

describe("statement_timeout and idle_in_transaction_session_timeout on the connecting role (real PostgreSQL)", function () {
  let db: TestDatabase;
  const role = `deployer_${Date.now().toString(36)}`;

  before(async () => {
    db = await createTestDatabase("role_timeouts");
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE big (id serial PRIMARY KEY, n int, pad text);
               INSERT INTO big (n, pad) SELECT g, repeat('x', 40) FROM generate_series(1, 400000) g;
               CREATE INDEX big_n_idx ON big (n);
               ANALYZE big;
               CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD 'pw';
               ALTER ROLE ${role} SET statement_timeout = '50ms';
               ALTER ROLE ${role} SET idle_in_transaction_session_timeout = '100ms';`),
    );
  });
  after(async () => {
    await db?.drop();
    await withClient(db.url.replace(/\/[^/]*$/, "/postgres"), (c) => c.query(`DROP ROLE IF EXISTS ${role}`)).catch(() => undefined);
  });

  it("expand (a backfill batch and an index build longer than 50 ms), cutover and contract all succeed", async () => {
    const url = new URL(db.url);
    url.username = role;
    url.password = "pw";
    const as = url.toString();
    // the role's settings are in force for its sessions, and a statement of this size exceeds them
    await withClient(as, async (c) => {
      const { rows } = await c.query(`SELECT current_setting('statement_timeout') AS st, current_setting('idle_in_transaction_session_timeout') AS it`);
      assert.deepEqual(rows, [{ st: "50ms", it: "100ms" }]);
      await assert.rejects(c.query(`SELECT count(*) FROM big a, generate_series(1, 20)`), /statement timeout/);
    });
    const change = { table: "big", column: "n", toType: "bigint", backfill: { batchSize: 100000, maxBatchSize: 200000, targetBatchMs: 2000 } } as const;
    const started = Date.now();
    await expand(as, specOf(change));
    const row = await migrationRow(db.url, "big", "n");
    assert.equal(row?.backfill?.done, true);
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "big", namesOf("big", "n").shadowColumn, "n::bigint"), []));
    const expandMs = Date.now() - started;
    await createStep(as, "cutover", specOf({ ...change, stage: "cutover" }));
    await createStep(as, "contract", specOf({ ...change, stage: "contract" }));
    const rows = await withClient(db.url, async (c) =>
      (await c.query(`SELECT format_type(atttypid, atttypmod) AS t, (SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_n_idx'::regclass) AS valid FROM pg_attribute WHERE attrelid = 'big'::regclass AND attname = 'n'`)).rows,
    );
    assert.deepEqual(rows, [{ t: "bigint", valid: true }]);
    // eslint-disable-next-line no-console
    console.log(`      expand of 400,000 rows took ${expandMs} ms under statement_timeout 50ms`);
  });
});
