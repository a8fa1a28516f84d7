import type { ReferencingForeignKey, TableSnapshot } from "../snapshot";
import type { TypeDescription } from "../conversion";
import { migrationNames, type MigrationNames } from "../names";
import type { MigrationSpec } from "../spec";

/**
 * The facts a migration is planned from, frozen when expand starts (stored in the state table)
 * so every later stage, preview and refresh plans from the same table description.
 */
export interface MigrationFacts {
  table: TableSnapshot;
  from: TypeDescription;
  to: TypeDescription;
  /**
   * The backfill's transactions run with session_replication_role = replica, so that the
   * table's own UPDATE triggers and rules do not fire for them (pre-flight proved the role
   * may set it). False when nothing would fire.
   */
  backfillAsReplica?: boolean;
  /**
   * A key family (src/plan/family.ts), on the root's facts: every other member (a column that
   * references the key, transitively) with its own spec and facts, in the order found.
   */
  family?: FamilyMember[];
  /** On a member's facts (and its state row): the id of the family's root migration. */
  familyRoot?: string;
  /**
   * In a family, on every member: the foreign keys the one cutover swap drops and re-adds on
   * the new columns (every key that references a member). Without a family: the table
   * snapshot's referencingForeignKeys.
   */
  familyKeys?: ReferencingForeignKey[];
}

/** One referencing column of a key family, planned like a migration of its own. */
export interface FamilyMember {
  spec: MigrationSpec;
  facts: MigrationFacts;
}

/** Everything a plan function needs. Pure data. */
export interface PlanContext {
  spec: MigrationSpec;
  facts: MigrationFacts;
  names: MigrationNames;
}

export function planContext(spec: MigrationSpec, facts: MigrationFacts): PlanContext {
  return { spec, facts, names: migrationNames(facts.table.schema, facts.table.name, facts.table.column.name) };
}

/**
 * What exists right now of the objects pgshift creates (read from pg_catalog by db/live.ts).
 * Plans take it so a re-run after a crash only does what is missing.
 */
export interface LiveState {
  /** Every column name of the table, including pgshift's. */
  columns: string[];
  /** format_type of each column. */
  columnTypes: Record<string, string>;
  /** The migration's functions that exist in the table's schema. */
  functions: string[];
  /** Every trigger on the table, by name. */
  triggers: string[];
  /** Every index on the table, by name. */
  indexes: Record<string, { valid: boolean }>;
  /** Every constraint on the table, by name. */
  constraints: Record<string, { validated: boolean; type: string }>;
}

/** The live state of each member's table, for the plans of a key family (a single LiveState serves a family of one). */
export type LiveOf = (ctx: PlanContext) => LiveState;

/** The live state of a table pgshift has not touched yet: what `pulumi preview` plans against. */
export function untouched(facts: MigrationFacts): LiveState {
  const t = facts.table;
  return {
    columns: t.columns.map((c) => c.name),
    columnTypes: {},
    functions: [],
    triggers: [],
    indexes: Object.fromEntries(t.indexes.map((i) => [i.name, { valid: i.valid }])),
    constraints: Object.fromEntries(t.constraints.map((c) => [c.name, { validated: c.validated, type: c.type }])),
  };
}
