/**
 * backfill.vacuumEveryRows (client runner): a VACUUM after every N updated rows lets later
 * batches reuse the dead versions' space, so the table ends smaller than without it; the
 * checkpoint and the Backfill child's result carry the table's size before and after and the
 * VACUUMs run. Autovacuum is off on both tables, so the difference is the backfill's own.
 */
import assert from "node:assert/strict";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { batchBoundSql, batchUpdateSql } from "../../src/backfill/sql";
import { contextFromRow, createStep, expand, namesOf, shadowMismatches, specOf } from "./support/expand";

const ROWS = 50_000;

describe("backfill bloat: VACUUM every backfill.vacuumEveryRows rows", function () {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase("backfill_bloat");
  });
  after(async () => {
    await db?.drop();
  });

  /** With one pass per batch unless given: the VACUUM's effect alone (more passes move fewer rows: the last test). */
  async function backfill(table: string, vacuumEveryRows: number, workers = 1, passes = 1) {
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, checksum text NOT NULL, file_size integer) WITH (autovacuum_enabled = false)`);
      await c.query(`INSERT INTO ${table} (checksum, file_size) SELECT md5(g::text), g FROM generate_series(1, ${ROWS}) g`);
      await c.query(`VACUUM ANALYZE ${table}`);
    });
    const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { batchSize: 2500, maxBatchSize: 2500, vacuumEveryRows, workers, passes } });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const out = await createStep(db.url, "backfill", spec);
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, table, namesOf(table, "file_size").shadowColumn, "file_size::bigint"), []));
    const indexBytes = await withClient(db.url, async (c) => Number((await c.query(`SELECT pg_indexes_size('${table}'::regclass) AS b`)).rows[0].b));
    return { ...(out.result as { done: boolean; vacuums?: number; tableBytesBefore: number; tableBytesAfter: number; passes?: number }), indexBytes };
  }

  it("ends with a smaller table than a backfill without it, and reports sizes and VACUUMs", async () => {
    const without = await backfill("bloat_off", 0);
    const withVacuum = await backfill("bloat_on", 5000);
    assert.equal(without.done && withVacuum.done, true);
    assert.equal(without.vacuums, undefined);
    assert.ok((withVacuum.vacuums ?? 0) >= 8, `VACUUMs run: ${withVacuum.vacuums}`);
    assert.equal(withVacuum.tableBytesBefore, without.tableBytesBefore, "identical tables");
    console.log(`    [measured] ${ROWS} rows: table ${without.tableBytesBefore} -> ${without.tableBytesAfter} bytes without VACUUM, -> ${withVacuum.tableBytesAfter} with one every 5,000 rows`);
    assert.ok(without.tableBytesAfter > 1.7 * without.tableBytesBefore, `without VACUUM the table about doubles (${without.tableBytesAfter})`);
    assert.ok(withVacuum.tableBytesAfter < 1.35 * withVacuum.tableBytesBefore, `with VACUUM it grows little (${withVacuum.tableBytesAfter})`);
  });

  it("with two workers too: one runs the VACUUM while the other goes on, and the table still ends smaller", async () => {
    const without = await backfill("bloat_off_2", 0, 2);
    const withVacuum = await backfill("bloat_on_2", 5000, 2);
    assert.equal(without.done && withVacuum.done, true);
    // a VACUUM due while one runs is not started twice: fewer than one per 5,000 rows
    assert.ok((withVacuum.vacuums ?? 0) >= 3, `VACUUMs run: ${withVacuum.vacuums}`);
    console.log(`    [measured] two workers: table ${without.tableBytesBefore} -> ${without.tableBytesAfter} bytes without VACUUM, -> ${withVacuum.tableBytesAfter} with one every 5,000 rows (${withVacuum.vacuums} run)`);
    assert.ok(withVacuum.tableBytesAfter < without.tableBytesAfter, `smaller with VACUUM (${withVacuum.tableBytesAfter} against ${without.tableBytesAfter})`);
  });

  it("with passes (backfill.passes) the rows of the later passes are updated on their own page: a smaller table and indexes, without any VACUUM", async () => {
    const onePass = await backfill("passes_1", 0);
    const eight = await backfill("passes_8", 0, 1, 8);
    assert.equal(onePass.done && eight.done, true);
    assert.equal(eight.tableBytesBefore, onePass.tableBytesBefore, "identical tables");
    assert.deepEqual([onePass.passes, eight.passes], [1, 8], "the Backfill child says how many passes its batches made");
    console.log(
      `    [measured] ${ROWS} rows, no VACUUM: table ${onePass.tableBytesBefore} -> ${onePass.tableBytesAfter} bytes with one pass, -> ${eight.tableBytesAfter} with 8; ` +
        `indexes ${onePass.indexBytes} and ${eight.indexBytes} bytes`,
    );
    // one pass moves every row to a new page (the table about doubles, every index gets an entry per row); with 8 the
    // first pass moves one row in 8 and most of the rest fit where those were
    assert.ok(eight.tableBytesAfter < 1.4 * eight.tableBytesBefore, `the table grows little (${eight.tableBytesAfter})`);
    assert.ok(eight.indexBytes < 0.75 * onePass.indexBytes, `the indexes get far fewer entries (${eight.indexBytes} against ${onePass.indexBytes})`);
  });

  it("the passes share a page's rows by an integer key modulo the passes (negative keys too), by the line pointer for any other key: every row filled, most on their own page", async () => {
    const tables = {
      // keys -25,000 .. 24,999: a negative key's remainder is negative, abs() keeps it in a pass's share
      passes_negative: `CREATE TABLE passes_negative (id integer PRIMARY KEY, checksum text NOT NULL, file_size integer) WITH (autovacuum_enabled = false);
        INSERT INTO passes_negative SELECT g - ${ROWS / 2}, md5(g::text), g FROM generate_series(0, ${ROWS - 1}) g`,
      // a text key in disk order (correlation 1): the share is the line pointer's
      passes_text: `CREATE TABLE passes_text (id text PRIMARY KEY, checksum text NOT NULL, file_size integer) WITH (autovacuum_enabled = false);
        INSERT INTO passes_text SELECT lpad(g::text, 8, '0'), md5(g::text), g FROM generate_series(1, ${ROWS}) g`,
    };
    for (const [table, create] of Object.entries(tables)) {
      await withClient(db.url, async (c) => {
        await c.query(create);
        await c.query(`VACUUM ANALYZE ${table}`);
      });
      const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { batchSize: 2500, maxBatchSize: 2500, vacuumEveryRows: 0, workers: 1, passes: 8 } });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
      const out = await createStep(db.url, "backfill", spec);
      const r = out.result as { done: boolean; passes?: number; tableBytesBefore: number; tableBytesAfter: number; rowsUpdated: number };
      assert.deepEqual([r.done, r.passes, r.rowsUpdated], [true, 8, ROWS], table);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, table, namesOf(table, "file_size").shadowColumn, "file_size::bigint"), [], table));
      console.log(`    [measured] ${table}: table ${r.tableBytesBefore} -> ${r.tableBytesAfter} bytes with 8 passes`);
      // one pass doubles the table (the test above); with each pass's share one row in 8 of every page, most stay on theirs
      assert.ok(r.tableBytesAfter < 1.4 * r.tableBytesBefore, `${table}: the table grows little (${r.tableBytesBefore} -> ${r.tableBytesAfter})`);
    }
  });

  it("keyset order makes one pass where the key's order on disk is random, or the table was never analyzed: passes would read every page again", async () => {
    // a text key in md5 order: pg_stats.correlation about 0 (the serial key above: 1)
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE passes_random (id text PRIMARY KEY, file_size integer)`);
      await c.query(`INSERT INTO passes_random SELECT md5(g::text), g FROM generate_series(1, 5000) g`);
      await c.query(`ANALYZE passes_random`);
      await c.query(`CREATE TABLE passes_unanalyzed (id serial PRIMARY KEY, file_size integer) WITH (autovacuum_enabled = false)`);
      await c.query(`INSERT INTO passes_unanalyzed (file_size) SELECT g FROM generate_series(1, 5000) g`);
    });
    for (const table of ["passes_random", "passes_unanalyzed"]) {
      const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { order: "keyset", passes: 8, workers: 1 } });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
      const out = await createStep(db.url, "backfill", spec);
      assert.equal(out.result.passes, 1, table);
      assert.equal(out.result.done, true, table);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, table, namesOf(table, "file_size").shadowColumn, "file_size::bigint"), []));
    }
  });

  it("a pass reads the batch's pages, not the key's index, where the key follows them; the index where a row of the batch lives far away", async () => {
    const table = "passes_pages";
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, checksum text NOT NULL, file_size integer) WITH (autovacuum_enabled = false)`);
      await c.query(`INSERT INTO ${table} (checksum, file_size) SELECT md5(g::text), g FROM generate_series(1, ${ROWS}) g`);
      await c.query(`VACUUM ANALYZE ${table}`);
    });
    const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { passes: 8, workers: 1 } });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, spec, table, "file_size");
    /** The plan of pass 1 of the batch of `size` keys after `lower`, with the page bounds its bound statement found. */
    const passPlan = (lower: number, size: number) =>
      withClient(db.url, async (c) => {
        const b = (await c.query<{ last: string[]; from_tid: string; to_tid: string }>(batchBoundSql(ctx, false, true), [String(ROWS), size, String(lower)])).rows[0];
        // the plan for these values, as the runner's unnamed statement gets it (a prepared statement's first plans are custom ones)
        await c.query(`PREPARE pass_plan AS ${batchUpdateSql(ctx, false, 8)}`);
        const params = [...b.last, String(lower), b.from_tid, b.to_tid, "1"].map((p) => `'${p}'`).join(", ");
        const text = (await c.query<{ "QUERY PLAN": string }>(`EXPLAIN (COSTS OFF) EXECUTE pass_plan(${params})`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
        await c.query("DEALLOCATE pass_plan");
        return { ...b, text };
      });
    const near = await passPlan(10_000, 2500);
    assert.equal(near.last[0], "12500");
    assert.match(near.text, /Tid Range Scan/, `by the pages ${near.from_tid}..${near.to_tid}:\n${near.text}`);
    // the batch's last row moved to the table's end (an application UPDATE that found no room): its pages span the table
    await withClient(db.url, (c) => c.query(`UPDATE ${table} SET checksum = repeat('x', 200) WHERE id = 25000`));
    const far = await passPlan(22_500, 2500);
    assert.match(far.text, /Index Scan/, `by the key's index, ${far.from_tid}..${far.to_tid}:\n${far.text}`);
  });
});
