// The four expand children, driven through the provider's handlers (the code a dynamic resource
// runs, without Pulumi): shadow column, mirror trigger, backfill and shadow indexes leave a
// complete shadow; the trigger keeps it in sync and fires only when the column really changes
// (principle 6); a second create of each is a no-op (principle 1); and the deletes in reverse
// order give back the exact original schema.
import assert from "node:assert/strict";
import type { BudgetedCheckpoint } from "../../src/backfill/checkpoint";
import type { Client } from "pg";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { createStep, expand, EXPAND_KINDS, migrationRow, namesOf, NO_LEFTOVERS, pgshiftLeftovers, readStep, removeStep, shadowMismatches, specOf } from "./support/expand";

const ROWS = 20_000;
const TABLE = "files";

describe("expand children through the provider handlers", function () {
  let db: TestDatabase;
  const names = namesOf(TABLE, "file_size");
  const shadow = names.shadowColumn;
  const spec = specOf({ table: TABLE, column: "file_size", toType: "bigint", backfill: { batchSize: 3000, targetBatchMs: 600_000, workers: 1 } }); // a target no batch reaches: the size doubles each batch, 3,000 + 6,000 + 12,000 (one worker: backfillWorkers.test.ts has more)
  let schemaBefore: string;

  before(async () => {
    db = await createTestDatabase("expand_steps");
    await withClient(db.url, async (c) => {
      await c.query(`
        CREATE TABLE ${TABLE} (
          id serial PRIMARY KEY,
          checksum text NOT NULL,
          file_size integer NOT NULL CONSTRAINT files_size_nonnegative CHECK (file_size >= 0),
          note text);
        CREATE INDEX files_checksum_size_idx ON ${TABLE} (checksum, file_size);
        CREATE UNIQUE INDEX files_checksum_key ON ${TABLE} (checksum);
        INSERT INTO ${TABLE} (checksum, file_size) SELECT md5(g::text), (g * 37) % 2000000 FROM generate_series(1, ${ROWS}) g;
        ANALYZE ${TABLE};`);
    });
    schemaBefore = await describeTableSchema(db.url, `public.${TABLE}`);
  });

  after(async () => {
    await db?.drop();
  });

  /**
   * Calls of the mirror trigger function made by `statements`, run in one transaction that is
   * committed. Counted with pg_stat_xact_user_functions: the calling backend's own, not yet
   * flushed function counters, read before and after the statements inside the same
   * transaction. pg_stat_user_functions would need the backend to flush its statistics
   * (PostgreSQL 15 does that at most once a second, when idle), and the xact view alone is not
   * enough either: since PostgreSQL 15 it still holds earlier transactions' calls until that
   * flush. Nothing is flushed in the middle of a transaction, so the difference is exact.
   * track_functions = 'all' (superuser-settable; SET LOCAL, so it ends with the transaction)
   * makes PL/pgSQL calls counted. A trigger whose WHEN clause is false never calls its
   * function, so the difference is the number of times the trigger fired.
   */
  async function triggerCalls(c: Client, ...statements: string[]): Promise<number> {
    const calls = async () => {
      const { rows } = await c.query<{ calls: string }>(
        `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_xact_user_functions WHERE schemaname = 'public' AND funcname = $1`,
        [names.forwardTriggerFunction],
      );
      return Number(rows[0].calls);
    };
    await c.query("BEGIN");
    try {
      await c.query("SET LOCAL track_functions = 'all'");
      const before = await calls();
      for (const sql of statements) await c.query(sql);
      const after = await calls();
      await c.query("COMMIT");
      return after - before;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  it("creates shadow column, mirror trigger, backfill and shadow indexes in order; the shadow equals the converted column on every row", async () => {
    const outs = await expand(db.url, spec);
    assert.equal(outs["shadow-column"].result.shadowColumn, shadow);
    assert.equal(outs["shadow-column"].result.fromType, "integer");
    assert.equal(outs["shadow-column"].result.toType, "bigint");
    assert.deepEqual(outs["mirror-trigger"].result.triggers, [names.forwardInsertTrigger, names.forwardUpdateTrigger]);
    assert.equal(outs.backfill.result.done, true);
    assert.equal(outs.backfill.result.rowsScanned, ROWS);
    assert.equal(outs.backfill.result.rowsUpdated, ROWS);
    assert.deepEqual(outs["shadow-indexes"].result.objects, [
      "files_checksum_size_idx__pgshift",
      "files_size_nonnegative__pgshift",
      "file_size__pgshift_notnull",
    ]);

    await withClient(db.url, async (c) => {
      assert.deepEqual(await shadowMismatches(c, TABLE, shadow, "file_size::bigint"), []);
      const { rows } = await c.query(`SELECT format_type(atttypid, atttypmod) AS type, attnotnull FROM pg_attribute WHERE attrelid = 'files'::regclass AND attname = $1`, [shadow]);
      assert.deepEqual(rows, [{ type: "bigint", attnotnull: false }]);
      const idx = await c.query(
        `SELECT pg_get_indexdef(indexrelid) AS def, indisvalid AS valid FROM pg_index WHERE indexrelid = 'files_checksum_size_idx__pgshift'::regclass`,
      );
      assert.deepEqual(idx.rows, [{ def: `CREATE INDEX files_checksum_size_idx__pgshift ON public.files USING btree (checksum, ${shadow})`, valid: true }]);
      const cons = await c.query(
        `SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conrelid = 'files'::regclass AND conname LIKE '%pgshift%' ORDER BY 1`,
      );
      assert.deepEqual(cons.rows, [
        { conname: "file_size__pgshift_notnull", def: `CHECK ((${shadow} IS NOT NULL))`, convalidated: true },
        { conname: "files_size_nonnegative__pgshift", def: `CHECK ((${shadow} >= 0))`, convalidated: true },
      ]);
    });

    const row = await migrationRow(db.url, TABLE, "file_size");
    assert.equal(row?.stage, "expand");
    const { lastKey: _l, upperKey: _u, batchSize: _s, tableBytesBefore, tableBytesAfter, ...counts } = row?.backfill as BudgetedCheckpoint;
    assert.deepEqual(counts, { rowsScanned: ROWS, rowsUpdated: ROWS, done: true, order: "keyset", keyFollowsPages: true, runner: "client", batches: 3 });
    assert.ok(tableBytesAfter! > tableBytesBefore!, `the table's size before and after (${tableBytesBefore} -> ${tableBytesAfter})`);
    assert.deepEqual(row?.backfill?.upperKey, [String(ROWS)]);
  });

  it("refresh (read) of every child reports what the catalog holds", async () => {
    assert.deepEqual(await readStep(db.url, "shadow-column", spec), { stage: "expand", shadowColumn: shadow, type: "bigint" });
    assert.deepEqual(await readStep(db.url, "mirror-trigger", spec), { stage: "expand", triggers: [names.forwardInsertTrigger, names.forwardUpdateTrigger], drift: [] });
    const { tableBytesBefore: _b, tableBytesAfter: _a, ...read } = (await readStep(db.url, "backfill", spec))!;
    assert.deepEqual(read, { stage: "expand", done: true, rowsScanned: ROWS, rowsUpdated: ROWS, order: "keyset", passes: 8, runner: "client", drift: [] });
    const indexes = await readStep(db.url, "shadow-indexes", spec);
    assert.deepEqual(indexes?.missing, []);
    assert.deepEqual(indexes?.invalid, []);
    assert.deepEqual(indexes?.drift, []);
  });

  it("keeps the shadow in sync on INSERT and on UPDATEs that change the column", async () => {
    await withClient(db.url, async (c) => {
      // three inserts, one of them trying to write the shadow itself: the trigger overrides it
      const inserted = await triggerCalls(
        c,
        `INSERT INTO ${TABLE} (checksum, file_size) VALUES ('ins-1', 11), ('ins-2', 2147483647)`,
        `INSERT INTO ${TABLE} (checksum, file_size, ${c.escapeIdentifier(shadow)}) VALUES ('ins-3', 33, 999)`,
      );
      assert.equal(inserted, 3, "one trigger call per inserted row");
      const { rows } = await c.query(`SELECT checksum, file_size, ${c.escapeIdentifier(shadow)}::text AS s FROM ${TABLE} WHERE checksum LIKE 'ins-%' ORDER BY 1`);
      assert.deepEqual(rows, [
        { checksum: "ins-1", file_size: 11, s: "11" },
        { checksum: "ins-2", file_size: 2147483647, s: "2147483647" },
        { checksum: "ins-3", file_size: 33, s: "33" },
      ]);

      const updated = await triggerCalls(c, `UPDATE ${TABLE} SET file_size = file_size + 1 WHERE id <= 10`);
      assert.equal(updated, 10, "one trigger call per row whose column changed");
      // an UPDATE through a CTE / subquery path and an UPDATE ... FROM behave the same
      const viaFrom = await triggerCalls(c, `UPDATE ${TABLE} t SET file_size = v.n FROM (VALUES (11, 5), (12, 6)) v(id, n) WHERE t.id = v.id`);
      assert.equal(viaFrom, 2);
      assert.deepEqual(await shadowMismatches(c, TABLE, shadow, "file_size::bigint"), []);
    });
  });

  it("does not fire the trigger for an UPDATE that keeps the column's value, of another column, or of the shadow alone (the backfill's UPDATEs)", async () => {
    await withClient(db.url, async (c) => {
      assert.equal(await triggerCalls(c, `UPDATE ${TABLE} SET file_size = file_size WHERE id <= 100`), 0, "same value: WHEN (IS DISTINCT FROM) is false");
      assert.equal(await triggerCalls(c, `UPDATE ${TABLE} SET note = 'touched' WHERE id <= 100`), 0, "another column: not an UPDATE OF file_size");
      assert.equal(
        await triggerCalls(c, `UPDATE ${TABLE} SET ${c.escapeIdentifier(shadow)} = file_size::bigint WHERE id <= 100`),
        0,
        "shadow only: the backfill's own statement shape",
      );
      // the counter itself works in this session: a real change is counted
      assert.equal(await triggerCalls(c, `UPDATE ${TABLE} SET file_size = file_size + 1 WHERE id = 100`), 1);
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE note = 'touched'`);
      assert.equal(rows[0].n, 100);
      assert.deepEqual(await shadowMismatches(c, TABLE, shadow, "file_size::bigint"), []);
    });
  });

  it("converges: a second create of every child succeeds and runs no statement", async () => {
    const before = await describeTableSchema(db.url, `public.${TABLE}`);
    const rowBefore = await migrationRow(db.url, TABLE, "file_size");
    const outs = await expand(db.url, spec);
    assert.equal(outs["shadow-column"].result.statements, 0);
    assert.equal(outs["mirror-trigger"].result.statements, 0);
    assert.equal(outs.backfill.result.done, true);
    assert.equal(outs.backfill.result.batches, 0);
    assert.equal(outs["shadow-indexes"].result.statements, 0);
    assert.equal(await describeTableSchema(db.url, `public.${TABLE}`), before);
    const rowAfter = await migrationRow(db.url, TABLE, "file_size");
    assert.deepEqual(rowAfter, rowBefore, "the state row did not move");
  });

  it("converges when the trigger was dropped behind pgshift's back: create puts it back", async () => {
    await withClient(db.url, (c) => c.query(`DROP TRIGGER ${c.escapeIdentifier(names.forwardUpdateTrigger)} ON ${TABLE}`));
    assert.deepEqual(await readStep(db.url, "mirror-trigger", spec), {
      stage: "expand",
      triggers: [names.forwardInsertTrigger],
      drift: [`trigger ${names.forwardUpdateTrigger} is missing`],
    });
    const out = await createStep(db.url, "mirror-trigger", spec);
    assert.ok(Number(out.result.statements) > 0);
    await withClient(db.url, async (c) => {
      assert.equal(await triggerCalls(c, `UPDATE ${TABLE} SET file_size = file_size + 1 WHERE id <= 3`), 3);
      assert.deepEqual(await shadowMismatches(c, TABLE, shadow, "file_size::bigint"), []);
    });
  });

  it("removes the children in reverse order back to the exact original schema, and drops the state row", async () => {
    for (const kind of [...EXPAND_KINDS].reverse()) await removeStep(db.url, kind, spec);
    assert.equal(await describeTableSchema(db.url, `public.${TABLE}`), schemaBefore);
    assert.equal(await migrationRow(db.url, TABLE, "file_size"), null);
    await withClient(db.url, async (c) => {
      const left = await pgshiftLeftovers(c);
      // the state table goes with its last row: nothing of pgshift is left
      assert.deepEqual(left, NO_LEFTOVERS);
      // the application's writes made during expand are all still there
      const { rows: kept } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE}`);
      assert.equal(kept[0].n, ROWS + 3);
    });
    // a second delete (e.g. a retried destroy) finds nothing to do
    for (const kind of [...EXPAND_KINDS].reverse()) await removeStep(db.url, kind, spec);
    assert.equal(await describeTableSchema(db.url, `public.${TABLE}`), schemaBefore);
    for (const kind of EXPAND_KINDS) assert.equal(await readStep(db.url, kind, spec), null, `read of ${kind} after delete`);
  });
});
