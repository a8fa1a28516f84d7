import type { ClientBase } from "pg";
import { OwnedElsewhereError, StateSchemaError } from "../errors";
import type { MigrationFacts } from "../plan/facts";
import type { MigrationSpec, Stage } from "../spec";
import { saveCheckpointSql, STATE_TABLE, stateTableName } from "../sql/state";

export { STATE_TABLE, stateTableName } from "../sql/state";

/** Reads and writes pgshift's state table; src/sql/state.ts says what it holds. */

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
  stage: Stage;
  facts: MigrationFacts;
  spec: MigrationSpec;
  backfill: BackfillCheckpoint | null;
  reversible: boolean;
  irreversibleReason: string | null;
  /**
   * Who runs this migration: `organization/project/stack/component`. A second owner (another
   * stack, or another component in the same one) is refused, so destroying one cannot undo
   * the other's work. Null for rows written without one (tests that drive the handlers).
   */
  owner: string | null;
}

/** The migration's row's columns, tolerant of state tables from before a column was added. */
const ROW_COLUMNS = `id, stage, facts, spec, backfill, reversible, irreversible_reason AS "irreversibleReason", to_jsonb(m) ->> 'owner' AS owner`;

/** Refuses a second owner of a migration (another stack or component), naming the first. */
export function checkOwner(id: string, recorded: string | null, wanted: string | undefined): void {
  if (recorded && wanted && recorded !== wanted) throw new OwnedElsewhereError(id, recorded, wanted);
}

/**
 * Runs `fn` in a transaction that holds the state table's advisory lock. CREATE TABLE IF NOT
 * EXISTS is not safe against itself (two migrations in one schema starting together can both
 * pass the check), and the table is dropped with its last row: creating, inserting, deleting
 * and dropping all serialize on this lock.
 */
async function withStateTableLock(db: ClientBase, schema: string, fn: () => Promise<void>): Promise<void> {
  await db.query("BEGIN");
  try {
    await db.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`pgshift:state-table:${schema}`]);
    await fn();
    await db.query("COMMIT");
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

async function createStateTable(db: ClientBase, schema: string): Promise<void> {
  await db.query(
      `CREATE TABLE IF NOT EXISTS ${stateTableName(schema)} (
         id text PRIMARY KEY,
         stage text NOT NULL,
         facts jsonb NOT NULL,
         spec jsonb NOT NULL,
         backfill jsonb,
         reversible boolean NOT NULL DEFAULT true,
         irreversible_reason text,
         owner text,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
  );
  await db.query(`ALTER TABLE ${stateTableName(schema)} ADD COLUMN IF NOT EXISTS owner text`);
}

/** The row, or null when there is none (or no state table yet). Read-only. */
export async function readMigration(db: ClientBase, schema: string, id: string): Promise<MigrationRow | null> {
  const { rows: exists } = await db.query<{ ok: boolean; readable: boolean | null; role: string }>(
    `SELECT to_regclass($1) IS NOT NULL AS ok, has_table_privilege(to_regclass($1), 'SELECT') AS readable, current_user AS role`,
    [stateTableName(schema)],
  );
  if (!exists[0].ok) return null;
  if (!exists[0].readable) {
    // otherwise a bare "permission denied for table pgshift_migrations" from the query below
    const role = exists[0].role;
    throw new StateSchemaError(
      schema,
      `role ${role} cannot read pgshift's state table ${stateTableName(schema)} (it lacks SELECT). GRANT SELECT, INSERT, UPDATE, DELETE ON ${stateTableName(schema)} TO "${role.replace(/"/g, '""')}", or connect as the role that runs this migration.`,
    );
  }
  const { rows } = await db.query(`SELECT ${ROW_COLUMNS} FROM ${stateTableName(schema)} AS m WHERE id = $1`, [id]);
  return (rows[0] as MigrationRow | undefined) ?? null;
}

/**
 * Every unfinished migration (not yet contracted) of `schema`.`table`, in every state table
 * this role can read: their objects stand on the table beside the application's.
 */
