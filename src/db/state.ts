import type { ClientBase } from "pg";
import type { MigrationFacts } from "../plan/facts";
import type { MigrationSpec, Stage } from "../spec";
import { qualified } from "../sql/quote";

/**
 * The migration's own row: what stage it reached, the facts it was planned from, the backfill
 * checkpoint and whether it can still be rolled back. The table lives in the migrated table's
 * schema by default (a table owner can create it there without CREATE on the database), or in
 * `stateSchema`.
 */
export const STATE_TABLE = "pgshift_migrations";

export interface BackfillCheckpoint {
  /** Key of the last row the backfill finished, as text values; null before the first batch. */
  lastKey: string[] | null;
  /** The largest key when the backfill started: rows above it were inserted with the trigger in place. */
  upperKey: string[] | null;
  rowsUpdated: number;
  rowsScanned: number;
  done: boolean;
}

export interface MigrationRow {
  id: string;
  /** The furthest stage applied: expand, cutover or contract. */
  status: Stage;
  facts: MigrationFacts;
  spec: MigrationSpec;
  backfill: BackfillCheckpoint | null;
  reversible: boolean;
  irreversibleReason: string | null;
}

export function stateTableName(schema: string): string {
  return qualified(schema, STATE_TABLE);
}

export async function ensureStateTable(db: ClientBase, schema: string): Promise<void> {
  // CREATE TABLE IF NOT EXISTS is not safe against itself: two migrations in one schema
  // starting together (one pulumi up, parallel resources) can both pass the check and one
  // fails on the catalog's unique index. A transaction-level advisory lock serializes them.
  await db.query("BEGIN");
  try {
    await db.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`pgshift:state-table:${schema}`]);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${stateTableName(schema)} (
         id text PRIMARY KEY,
         status text NOT NULL,
         facts jsonb NOT NULL,
         spec jsonb NOT NULL,
         backfill jsonb,
         reversible boolean NOT NULL DEFAULT true,
         irreversible_reason text,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    await db.query("COMMIT");
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** The row, or null when there is none (or no state table yet). Read-only. */
export async function readMigration(db: ClientBase, schema: string, id: string): Promise<MigrationRow | null> {
  const { rows: exists } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [stateTableName(schema)]);
  if (!exists[0].ok) return null;
  const { rows } = await db.query(
    `SELECT id, status, facts, spec, backfill, reversible, irreversible_reason AS "irreversibleReason"
       FROM ${stateTableName(schema)} WHERE id = $1`,
    [id],
  );
  return (rows[0] as MigrationRow | undefined) ?? null;
}

export async function insertMigration(db: ClientBase, schema: string, row: Pick<MigrationRow, "id" | "status" | "facts" | "spec">): Promise<void> {
  await ensureStateTable(db, schema);
  await db.query(
    `INSERT INTO ${stateTableName(schema)} (id, status, facts, spec) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO NOTHING`,
    [row.id, row.status, JSON.stringify(row.facts), JSON.stringify(row.spec)],
  );
}

export async function setStatus(db: ClientBase, schema: string, id: string, status: Stage): Promise<void> {
  await db.query(`UPDATE ${stateTableName(schema)} SET status = $2, updated_at = now() WHERE id = $1`, [id, status]);
}

export async function saveCheckpoint(db: ClientBase, schema: string, id: string, checkpoint: BackfillCheckpoint | null): Promise<void> {
  await db.query(`UPDATE ${stateTableName(schema)} SET backfill = $2, updated_at = now() WHERE id = $1`, [id, checkpoint === null ? null : JSON.stringify(checkpoint)]);
}

export async function deleteMigration(db: ClientBase, schema: string, id: string): Promise<void> {
  const { rows } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [stateTableName(schema)]);
  if (rows[0].ok) await db.query(`DELETE FROM ${stateTableName(schema)} WHERE id = $1`, [id]);
}
