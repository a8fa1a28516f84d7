/**
 * A database fingerprint: every user-visible catalog object (schemas, relations, columns,
 * indexes, constraints, triggers, functions, sequences, comments) and an md5 of every user
 * table's rows. A refusal must leave it unchanged: tests take one before and one after and
 * compare them with assert.deepEqual, so a difference names the object that changed.
 */
import type { Client } from "pg";

export interface Fingerprint {
  catalog: string[];
  data: Record<string, string>;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

export async function fingerprint(c: Client): Promise<Fingerprint> {
  const lines = async (sql: string) => (await c.query<{ l: string }>(sql)).rows.map((r) => r.l);
  const catalog = [
    ...(await lines(`SELECT 'schema ' || n.nspname AS l FROM pg_namespace n WHERE ${USER_SCHEMAS} ORDER BY 1`)),
    ...(await lines(
      `SELECT 'relation ' || c.oid::regclass::text || ' ' || c.relkind::text || coalesce(' comment ' || obj_description(c.oid, 'pg_class'), '') AS l
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'column ' || c.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
              || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
              || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
              || coalesce(' comment ' || col_description(c.oid, a.attnum), '') AS l
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE ${USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END AS l
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'constraint ' || co.conrelid::regclass::text || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
              || CASE WHEN co.convalidated THEN '' ELSE ' (not validated)' END AS l
         FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text AS l
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_SCHEMAS} AND NOT t.tgisinternal ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) AS l
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'sequence ' || s.seqrelid::regclass::text || ' ' || format_type(s.seqtypid, NULL) || ' ' || s.seqmax AS l
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    )),
    ...(await lines(`SELECT 'rule ' || schemaname || '.' || tablename || ' ' || rulename AS l FROM pg_rules WHERE schemaname NOT IN ('pg_catalog') ORDER BY 1`)),
    ...(await lines(`SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname AS l FROM pg_policies ORDER BY 1`)),
  ];
  const { rows: tables } = await c.query<{ t: string }>(
    `SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  const data: Record<string, string> = {};
  for (const { t } of tables) {
    // rows as text, sorted, so the checksum does not depend on physical order
    const { rows } = await c.query<{ h: string | null }>(`SELECT md5(string_agg(r::text, E'\\n' ORDER BY r::text)) AS h FROM ${t} AS r`);
    data[t] = rows[0].h ?? "(empty)";
  }
  return { catalog, data };
}