export async function readActiveMigrationsOn(db: ClientBase, schema: string, table: string): Promise<MigrationRow[]> {
  const { rows: tables } = await db.query<{ t: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind = 'r' AND has_table_privilege(c.oid, 'SELECT')
        -- a table of that name that is not pgshift's (other columns) is none of our business
        AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('stage', 'facts', 'spec') AND NOT a.attisdropped) = 3
      ORDER BY 1`,
    [STATE_TABLE],
  );
  const found: MigrationRow[] = [];
  for (const { t } of tables) {
    const { rows } = await db.query(
      `SELECT ${ROW_COLUMNS} FROM ${t} AS m WHERE stage <> 'contract' AND facts #>> '{table,schema}' = $1 AND facts #>> '{table,name}' = $2 ORDER BY id`,
      [schema, table],
    );
    found.push(...(rows as MigrationRow[]));
  }
  return found;
}

/** Writes the migration's first row (creating the state table on first use). */
export async function insertMigration(db: ClientBase, schema: string, row: Pick<MigrationRow, "id" | "stage" | "facts" | "spec" | "owner">): Promise<void> {
  await withStateTableLock(db, schema, async () => {
    await createStateTable(db, schema);
    await db.query(
      `INSERT INTO ${stateTableName(schema)} (id, stage, facts, spec, owner) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING`,
      [row.id, row.stage, JSON.stringify(row.facts), JSON.stringify(row.spec), row.owner],
    );
  });
}

/** Records the owner of a row written without one (by an older pgshift). */
export async function claimMigration(db: ClientBase, schema: string, id: string, owner: string): Promise<void> {
  await db.query(`UPDATE ${stateTableName(schema)} SET owner = $2, updated_at = now() WHERE id = $1 AND owner IS NULL`, [id, owner]);
}

export async function saveCheckpoint(db: ClientBase, schema: string, id: string, checkpoint: BackfillCheckpoint | null): Promise<void> {
  await db.query(saveCheckpointSql(schema), [id, checkpoint === null ? null : JSON.stringify(checkpoint)]);
}

/**
 * Deletes the migration's row; the state table goes with its last row, so removing every
 * migration leaves the schema exactly as it was.
 */
export async function deleteMigration(db: ClientBase, schema: string, id: string): Promise<void> {
  await withStateTableLock(db, schema, async () => {
    const { rows } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [stateTableName(schema)]);
    if (!rows[0].ok) return;
    await db.query(`DELETE FROM ${stateTableName(schema)} WHERE id = $1`, [id]);
    const { rows: left } = await db.query(`SELECT EXISTS (SELECT 1 FROM ${stateTableName(schema)}) AS any`);
    if (!left[0].any) await db.query(`DROP TABLE ${stateTableName(schema)}`);
  });
}

/** A row of any state table, with where it is and when it was written (for `pgshift status`). */
export interface ListedMigration extends MigrationRow {
  /** Schema of the state table that holds the row. */
  stateSchema: string;
  createdAt: Date;
  /** Set by every stage change and backfill checkpoint. */
  updatedAt: Date;
}

/** Every migration, in any stage, in every state table this role can read. Read-only. */
export async function readAllMigrations(db: ClientBase): Promise<ListedMigration[]> {
  const { rows: tables } = await db.query<{ schema: string; t: string }>(
    `SELECT n.nspname AS schema, format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind = 'r' AND has_table_privilege(c.oid, 'SELECT')
        AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('stage', 'facts', 'spec') AND NOT a.attisdropped) = 3
      ORDER BY n.nspname`,
    [STATE_TABLE],
  );
  const found: ListedMigration[] = [];
  for (const { schema, t } of tables) {
    const { rows } = await db.query(`SELECT ${ROW_COLUMNS}, created_at AS "createdAt", updated_at AS "updatedAt" FROM ${t} AS m ORDER BY id`);
    for (const row of rows as Omit<ListedMigration, "stateSchema">[]) found.push({ ...row, stateSchema: schema });
  }
  return found;
}
