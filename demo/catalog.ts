/**
 * What the demo reads back from the database to show what each stage did and to prove no write
 * was lost: it asks PostgreSQL's catalog and the table itself, not pgshift's outputs.
 */
import { withClient } from "../test/support/pg";
import { COLUMN, TABLE } from "../scripts/lib/fileTable";

/** `name type` of the column and of pgshift's shadow/old copies of it, in column order. */
export async function columnTypes(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND (attname = $2 OR attname LIKE $2 || '\\_\\_pgshift\\_%')
        ORDER BY attnum`,
      [TABLE, COLUMN],
    );
    return rows.map((r) => `${r.name} ${r.type}`).join(", ");
  });
}

/** The column's type as the application sees it now. */
export async function typeOf(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
      [TABLE, COLUMN],
    );
    return rows[0]?.t ?? "(missing)";
  });
}

/** The table's size with its indexes, as PostgreSQL prints it ("3168 kB"). */
export async function tableSize(url: string): Promise<string> {
  return withClient(url, async (c) => (await c.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size($1::regclass)) AS s`, [TABLE])).rows[0].s);
}

export interface LedgerCheck {
  checked: number;
  missing: number;
  different: number;
}

/** Keys of the writer's ledger whose row is missing or holds another value than the writer's last write. */
export async function ledgerMismatches(url: string, ledger: Map<number, number>): Promise<LedgerCheck> {
  const ids = [...ledger.keys()];
  const values = ids.map((id) => ledger.get(id)!);
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ missing: number; different: number }>(
      `SELECT count(*) FILTER (WHERE t.id IS NULL)::int AS missing,
              count(*) FILTER (WHERE t.id IS NOT NULL AND t.${COLUMN}::bigint IS DISTINCT FROM l.v)::int AS different
         FROM unnest($1::int[], $2::bigint[]) AS l(id, v) LEFT JOIN ${TABLE} t ON t.id = l.id`,
      [ids, values],
    );
    return { checked: ids.length, missing: rows[0].missing, different: rows[0].different };
  });
}
