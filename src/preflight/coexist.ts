/**
 * Pre-flight checks that keep a migration from harming what already lives on its table: the
 * application's own triggers and rules, and other pgshift migrations. Read-only; runs during
 * `pulumi preview`.
 */
import type { ClientBase } from "pg";
import type { ObjectNames, TableSnapshot } from "../snapshot";
import { readActiveMigrationsOn, type MigrationRow } from "../db/state";
import { BackfillWouldFireError, NameTakenError, OverlappingMigrationError } from "../errors";
import { locateMigration } from "../db/locate";
import { planContext, type PlanContext } from "../plan/facts";
import { ownedNames, unionOfNames } from "../plan/owned";
import type { MigrationSpec } from "../spec";
import { ident } from "../sql/quote";

/** The other unfinished migrations of the spec's table, and every name they own. */
export interface Neighbours {
  rows: MigrationRow[];
  names: ObjectNames;
}

export async function readNeighbours(db: ClientBase, spec: MigrationSpec): Promise<Neighbours> {
  const where = await locateMigration(db, spec.table, spec.column, spec.stateSchema);
  const rows = (await readActiveMigrationsOn(db, where.schema, where.table)).filter((r) => r.id !== where.names.id);
  return { rows, names: unionOfNames(rows.map((r) => ownedNames(planContext(r.spec, r.facts)))) };
}

/**
 * Two migrations on one table may not both rebuild an index or constraint: each would build
 * its own copy over the other's old column, and one contract would drop what the other built.
 * Refused until the first is contracted (or removed).
 */
export function checkNoOverlap(table: TableSnapshot, neighbours: Neighbours): void {
  const mine = new Set([...table.indexes.filter((i) => i.coversColumn).map((i) => i.name), ...table.constraints.filter((c) => c.coversColumn).map((c) => c.name)]);
  for (const other of neighbours.rows) {
    const t = other.facts.table;
    const theirs = [...t.indexes.filter((i) => i.coversColumn).map((i) => i.name), ...t.constraints.filter((c) => c.coversColumn).map((c) => c.name)];
    const shared = theirs.filter((name) => mine.has(name));
    if (shared.length) {
      throw new OverlappingMigrationError(
        `${shared.map((s) => ident(s)).join(", ")} on ${table.qualifiedName} cover${shared.length === 1 ? "s" : ""} both ${ident(table.column.name)} and ${ident(t.column.name)}, ` +
          `whose migration ${other.id} is at stage "${other.stage}". Two migrations cannot both rebuild one index or constraint: ` +
          `take ${other.id} to "contract" (or remove it) first, then start this one.`,
      );
    }
  }
}

/**
 * Every name this migration will create must be free: pgshift never adopts or drops an object
 * it did not create. (Relation names, indexes included, share one namespace per schema.)
 */
export async function checkNamesFree(db: ClientBase, ctx: PlanContext): Promise<void> {
  const t = ctx.facts.table;
  const mine = ownedNames(ctx);
  const { rows } = await db.query<{ kind: string; name: string }>(
    `WITH tbl AS (SELECT to_regclass($1) AS oid)
     SELECT 'column' AS kind, attname AS name FROM pg_attribute, tbl WHERE attrelid = tbl.oid AND attnum > 0 AND NOT attisdropped AND attname = ANY ($3::text[])
     UNION ALL SELECT 'relation', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relname = ANY ($4::text[])
     UNION ALL SELECT 'constraint', conname FROM pg_constraint, tbl WHERE conrelid = tbl.oid AND conname = ANY ($5::text[])
     UNION ALL SELECT 'trigger', tgname FROM pg_trigger, tbl WHERE tgrelid = tbl.oid AND tgname = ANY ($6::text[])
     UNION ALL SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $2 AND p.proname = ANY ($7::text[])
     ORDER BY 1, 2`,
    [t.qualifiedName, t.schema, mine.columns, mine.indexes, mine.constraints, mine.triggers, mine.functions],
  );
  if (rows.length) throw new NameTakenError(t.qualifiedName, rows);
}

/**
 * The backfill's UPDATEs set only the shadow column, but the table's own UPDATE triggers
 * without a column list (`updated_at := now()`, audit, value rewrites) and ON UPDATE rules
 * fire for any UPDATE. pgshift keeps them from firing by running the backfill's transactions
 * with session_replication_role = replica (which pauses ordinary triggers and rules).
 * Returns whether that is needed; refuses, naming each object, when it cannot be done: the
 * role may not set the parameter, or an object fires even (ALWAYS) or only (REPLICA) then.
 */
export async function checkBackfillFiresNothing(db: ClientBase, table: TableSnapshot): Promise<boolean> {
  const firing = [
    ...table.triggers.filter((t) => t.firesOnBackfill && t.enabled !== "D").map((t) => ({ what: `trigger ${ident(t.name)}`, enabled: t.enabled })),
    ...table.updateRules.filter((r) => r.enabled !== "D").map((r) => ({ what: `rule ${ident(r.name)}`, enabled: r.enabled })),
  ];
  if (firing.length === 0) return false;
  const unstoppable = firing.filter((f) => f.enabled === "A" || f.enabled === "R");
  if (unstoppable.length) {
    throw new BackfillWouldFireError(
      `the backfill's UPDATEs of ${table.qualifiedName} would fire ${unstoppable.map((f) => `${f.what} (ENABLE ${f.enabled === "A" ? "ALWAYS" : "REPLICA"})`).join(", ")}, ` +
        `which pgshift cannot pause (they fire under session_replication_role = replica too) and which would change rows or record changes that did not happen. ` +
        `Make ${unstoppable.length === 1 ? "it" : "them"} ordinary (ALTER TABLE ${table.qualifiedName} ENABLE TRIGGER / ENABLE RULE <name>) for the migration, or give ${unstoppable.length === 1 ? "it" : "them"} a column list (UPDATE OF ...).`,
    );
  }
  await db.query("BEGIN");
  const allowed = await db.query("SET LOCAL session_replication_role = replica").then(
    () => true,
    () => false,
  );
  await db.query("ROLLBACK");
  if (!allowed) {
    const { rows } = await db.query<{ role: string }>("SELECT current_user AS role");
    throw new BackfillWouldFireError(
      `the backfill's UPDATEs of ${table.qualifiedName} would fire ${firing.map((f) => f.what).join(", ")} for every row (bumping updated_at, writing audit rows, rewriting values). ` +
        `pgshift pauses them with session_replication_role = replica in the backfill's transactions, but role ${rows[0].role} may not set it. ` +
        `Grant it (PostgreSQL 15+, as a superuser: GRANT SET ON PARAMETER session_replication_role TO ${ident(rows[0].role)}), connect as a superuser, ` +
        `or give the trigger a column list (UPDATE OF ...) so the shadow column's UPDATEs do not fire it.`,
    );
  }
  return true;
}
