import type { ClientBase } from "pg";
import { qualified } from "../sql/quote";

/**
 * pg_table_size of a table (heap, TOAST and free-space maps; no indexes), in bytes: what a
 * backfill rewrites. Read from the catalog, cheap (no scan), and needs no privilege on the table.
 */
export async function tableBytes(db: ClientBase, schema: string, table: string): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>("SELECT pg_table_size($1::regclass)::text AS bytes", [qualified(schema, table)]);
  return Number(rows[0].bytes);
}

/** pg_class.reltuples of `table` (quoted, qualified), or null before the table was ever analyzed. Cheap. */
export async function reltuples(db: ClientBase, table: string): Promise<number | null> {
  const { rows } = await db.query<{ n: string }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)`, [table]);
  const estimate = Number(rows[0]?.n ?? -1);
  return estimate > 0 ? estimate : null;
}
