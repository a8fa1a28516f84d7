/**
 * The in-database backfill (backfill.runner "database") on a real server with pg_cron
 * preloaded (test/support/cronServer.ts), driving the Backfill handler directly: its apply
 * schedules the job and returns at once; the job's progress grows in refresh; a writer during
 * the job loses nothing and its UPDATEs wait little behind the batches' row locks; the next
 * apply after the end removes the job and the procedure; removing the child mid-way unschedules
 * the job, ends its run and drops the procedure. The procedure's SQL twins of the batch-size,
 * replication-pause and commit-pause rules give the numbers of the TypeScript ones.
 */
import assert from "node:assert/strict";
import type { BudgetedCheckpoint } from "../../src/backfill/checkpoint";
import { backfillJobName, vacuumJobName } from "../../src/backfill/cron";
import { commitPauseMs, commitPauseMsSql, nextBatchSize, nextBatchSizeSql, replicationPauseMs, replicationPauseMsSql } from "../../src/backfill/throttle";
import type { ColumnChangeSpec } from "../../src/spec";
import { cronTestsApply, startCronServer, type CronServer } from "../support/cronServer";
import { withClient, type TestDatabase } from "../support/pg";
import { startWriter } from "../support/writer";
import { createStep, expand, migrationRow, namesOf, readStep, removeStep, shadowMismatches, specOf, waitFor } from "./support/expand";

const ROWS = 200_000;
/** 100 batches of 2,000 rows with a pause: the job runs for over a minute, long enough to watch and to meet a run of the VACUUM job. */
const SLOW = { runner: "database" as const, batchSize: 2000, maxBatchSize: 2000, pauseMs: 700, targetBatchMs: 600_000, maxReplicationLagMs: 0 };

