/**
 * The physical-order backfill (TID range scans): a uuid-keyed table takes it by default, the
 * checkpoint is a page, a row that an application UPDATE of another column moves to a page the
 * scan has passed is still mirrored (the cover trigger), and a writer running through the whole
 * backfill loses nothing. The cover trigger is gone once the backfill is done.
 */
import assert from "node:assert/strict";
import { Client } from "pg";
import { runBackfill, type BackfillRunOptions, type BudgetedCheckpoint } from "../../src/backfill/run";
import type { ColumnChangeSpec } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { contextFromRow, expand, migrationRow, namesOf, shadowMismatches, specOf } from "./support/expand";

const ROWS = 20_000;

function runOptions(spec: ColumnChangeSpec, table: string, extra: Partial<BackfillRunOptions> = {}): BackfillRunOptions {
  return { lock: spec.lock, table: `public.${table}`, stateSchema: "public", ...extra };
}

async function makeTable(url: string, table: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text NOT NULL, file_size integer) WITH (fillfactor = 100)`);
    await c.query(`INSERT INTO ${table} (note, file_size) SELECT repeat('x', 60), g FROM generate_series(1, ${ROWS}) g`);
    await c.query(`VACUUM ANALYZE ${table}`);
  });
}

const triggerExists = (c: Client, name: string) => c.query(`SELECT 1 FROM pg_trigger WHERE tgname = $1`, [name]).then((r) => r.rows.length > 0);

describe("backfill in physical order", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("backfill_physical");
  });
  after(async () => {
    await db?.drop();
  });

  it("walks pages of a uuid-keyed table by default, resumes from the page, and mirrors a row an update moved behind the scan", async () => {
    const table = "moved";
    await makeTable(db.url, table);
    // fixed batches of about 10 pages (target far above any batch's duration)
    const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { batchSize: 700, maxBatchSize: 700, targetBatchMs: 600_000, maxReplicationLagMs: 0 } });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, spec, table, "file_size");
    const names = namesOf(table, "file_size");
    const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, table, { maxBatches: 2 })));
    const cp = first.checkpoint;
    assert.equal(cp.order, "physical");
    assert.ok(cp.page! > 0 && cp.page! < cp.pages!, JSON.stringify(cp));
    assert.deepEqual(((await migrationRow(db.url, table, "file_size"))!.backfill as BudgetedCheckpoint).page, cp.page);
    await withClient(db.url, async (c) => {
      assert.ok(await triggerExists(c, names.coverTrigger), "the cover trigger exists while the backfill runs");
      // free space on the scanned pages (the backfill's own dead versions), then update rows of
      // pages far ahead (another column: the mirror trigger does not fire) until a new version
      // lands on a scanned page (once the free space at the end is used up), carrying an empty shadow
      await c.query(`VACUUM ${table}`);
      const { rows: ahead } = await c.query<{ id: string }>(`SELECT id FROM ${table} WHERE ctid >= $1::tid AND ctid < $2::tid`, [`(${cp.page! + 20},0)`, `(${cp.pages!},0)`]);
      let behind: { page: string; shadow: string | null; file_size: number } | undefined;
      const wrong: string[] = [];
      for (const { id } of ahead) {
        const { rows: moved } = await c.query<{ page: string; shadow: string | null; file_size: number }>(
          `UPDATE ${table} SET note = 'moved' WHERE id = $1 RETURNING (ctid::text::point)[0]::bigint AS page, ${names.shadowColumn}::text AS shadow, file_size`,
          [id],
        );
        if (moved[0].shadow !== String(moved[0].file_size)) wrong.push(id);
        if (Number(moved[0].page) < cp.page!) {
          behind = moved[0];
          break;
        }
      }
      assert.ok(behind, `no update of ${ahead.length} rows moved one behind the scan (at page ${cp.page})`);
      assert.deepEqual(wrong, [], "the cover trigger filled the shadow of every updated row");
    });
    const rest = await withClient(db.url, (c) => runBackfill(c, ctx, cp, runOptions(spec, table)));
    assert.equal(rest.checkpoint.done, true);
    assert.ok(rest.checkpoint.rowsScanned >= ROWS, JSON.stringify(rest.checkpoint));
    assert.ok(rest.checkpoint.tableBytesAfter! > 0 && rest.checkpoint.tableBytesBefore! > 0);
    await withClient(db.url, async (c) => {
      assert.deepEqual(await shadowMismatches(c, table, names.shadowColumn, "file_size::bigint"), []);
      assert.equal(await triggerExists(c, names.coverTrigger), false, "the cover trigger is dropped when the backfill is done");
    });
  });

  it("loses nothing to a writer that updates other columns (moving rows) and inserts during the whole backfill", async () => {
    const table = "busy_uuid";
    await makeTable(db.url, table);
    const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { batchSize: 700, maxBatchSize: 700, targetBatchMs: 600_000, maxReplicationLagMs: 0, pauseMs: 5 } });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, spec, table, "file_size");
    let running = true;
    let writes = 0;
    const writer = withClient(db.url, async (c) => {
      const { rows } = await c.query<{ id: string }>(`SELECT id FROM ${table}`);
      for (let i = 0; running; i++) {
        const id = rows[(i * 7919) % rows.length].id;
        if (i % 3 === 0) await c.query(`INSERT INTO ${table} (note, file_size) VALUES ('new', $1)`, [i]);
        else if (i % 3 === 1) await c.query(`UPDATE ${table} SET note = note || 'u' WHERE id = $1`, [id]);
        else await c.query(`UPDATE ${table} SET file_size = file_size + 1 WHERE id = $1`, [id]);
        writes++;
      }
    });
    let result;
    try {
      result = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, table)));
    } finally {
      running = false;
      await writer;
    }
    assert.equal(result.checkpoint.done, true);
    assert.ok(writes > 100, `the writer ran during the backfill (${writes} writes)`);
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, table, namesOf(table, "file_size").shadowColumn, "file_size::bigint"), []));
  });
});
