// backfill.maxDurationMs: the backfill stops between batches once its time budget is used up,
// with the checkpoint where it stopped; the next run continues from there and each row is
// scanned once in all. Through the handlers: the Backfill child succeeds unfinished and reports
// drift (so the next up runs it again), ShadowIndexes builds nothing yet, Cutover refuses with
// the progress, and once the backfill finishes everything goes on as usual.
import assert from "node:assert/strict";
import type { Client } from "pg";
import { runBackfill, type BackfillResult, type BudgetedCheckpoint } from "../../src/backfill/run";
import { ShadowIncompleteError } from "../../src/errors";
import { create, diff, update, type ChildOutputs } from "../../src/provider";
import type { ChildKind } from "../../src/provider/inputs";
import { withoutStage, type ColumnChangeSpec } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { contextFromRow, expand, migrationRow, namesOf, shadowMismatches, specOf, stepInputs } from "./support/expand";

const ROWS = 30_000;
const BATCH = 500;
const BUDGET_MS = 300;

/** Fixed batches of BATCH rows with a pause, so a run of BUDGET_MS covers a part of the table only. */
function budgeted(maxDurationMs = BUDGET_MS) {
  return { batchSize: BATCH, maxBatchSize: BATCH, pauseMs: 30, targetBatchMs: 600_000, maxReplicationLagMs: 0, maxDurationMs };
}

async function count(c: Client, sql: string): Promise<number> {
  const { rows } = await c.query(sql);
  return Number(Object.values(rows[0])[0]);
}