async function makeTable(url: string, table: string, rows = ROWS): Promise<void> {
  await withClient(url, async (c) => {
    // no autovacuum: the VACUUMs counted are the VACUUM job's
    await c.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, checksum text NOT NULL DEFAULT md5(random()::text), file_size integer) WITH (autovacuum_enabled = false)`);
    await c.query(`INSERT INTO ${table} (file_size) SELECT g FROM generate_series(1, ${rows}) g`);
    await c.query(`ANALYZE ${table}`);
  });
}

const jobsOf = (cron: CronServer, db: TestDatabase) =>
  withClient(cron.url, async (c) => (await c.query<{ jobname: string }>(`SELECT jobname FROM cron.job WHERE database = $1 ORDER BY jobname`, [db.name])).rows.map((r) => r.jobname));
const schedulesOf = (cron: CronServer, db: TestDatabase) =>
  withClient(cron.url, async (c) => (await c.query<{ schedule: string }>(`SELECT schedule FROM cron.job WHERE database = $1 ORDER BY jobname`, [db.name])).rows.map((r) => r.schedule));
const vacuumsOf = (db: TestDatabase, table: string) =>
  withClient(db.url, async (c) => Number((await c.query<{ n: string }>(`SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = $1`, [table])).rows[0].n));
const procedureExists = (db: TestDatabase, name: string) =>
  withClient(db.url, async (c) => (await c.query(`SELECT 1 FROM pg_proc WHERE proname = $1`, [name])).rows.length > 0);

describe("the in-database backfill (pg_cron)", function () {
  this.timeout(240_000);
  let cron: CronServer;
  let db: TestDatabase;

  before(async function () {
    if (!cronTestsApply()) this.skip();
    cron = await startCronServer();
    db = await cron.createDatabase("db_runner");
  });
  after(async () => {
    await db?.drop().catch(() => undefined);
    await cron?.stop();
  });

  it("the procedure's batch-size and pause rules give the numbers of the client runner's", async () => {
    await withClient(db.url, async (c) => {
      for (const [size, elapsed] of [[5000, 100], [5000, 400], [5000, 0], [100, 10_000], [49_000, 50]] as const) {
        const { rows } = await c.query<{ n: string }>(`SELECT ${nextBatchSizeSql(String(size), `${elapsed}::float8`, 200, 100, 50_000)} AS n`);
        assert.equal(Number(rows[0].n), nextBatchSize(size, elapsed, 200, 100, 50_000), `size ${size} after ${elapsed} ms`);
      }
      for (const [lag, max] of [[0, 10_000], [10_500, 10_000], [20_000, 10_000], [30_000, 0]] as const) {
        const { rows } = await c.query<{ n: string }>(`SELECT ${replicationPauseMsSql(`${lag}::float8`, max)} AS n`);
        assert.equal(Number(rows[0].n), replicationPauseMs(lag, max), `lag ${lag}, max ${max}`);
      }
      for (const [commit, max] of [[3, 50], [50, 50], [51, 50], [120.4, 50], [2000, 50], [900, 0]] as const) {
        const { rows } = await c.query<{ n: string }>(`SELECT ${commitPauseMsSql(`${commit}::float8`, max)} AS n`);
        assert.equal(Number(rows[0].n), commitPauseMs(commit, max), `commit ${commit} ms, max ${max}`);
      }
    });
  });

  it("schedules the job and returns at once; progress grows on refresh; a writer loses nothing and waits little; the next apply after the end removes job and procedure", async () => {
    const table = "cron_files";
    await makeTable(db.url, table);
    const spec: ColumnChangeSpec = specOf({ table, column: "file_size", toType: "bigint", backfill: SLOW });
    const names = namesOf(table, "file_size");
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const t0 = Date.now();
    const applied = await createStep(db.url, "backfill", spec);
    const applyMs = Date.now() - t0;
    assert.equal(applied.result.done, false, JSON.stringify(applied.result));
    assert.equal(applied.result.runner, "database");
    // analyzed, a serial key: the procedure's batches make their passes (backfill.passes, commits between them)
    assert.equal(applied.result.passes, 8);
    assert.match(String(applied.result.progress), /^backfill in progress: 0 of 200,000 rows/);
    assert.deepEqual(await jobsOf(cron, db), [backfillJobName(db.name, names.id), vacuumJobName(db.name, names.id)]);
    // 200,000 rows: "auto" VACUUMs every 1,000,000 updated rows, which the job does in under a minute (vacuumCadence.ts)
    assert.deepEqual(await schedulesOf(cron, db), ["* * * * *", "* * * * *"]);
    assert.ok(await procedureExists(db, names.backfillProcedure));

    const writer = startWriter({ url: db.url, table, column: "file_size", maxId: ROWS, pauseMs: 2 });
    let first: Record<string, unknown>;
    let later: Record<string, unknown>;
    try {
      // pg_cron starts jobs at the minute
      first = await waitFor("the job's first batches", async () => {
        const r = await readStep(db.url, "backfill", spec);
        return r && Number(r.rowsScanned) > 0 ? r : null;
      }, 90_000, 500);
      later = await waitFor("more progress", async () => {
        const r = await readStep(db.url, "backfill", spec);
        return r && Number(r.rowsScanned) > Number(first.rowsScanned) ? r : null;
      }, 30_000, 500);
      assert.match(String(later.progress), /^backfill in progress: [\d,]+ of [\d,]+ rows \(\d+\.\d%\)$/);
      assert.match(String(later.eta), /rows left, about .* of backfill/);
      assert.ok(Array.isArray(later.drift) && (later.drift as string[])[0].startsWith("the backfill has not finished"), JSON.stringify(later));
      await waitFor("the job to finish", async () => (await readStep(db.url, "backfill", spec))?.done === true, 180_000, 1000);
    } finally {
      await writer.stop();
    }
    const stats = writer.stats;
    assert.deepEqual(stats.failures, []);
    assert.ok(stats.updates > 100, `the writer ran during the job (${stats.updates} updates)`);
    // one statement's longest time: an UPDATE waits at most for the batch holding its row (2,000 rows)
    console.log(`    [measured] apply ${applyMs} ms; writer: ${stats.updates} updates, ${stats.inserts} inserts, longest statement ${stats.maxLatencyMs} ms during the in-database backfill`);
    assert.ok(stats.maxLatencyMs < 1000, `an application write waited ${stats.maxLatencyMs} ms`);
    await withClient(db.url, async (c) => {
      assert.deepEqual(await shadowMismatches(c, table, names.shadowColumn, "file_size::bigint"), []);
      const { rows } = await c.query<{ id: number; file_size: number }>(`SELECT id, file_size FROM ${table} WHERE id = ANY ($1::int[])`, [[...stats.ledger.keys()]]);
      assert.equal(rows.length, stats.ledger.size);
      for (const r of rows) assert.equal(r.file_size, stats.ledger.get(r.id), `row ${r.id}`);
    });
    // the VACUUM job ran beside the backfill (the procedure cannot VACUUM), and bounded its bloat
    assert.ok((await vacuumsOf(db, table)) >= 1, "the VACUUM job ran during the backfill");
    const done = await readStep(db.url, "backfill", spec);
    console.log(`    [measured] table ${done!.tableBytesBefore} -> ${done!.tableBytesAfter} bytes over the in-database backfill`);
    assert.ok(Number(done!.tableBytesAfter) > 0 && Number(done!.tableBytesBefore) > 0, JSON.stringify(done));
    // 100 full batches, the last ending on the upper key and marking the backfill done: no empty batch after it
    assert.equal(((await migrationRow(db.url, table, "file_size"))?.backfill as BudgetedCheckpoint).batches, ROWS / SLOW.batchSize);
    assert.deepEqual(done!.drift, [`the backfill is done but its pg_cron job ${(done!.job as { id: number }).id} is still scheduled`]);
    const finished = await createStep(db.url, "backfill", spec);
    assert.equal(finished.result.done, true);
    assert.deepEqual(await jobsOf(cron, db), []);
    assert.equal(await procedureExists(db, names.backfillProcedure), false);
    assert.deepEqual((await readStep(db.url, "backfill", spec))!.drift, []);
  });

  it("walks a uuid-keyed table in physical order in the database, covering rows that updates move, and drops the cover trigger after", async () => {
    const table = "cron_uuid";
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text NOT NULL, file_size integer)`);
      await c.query(`INSERT INTO ${table} (note, file_size) SELECT repeat('x', 60), g FROM generate_series(1, 60000) g`);
      await c.query(`VACUUM ANALYZE ${table}`);
    });
    // about 10 pages a batch, with a pause: the writer meets the job for a while
    const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { ...SLOW, batchSize: 700, maxBatchSize: 700, pauseMs: 200 } });
    const names = namesOf(table, "file_size");
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const applied = await createStep(db.url, "backfill", spec);
    assert.equal(applied.result.order, "physical");
    assert.equal(applied.result.passes, 8);
    const cover = () => withClient(db.url, async (c) => (await c.query(`SELECT 1 FROM pg_trigger WHERE tgname = $1`, [names.coverTrigger])).rows.length > 0);
    assert.ok(await cover(), "the cover trigger exists while the job runs");
    let running = true;
    let writes = 0;
    const writer = withClient(db.url, async (c) => {
      const { rows } = await c.query<{ id: string }>(`SELECT id FROM ${table}`);
      for (let i = 0; running; i++) {
        const id = rows[(i * 7919) % rows.length].id;
        // another column: the row moves (no HOT room on a full page) without the mirror trigger firing
        await c.query(i % 2 ? `UPDATE ${table} SET note = note || 'u' WHERE id = $1` : `INSERT INTO ${table} (note, file_size) VALUES ('new', ${i})`, i % 2 ? [id] : []);
        writes++;
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    try {
      await waitFor("the job to finish", async () => (await readStep(db.url, "backfill", spec))?.done === true, 180_000, 1000);
    } finally {
      running = false;
      await writer;
    }
    assert.ok(writes > 100, `the writer ran during the job (${writes})`);
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, table, names.shadowColumn, "file_size::bigint"), []));
    assert.deepEqual((await readStep(db.url, "backfill", spec))!.drift, [
      `the backfill is done but its pg_cron job ${((await readStep(db.url, "backfill", spec))!.job as { id: number }).id} is still scheduled`,
      "the backfill is done but its cover trigger remains",
    ]);
    await createStep(db.url, "backfill", spec);
    assert.equal(await cover(), false, "the next apply drops the cover trigger");
    assert.deepEqual(await jobsOf(cron, db), []);
  });

  it("removing the child mid-way unschedules the job, ends its run and drops the procedure", async () => {
    const table = "cron_removed";
    await makeTable(db.url, table);
    const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: SLOW });
    const names = namesOf(table, "file_size");
    await expand(db.url, spec, ["shadow-column", "mirror-trigger", "backfill"]);
    await waitFor("the job to run", async () => Number((await readStep(db.url, "backfill", spec))?.rowsScanned) > 0, 90_000, 500);
    await removeStep(db.url, "backfill", spec);
    assert.deepEqual(await jobsOf(cron, db), []);
    assert.equal(await procedureExists(db, names.backfillProcedure), false);
    const running = await withClient(db.url, async (c) => (await c.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL %'`)).rows);
    assert.deepEqual(running, []);
    // the rest of the expand's removal goes through (nothing of the job holds the table)
    await removeStep(db.url, "mirror-trigger", spec);
    await removeStep(db.url, "shadow-column", spec);
  });
});
