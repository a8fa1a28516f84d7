/**
 * backfill.vacuumEveryRows (client runner): a VACUUM after every N updated rows lets later
 * batches reuse the dead versions' space, so the table ends smaller than without it; the
 * checkpoint and the Backfill child's result carry the table's size before and after and the
 * VACUUMs run. Autovacuum is off on both tables, so the difference is the backfill's own.
 */
import assert from "node:assert/strict";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { createStep, expand, namesOf, shadowMismatches, specOf } from "./support/expand";

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
});
