import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange } from "../../index";
import type { Stage } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

const TABLE = "budget_files";
const ROWS = 100_000;
/** ~1000-row batches with a 50 ms pause on one worker (its log names the key it resumes after): a 1 s budget covers about a fifth of the table per up. */
const BACKFILL = { batchSize: 1000, maxBatchSize: 1000, pauseMs: 50, maxDurationMs: 1000, workers: 1 };

/**
 * backfill.maxDurationMs through the real `pulumi up`: each up spends at most the budget on the
 * backfill and succeeds with it in progress (no index copy yet); a cutover attempt meanwhile is
 * refused with the progress; the ups that follow continue from the checkpoint, and the one that
 * finishes builds the copies. Then a cutover goes through.
 */
describe("a time budget per deploy through the real pulumi up", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("backfill_budget_e2e");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, checksum text NOT NULL, file_size integer)`);
      await c.query(`CREATE INDEX budget_checksum_size_idx ON ${TABLE} (checksum, file_size)`);
      await c.query(`INSERT INTO ${TABLE} (checksum, file_size) SELECT md5(g::text), g FROM generate_series(1, $1) g`, [ROWS]);
      await c.query(`ANALYZE ${TABLE}`);
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("spreads the backfill over several ups that all succeed, builds the index copies only once it is done, and refuses a cutover meanwhile", async () => {
    let stage: Stage = "expand";
    const program = async () => {
      const change = new ColumnTypeChange("file-size", {
        table: TABLE,
        column: "file_size",
        toType: "bigint",
        stage,
        connection: pulumi.secret(db.url),
        backfill: BACKFILL,
      });
      return { backfillProgress: change.backfillProgress, recordedStage: change.recordedStage };
    };
    const stack = await createStack({ projectName: "pgshift-budget", program });
    const out = collectOutput();
    const checkpoint = () =>
      withClient(db.url, async (c) => (await c.query(`SELECT backfill FROM pgshift_migrations`)).rows[0].backfill as { rowsScanned: number; done: boolean });
    const indexCopies = () =>
      withClient(db.url, async (c) => (await c.query(`SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE '%\\_\\_pgshift' ORDER BY 1`)).rows.map((r) => r.relname as string));
    // the total is pg_class.reltuples, an estimate that an autovacuum during the backfill may move (100,090 once in CI)
    const TOTAL = "[\\d,]+";
    const progressOf = (scanned: number) => new RegExp(`^backfill in progress: ${scanned.toLocaleString("en-US")} of ${TOTAL} rows \\(\\d+\\.\\d%\\)$`);

    // first up: succeeds with the backfill in progress, and no copy over a half-filled column
    const first = await stack.up({ onOutput: out.onOutput });
    assert.equal(first.summary.result, "succeeded", out.text());
    const afterFirst = await checkpoint();
    assert.ok(!afterFirst.done && afterFirst.rowsScanned > 0 && afterFirst.rowsScanned < ROWS, JSON.stringify(afterFirst));
    assert.match(first.outputs.backfillProgress.value, progressOf(afterFirst.rowsScanned));
    assert.match(out.text(), /time budget of 1s \(backfill\.maxDurationMs\) used up/);
    assert.match(out.text(), /index copies not built yet: waiting for the backfill/);
    assert.deepEqual(await indexCopies(), [], out.text());

    // a cutover attempt now: the expand children run first (one more budget), then the Cutover refuses
    stage = "cutover";
    out.clear();
    const refused = await stack.up({ onOutput: out.onOutput }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(refused instanceof Error, `the cutover went through on an unfinished backfill:\n${out.text()}`);
    const afterRefusal = await checkpoint();
    assert.ok(!afterRefusal.done && afterRefusal.rowsScanned > afterFirst.rowsScanned, JSON.stringify(afterRefusal));
    assert.match(
      out.text(),
      new RegExp(
        `cutover of public\\.${TABLE}\\.file_size refused: the backfill has not finished: ${afterRefusal.rowsScanned.toLocaleString("en-US")} of ${TOTAL} rows \\(\\d+\\.\\d%\\); ` +
          `about [\\d,]+ rows left, about .+ of backfill, about \\d+ more deploys? at backfill\\.maxDurationMs 1000`,
      ),
    );
    assert.deepEqual(await indexCopies(), []);
    await withClient(db.url, async (c) => assert.equal((await c.query(`SELECT stage FROM pgshift_migrations`)).rows[0].stage, "expand"));

    // back to expand: ups until the backfill is done; each one continues from the checkpoint
    stage = "expand";
    let scanned = afterRefusal.rowsScanned;
    let ups = 2;
    let last;
    for (;;) {
      assert.ok(ups < 20, "the backfill does not get anywhere");
      out.clear();
      last = await stack.up({ onOutput: out.onOutput });
      ups++;
      assert.equal(last.summary.result, "succeeded", out.text());
      assert.match(out.text(), new RegExp(`starting from checkpoint after key \\(${scanned}\\)`), out.text());
      const cp = await checkpoint();
      assert.ok(cp.rowsScanned > scanned, `every up makes progress (${JSON.stringify(cp)}):\n${out.text()}`);
      scanned = cp.rowsScanned;
      if (cp.done) break;
      assert.match(last.outputs.backfillProgress.value, progressOf(scanned));
      assert.deepEqual(await indexCopies(), []);
    }
    assert.ok(ups >= 4, `the budget spread the backfill over several ups (${ups})`);
    assert.equal(scanned, ROWS, "each row scanned once across the ups");
    assert.equal(last.outputs.backfillProgress.value, "backfill done: 100,000 rows");
    assert.deepEqual(await indexCopies(), ["budget_checksum_size_idx__pgshift"], "the up that finished the backfill built the copies");
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE file_size__pgshift_new IS DISTINCT FROM file_size::bigint`);
      assert.equal(rows[0].n, 0);
    });

    // done: the next up changes nothing, and the cutover goes through
    out.clear();
    const again = await stack.up({ onOutput: out.onOutput });
    assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), [], out.text());
    stage = "cutover";
    out.clear();
    const cut = await stack.up({ onOutput: out.onOutput });
    assert.equal(cut.summary.result, "succeeded", out.text());
    assert.equal(cut.outputs.backfillProgress.value, "backfill done: 100,000 rows");
    await withClient(db.url, async (c) => assert.equal((await c.query(`SELECT stage FROM pgshift_migrations`)).rows[0].stage, "cutover"));
  });
});