async function makeTable(url: string, table: string): Promise<void> {
  await withClient(url, (c) =>
    c.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, v integer NOT NULL);
             CREATE INDEX ${table}_v_idx ON ${table} (v);
             INSERT INTO ${table} (v) SELECT g * 7 FROM generate_series(1, ${ROWS}) g;
             ANALYZE ${table};`),
  );
}

describe("backfill: a time budget per deploy", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("backfill_budget");
  });

  after(async () => {
    await db?.drop();
  });

  describe("runBackfill", function () {
    const spec = specOf({ table: "budget_a", column: "v", toType: "bigint", backfill: budgeted() });
    const shadow = namesOf("budget_a", "v").shadowColumn;

    before(async () => {
      await makeTable(db.url, "budget_a");
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    });

    it("stops after the batch in flight once the budget is used up, with the checkpoint where it stopped, and the next runs continue to the end, each row scanned once", async () => {
      const ctx = await contextFromRow(db.url, spec, "budget_a", "v");
      const lines: string[] = [];
      const opts = { lock: spec.lock, table: "public.budget_a", stateSchema: "public", log: (l: string) => lines.push(l) };
      const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, opts));
      assert.equal(first.stoppedBy, "budget");
      assert.equal(first.checkpoint.done, false);
      assert.ok(first.batches >= 1 && first.checkpoint.rowsScanned < ROWS, `a part of the table: ${JSON.stringify(first)}`);
      assert.equal(first.checkpoint.rowsScanned, first.batches * BATCH, "whole batches only");
      // the budget is checked between batches: past it by at most one batch and its pause
      assert.ok(first.elapsedMs >= BUDGET_MS && first.elapsedMs < BUDGET_MS + 1000, `elapsed ${first.elapsedMs} ms`);
      assert.equal(first.total, ROWS);

      // what the state row holds is what it returned: the batch and its checkpoint committed together
      const stored = (await migrationRow(db.url, "budget_a", "v"))!.backfill as BudgetedCheckpoint;
      assert.deepEqual(stored, first.checkpoint);
      assert.deepEqual(stored.lastKey, [String(first.checkpoint.rowsScanned)]);
      assert.equal(stored.spent?.rows, first.checkpoint.rowsScanned);
      assert.ok(stored.spent!.ms >= first.elapsedMs - 50 && stored.spent!.ms <= first.elapsedMs, `spent ${JSON.stringify(stored.spent)}`);
      await withClient(db.url, async (c) => {
        assert.equal(await count(c, `SELECT count(*) FROM budget_a WHERE ${shadow} IS NOT NULL`), first.checkpoint.rowsScanned);
        assert.equal(await count(c, `SELECT coalesce(max(id), 0) FROM budget_a WHERE ${shadow} IS NOT NULL`), first.checkpoint.rowsScanned);
      });
      const stop = lines.find((l) => l.includes("used up"));
      assert.ok(stop, lines.join("\n"));
      assert.match(
        stop,
        new RegExp(
          `^pgshift: backfill "public"\\."budget_a"\\.v: time budget of 300 ms \\(backfill\\.maxDurationMs\\) used up after \\d+ ms: ` +
            `${first.checkpoint.rowsScanned.toLocaleString("en-US")} of 30,000 rows \\(\\d+\\.\\d%\\), [\\d,]+ this run at [\\d,]+ rows/s\\. ` +
            `Stopped cleanly with the checkpoint after key \\(${first.checkpoint.rowsScanned}\\) committed; .*Run pulumi up again \\(stage "expand"\\) to continue from there: ` +
            `about [\\d,]+ rows left, about .+ of backfill, about \\d+ more deploys? at backfill\\.maxDurationMs 300\\.$`,
        ),
      );

      const runs: BackfillResult[] = [first];
      while (!runs[runs.length - 1].checkpoint.done) {
        assert.ok(runs.length < 50, "the backfill does not get anywhere");
        const start = (await migrationRow(db.url, "budget_a", "v"))!.backfill;
        const prev = runs[runs.length - 1];
        assert.deepEqual(start, prev.checkpoint, "each run starts where the one before stopped");
        const next = await withClient(db.url, (c) => runBackfill(c, ctx, start, opts));
        assert.ok(next.batches >= 1, "every run makes progress");
        assert.equal(next.checkpoint.rowsScanned, prev.checkpoint.rowsScanned + next.scannedThisRun);
        runs.push(next);
      }
      assert.ok(runs.length >= 3, `the budget spread it over several runs (${runs.length})`);
      const last = runs[runs.length - 1];
      assert.equal(last.stoppedBy, null);
      assert.equal(last.checkpoint.rowsScanned, ROWS, "no row scanned twice across the runs");
      assert.equal(runs.reduce((n, r) => n + r.scannedThisRun, 0), ROWS);
      assert.equal(last.checkpoint.rowsUpdated, ROWS);
      assert.equal(last.checkpoint.spent?.rows, ROWS);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "budget_a", shadow, "v::bigint"), []));
    });

    it("does one batch per run even when the budget is shorter than a batch", async () => {
      await withClient(db.url, (c) => c.query(`UPDATE pgshift_migrations SET backfill = NULL; UPDATE budget_a SET ${shadow} = NULL`));
      const tiny = specOf({ table: "budget_a", column: "v", toType: "bigint", backfill: budgeted(1) });
      const ctx = await contextFromRow(db.url, tiny, "budget_a", "v");
      const opts = { lock: tiny.lock, table: "public.budget_a", stateSchema: "public" };
      const one = await withClient(db.url, (c) => runBackfill(c, ctx, null, opts));
      assert.deepEqual([one.batches, one.checkpoint.rowsScanned, one.stoppedBy], [1, BATCH, "budget"]);
      const two = await withClient(db.url, (c) => runBackfill(c, ctx, one.checkpoint, opts));
      assert.deepEqual([two.batches, two.checkpoint.rowsScanned, two.stoppedBy], [1, 2 * BATCH, "budget"]);
    });
  });

  describe("the children while the backfill is unfinished", function () {
    const spec = specOf({ table: "budget_b", column: "v", toType: "bigint", backfill: budgeted() });
    const cutoverSpec: ColumnChangeSpec = { ...spec, stage: "cutover" };
    const names = namesOf("budget_b", "v");
    const inputs = (kind: ChildKind) => ({ ...stepInputs(db.url, kind, spec), spec: withoutStage(spec) as ColumnChangeSpec });
    const shadowIndexes = () =>
      withClient(db.url, async (c) => (await c.query(`SELECT relname FROM pg_class WHERE relname LIKE '%pgshift' AND relkind = 'i' ORDER BY 1`)).rows.map((r) => r.relname));

    before(async () => {
      await makeTable(db.url, "budget_b");
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    });

    it("Backfill succeeds unfinished with its progress, ShadowIndexes waits, Cutover refuses with the progress, and the next ups finish it", async () => {
      const backfill = await create(inputs("backfill"));
      const r = backfill.outs.result;
      assert.equal(r.done, false);
      assert.equal(r.stoppedBy, "budget");
      const scanned = r.rowsScanned as number;
      const progress = `backfill in progress: ${scanned.toLocaleString("en-US")} of 30,000 rows (${((100 * scanned) / ROWS).toFixed(1)}%)`;
      assert.equal(r.progress, progress);
      assert.deepEqual(r.drift, [`the backfill has not finished (${progress})`]);

      // the next up sees it without a refresh: the outputs' drift makes diff report a change
      assert.equal((await diff(backfill.id, backfill.outs, inputs("backfill"))).changes, true);

      const indexes = await create(inputs("shadow-indexes"));
      assert.equal(indexes.outs.result.built, false);
      assert.deepEqual(indexes.outs.result.drift, [`index copies not built yet: waiting for the backfill (${progress})`]);
      assert.deepEqual(await shadowIndexes(), [], "no index copy over a half-filled column");
      assert.equal((await diff(indexes.id, indexes.outs, inputs("shadow-indexes"))).changes, true);

      await assert.rejects(create({ ...stepInputs(db.url, "cutover", cutoverSpec), spec: withoutStage(cutoverSpec) }), (err: Error) => {
        assert.ok(err instanceof ShadowIncompleteError, String(err));
        assert.match(
          err.message,
          new RegExp(
            `^cutover of public\\.budget_b\\.v refused: the backfill has not finished: ${scanned.toLocaleString("en-US")} of 30,000 rows \\(\\d+\\.\\d%\\); ` +
              `about [\\d,]+ rows left, about .+ of backfill, about \\d+ more deploys? at backfill\\.maxDurationMs 300 \\(run pulumi up with stage "expand" until it completes\\)$`,
          ),
        );
        return true;
      });
      assert.equal((await migrationRow(db.url, "budget_b", "v"))?.stage, "expand");

      // the next ups: update of Backfill (diff said so) until done, then ShadowIndexes builds
      let outs: ChildOutputs = backfill.outs;
      let ups = 1;
      while (outs.result.done !== true) {
        assert.ok(ups < 50, "the backfill does not get anywhere");
        outs = (await update(backfill.id, outs, inputs("backfill"))).outs;
        ups++;
      }
      assert.ok(ups >= 3, `several ups (${ups})`);
      assert.equal(outs.result.rowsScanned, ROWS, "each row scanned once across the ups");
      assert.equal(outs.result.progress, "backfill done: 30,000 rows");
      assert.equal(outs.result.drift, undefined);
      assert.equal((await diff(backfill.id, outs, inputs("backfill"))).changes, false, "a finished backfill is no change");

      const built = (await update(indexes.id, indexes.outs, inputs("shadow-indexes"))).outs;
      assert.equal(built.result.drift, undefined);
      assert.deepEqual(await shadowIndexes(), [`budget_b_v_idx__pgshift`]);
      assert.equal((await diff(indexes.id, built, inputs("shadow-indexes"))).changes, false);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "budget_b", names.shadowColumn, "v::bigint"), []));

      await create({ ...stepInputs(db.url, "cutover", cutoverSpec), spec: withoutStage(cutoverSpec) });
      assert.equal((await migrationRow(db.url, "budget_b", "v"))?.stage, "cutover");
    });
  });
});
