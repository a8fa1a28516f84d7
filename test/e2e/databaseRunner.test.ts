/**
 * backfill.runner "database" through the real `pulumi up`, on a server with pg_cron preloaded
 * (test/support/cronServer.ts): the up schedules the job and returns before the backfill ends;
 * the Backfill child's progress grows on `pulumi refresh`; a cutover is refused with the progress
 * and an ETA until the job is done, then goes through (and the job and procedure are gone); a
 * writer during the job loses nothing. A destroy mid-way unschedules the job and drops the
 * procedure with everything else.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange } from "../../index";
import type { Stage } from "../../src/spec";
import { cronTestsApply, startCronServer, type CronServer } from "../support/cronServer";
import { withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, exportedState } from "../support/pulumi";
import { startWriter } from "../support/writer";
import { waitFor } from "../integration/support/expand";

const ROWS = 200_000;
/** 100 batches of 2,000 rows with a 500 ms pause: the job runs for about a minute, long enough to watch and refuse a cutover. */
const BACKFILL = { runner: "database" as const, batchSize: 2000, maxBatchSize: 2000, pauseMs: 500, targetBatchMs: 600_000 };

/** Polls every 500 ms (a refresh is a CLI run: no need to hurry). */
const until = <T>(what: string, probe: () => Promise<T | null | false | undefined>, timeoutMs: number) => waitFor(what, probe, timeoutMs, 500);

