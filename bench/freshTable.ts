/**
 * Every bench operation starts from its own new copy of the same table, so none inherits
 * another's bloat, dead tuples or cache state; and the small SQL helpers the operations use.
 */
import { performance } from "node:perf_hooks";
import { createTestDatabase, withClient, type TestDatabase } from "../test/support/pg";
import { fmtInt } from "../scripts/lib/format";
import { createFileTable, TABLE } from "../scripts/lib/fileTable";

/** A new database with a fresh contentcuration_file of `rows` rows, vacuumed, analyzed, checkpointed. */
export async function freshTable(rows: number, label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(`bench_${label}`);
  const t0 = performance.now();
  await createFileTable(db.url, rows, { checkpoint: true });
  process.stdout.write(`  [fresh table for ${label}: ${fmtInt(rows)} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s]\n`);
  return db;
}

/** Runs one statement on its own connection. */
export async function query(db: TestDatabase, sql: string): Promise<void> {
  await withClient(db.url, (c) => c.query(sql));
}

/** Runs one statement on its own connection and returns how long it took, ms. */
export async function timed(db: TestDatabase, sql: string): Promise<number> {
  const t0 = performance.now();
  await query(db, sql);
  return performance.now() - t0;
}

export interface TableSize {
  totalBytes: number;
  heapBytes: number;
}

/** The size of the table in `db` (read on a fresh copy, before an operation changes it). */
export async function tableSize(db: TestDatabase): Promise<TableSize> {
  return withClient(db.url, async (c) => {
    const { rows: r } = await c.query<{ total: string; heap: string }>(`SELECT pg_total_relation_size($1::regclass)::text AS total, pg_relation_size($1::regclass)::text AS heap`, [TABLE]);
    return { totalBytes: Number(r[0].total), heapBytes: Number(r[0].heap) };
  });
}
