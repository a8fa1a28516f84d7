import type { ClientBase } from "pg";
import type { LiveState } from "../plan/facts";

/**
 * Reads what exists now of the table's columns, triggers, indexes and constraints, and which
 * of `functions` (the migration's own, by exact name) exist in the schema.
 */
export async function readLiveState(db: ClientBase, schema: string, table: string, functions: string[]): Promise<LiveState> {
  const { rows } = await db.query(
    `WITH t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)
     SELECT
       (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]') FROM pg_attribute a, t
         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT coalesce(json_object_agg(a.attname, format_type(a.atttypid, a.atttypmod)), '{}') FROM pg_attribute a, t
         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped) AS "columnTypes",
       (SELECT coalesce(json_agg(p.proname), '[]') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1 AND p.proname = ANY ($3::text[])) AS functions,
       (SELECT coalesce(json_agg(tg.tgname), '[]') FROM pg_trigger tg, t
         WHERE tg.tgrelid = t.oid AND NOT tg.tgisinternal) AS triggers,
       (SELECT coalesce(json_object_agg(ic.relname, json_build_object('valid', i.indisvalid)), '{}')
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid, t WHERE i.indrelid = t.oid) AS indexes,
       (SELECT coalesce(json_object_agg(c.conname, json_build_object('validated', c.convalidated, 'type', c.contype)), '{}')
          FROM pg_constraint c, t WHERE c.conrelid = t.oid) AS constraints`,
    [schema, table, functions],
  );
  return rows[0] as LiveState;
}