describe("the in-database backfill through the real pulumi up", function () {
  this.timeout(600_000);
  let cron: CronServer;
  let db: TestDatabase;

  before(async function () {
    if (!cronTestsApply()) this.skip();
    cron = await startCronServer();
  });
  after(async () => {
    await cron?.stop();
  });
  beforeEach(async function () {
    if (!cron) this.skip();
    db = await cron.createDatabase("db_runner_e2e");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE files (id serial PRIMARY KEY, checksum text NOT NULL, file_size integer)`);
      await c.query(`CREATE INDEX files_checksum_size_idx ON files (checksum, file_size)`);
      await c.query(`INSERT INTO files (checksum, file_size) SELECT md5(g::text), g FROM generate_series(1, $1) g`, [ROWS]);
      await c.query(`ANALYZE files`);
    });
  });
  afterEach(async () => {
    await db?.drop().catch(() => undefined);
  });

  const checkpoint = () => withClient(db.url, async (c) => (await c.query(`SELECT backfill FROM pgshift_migrations`)).rows[0]?.backfill as { rowsScanned: number; done: boolean } | undefined);
  const jobs = () => withClient(cron.url, async (c) => (await c.query(`SELECT jobname FROM cron.job WHERE database = $1`, [db.name])).rows.length);
  const procedures = () => withClient(db.url, async (c) => (await c.query(`SELECT proname FROM pg_proc WHERE proname LIKE 'pgshift%bfill'`)).rows.length);
  const program = (stage: () => Stage) => async () => {
    const change = new ColumnTypeChange("file-size", { table: "files", column: "file_size", toType: "bigint", stage: stage(), connection: pulumi.secret(db.url), backfill: BACKFILL });
    return { backfillProgress: change.backfillProgress, recordedStage: change.recordedStage };
  };

  it("schedules and returns; progress grows on refresh; cutover is refused with progress and ETA until done, then goes through; a writer loses nothing", async function () {
    let stage: Stage = "expand";
    const stack = await createStack({ projectName: "pgshift-db-runner", program: program(() => stage) });
    const out = collectOutput();
    const up = await stack.up({ onOutput: out.onOutput });
    assert.equal(up.summary.result, "succeeded", out.text());
    assert.ok(!(await checkpoint())!.done, "the up returned before the backfill ended");
    assert.match(up.outputs.backfillProgress.value, /^backfill in progress: 0 of [\d,]+ rows/);
    assert.equal(await jobs(), 2, "the backfill job and its VACUUM job");

    const writer = startWriter({ url: db.url, table: "files", column: "file_size", maxId: ROWS, insertExtras: { checksum: "md5(random()::text)" }, pauseMs: 2 });
    try {
      const backfillResult = async () => {
        out.clear();
        await stack.refresh({ onOutput: out.onOutput });
        const state = JSON.parse(await exportedState(stack)) as { deployment: { resources: { type: string; outputs?: { result?: Record<string, unknown> } }[] } };
        return state.deployment.resources.find((r) => r.type.endsWith("pgshift:Backfill"))!.outputs!.result!;
      };
      const first = await until("the job to start (pg_cron runs it at the minute)", async () => {
        const r = await backfillResult();
        return Number(r.rowsScanned) > 0 && !r.done ? r : null;
      }, 120_000);
      const second = await until("progress on a later refresh", async () => {
        const r = await backfillResult();
        return Number(r.rowsScanned) > Number(first.rowsScanned) && !r.done ? r : null;
      }, 60_000);
      assert.match(String(second.progress), /^backfill in progress: [\d,]+ of [\d,]+ rows/);

      // a cutover meanwhile: refused with the progress and the time left
      stage = "cutover";
      out.clear();
      const refused = await stack.up({ onOutput: out.onOutput }).then(() => undefined, (e: unknown) => e as Error);
      if ((await checkpoint())!.done) this.skip(); // the job finished first: nothing left to refuse (the machine was fast)
      assert.ok(refused instanceof Error, `the cutover went through on an unfinished backfill:\n${out.text()}`);
      assert.match(
        out.text(),
        /cutover of public\.files\.file_size refused: the backfill has not finished: [\d,]+ of [\d,]+ rows \(\d+\.\d%\); about [\d,]+ rows left, about .+ of backfill \(its pg_cron job is running it in the database/,
      );
      await until("the job to finish", async () => (await checkpoint())!.done, 180_000);
    } finally {
      await writer.stop();
    }
    assert.deepEqual(writer.stats.failures, []);
    console.log(`    [measured] writer during the in-database backfill: ${writer.stats.updates} updates, ${writer.stats.inserts} inserts, longest statement ${writer.stats.maxLatencyMs} ms`);

    out.clear();
    const cut = await stack.up({ onOutput: out.onOutput });
    assert.equal(cut.summary.result, "succeeded", out.text());
    // (recordedStage is what the row said when the program ran, before this up's children)
    await withClient(db.url, async (c) => assert.equal((await c.query(`SELECT stage FROM pgshift_migrations`)).rows[0].stage, "cutover"));
    assert.match(cut.outputs.backfillProgress.value, /^backfill done: [\d,]+ rows$/);
    assert.equal(await jobs(), 0, "the job is unscheduled once done");
    assert.equal(await procedures(), 0, "the procedure is dropped once done");
    await withClient(db.url, async (c) => {
      const ledger = writer.stats.ledger;
      const { rows } = await c.query<{ id: number; file_size: string }>(`SELECT id, file_size::text FROM files WHERE id = ANY ($1::int[])`, [[...ledger.keys()]]);
      assert.equal(rows.length, ledger.size);
      for (const r of rows) assert.equal(Number(r.file_size), ledger.get(r.id), `row ${r.id}`);
      const { rows: type } = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'files'::regclass AND attname = 'file_size'`);
      assert.equal(type[0].t, "bigint");
    });
  });

  it("destroy mid-way unschedules the job and drops the procedure", async () => {
    const stack = await createStack({ projectName: "pgshift-db-runner-destroy", program: program(() => "expand") });
    const out = collectOutput();
    assert.equal((await stack.up({ onOutput: out.onOutput })).summary.result, "succeeded", out.text());
    await until("the job to start", async () => ((await checkpoint())?.rowsScanned ?? 0) > 0, 120_000);
    out.clear();
    await stack.destroy({ onOutput: out.onOutput });
    assert.equal(await jobs(), 0);
    assert.equal(await procedures(), 0);
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'files'::regclass AND attname LIKE '%pgshift%' AND NOT attisdropped`);
      assert.deepEqual(rows, [], out.text());
    });
  });
});
