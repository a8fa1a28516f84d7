/**
 * A database fingerprint: every user-visible catalog object (schemas, relations, and every
 * table, view and sequence as catalog.ts describes it: columns, indexes, constraints, triggers,
 * owned sequences, rules, policies, comments; domain constraints, functions) and an md5 of
 * every user table's rows. A refusal must leave it unchanged: tests take one before and one
 * after and compare them with assert.deepEqual, so a difference names the object that changed.
 */
import type { Client } from "pg";
import { describeRelations } from "./catalog";

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
    // every table, view and sequence as describeTableSchema describes it (catalog.ts)
    ...(await describeRelations(
      c,
      (await c.query<{ oid: number }>(
        `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') ORDER BY 1`,
      )).rows.map((r) => Number(r.oid)),
    )),
    ...(await lines(
      `SELECT 'domain constraint ' || co.contypid::regtype::text || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
              || CASE WHEN co.convalidated THEN '' ELSE ' (not validated)' END AS l
         FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE ${USER_SCHEMAS} AND co.contypid <> 0 ORDER BY 1`,
    )),
    ...(await lines(
      `SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) AS l
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    )),
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
