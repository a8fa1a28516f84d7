import type { ClientBase } from "pg";
import { backfillStatements } from "./backfill/sql";
import { resolveTable } from "./catalog/introspect";
import { withConnection, type ConnectionConfig } from "./db/connection";
import { readMigration, type MigrationRow } from "./db/state";
import { IllegalTransitionError } from "./errors";
import { migrationNames, oldIndexName } from "./names";
import { planContract } from "./plan/contract";
import { planCutover, planSteps } from "./plan/cutover";
import { planMirrorTrigger, planShadowColumn, planShadowIndexes } from "./plan/expand";
import { planContext, untouched } from "./plan/facts";
import { statementsOf } from "./plan/step";
import { preflight } from "./preflight";
import { resolveStateSchema, type ColumnChangeSpec, type MigrationSpec, type Stage } from "./spec";

/** The SQL each child resource runs, for `pulumi preview`, and where the migration stands. */
export interface MigrationPlan {
  id: string;
  /** The stage recorded in the state table, or null before expand first ran. */
  recordedStage: Stage | null;
  /** False once a value written after cutover did not fit the old type (then cutover -> expand is refused). */
  reversible: boolean;
  irreversibleReason: string | null;
  shadowColumn: string;
  statements: {
    shadowColumn: string[];
    mirrorTrigger: string[];
    backfill: string[];
    shadowIndexes: string[];
    cutover: string[];
    contract: string[];
  };
}

/**
 * Refuses stage changes that cannot be done in one `pulumi up`: skipping cutover on the way to
 * contract, and leaving contract (the old column is gone).
 */
export function checkTransition(recorded: Stage | null, wanted: Stage, id: string): void {
  if (recorded === "contract" && wanted !== "contract") {
    throw new IllegalTransitionError(
      `${id} is contracted: the old column is gone and the change cannot be undone. Keep stage "contract" (or remove the component, which changes nothing in the database). ` +
        `To change this column's type again later: remove this component, delete its finished record (DELETE FROM pgshift_migrations WHERE id = '${id}' in the state schema), then add a new one.`,
    );
  }
  if (wanted === "contract" && recorded !== "cutover" && recorded !== "contract") {
    throw new IllegalTransitionError(
      `${id} cannot go to "contract" from ${recorded ? `"${recorded}"` : "nothing"}: run stage "cutover" first (and let the application run on the new column) so the change stays reversible until you contract.`,
    );
  }
}

/**
 * A started migration keeps its target: its shadow column, backfill and copies were made for
 * it. Changing `toType` or the conversion midway is refused with the way to do it instead
 * (the facts the plan uses are the recorded ones, so the change would otherwise be ignored).
 */
export function checkSameTarget(recorded: Pick<MigrationSpec, "toType" | "using" | "reverseUsing">, wanted: MigrationSpec, stage: Stage, id: string): void {
  const changed = (["toType", "using", "reverseUsing"] as const).filter((k) => (recorded[k] ?? null) !== (wanted[k] ?? null));
  if (changed.length === 0) return;
  const how =
    stage === "expand"
      ? "To change the target, remove the component (pulumi up drops everything it added), then add it again with the new arguments."
      : "Step back to stage \"expand\" first, then remove the component and add it again with the new arguments.";
  throw new IllegalTransitionError(
    `${id} was started with ${changed.map((k) => `${k} ${JSON.stringify(recorded[k] ?? null)}`).join(", ")}; it cannot change to ${changed
      .map((k) => `${k} ${JSON.stringify(wanted[k] ?? null)}`)
      .join(", ")} midway. ${how}`,
  );
}

/**
 * Plans the migration from the catalog (read-only: this runs in `pulumi preview`). Before expand
 * it runs the pre-flight checks; afterwards it plans from the facts frozen in the state row, so
 * the statements stay the same from one `pulumi up` to the next.
 */
export async function planMigrationWith(db: ClientBase, spec: ColumnChangeSpec): Promise<MigrationPlan> {
  const t = await resolveTable(db, spec.table);
  const names = migrationNames(t.schema, t.name, spec.column);
  const stateSchema = resolveStateSchema(spec.stateSchema, t.schema);
  const row: MigrationRow | null = await readMigration(db, stateSchema, names.id);
  checkTransition(row?.status ?? null, spec.stage, names.id);
  if (row && row.status !== "contract") checkSameTarget(row.spec, spec, row.status, names.id);
  const facts = row?.facts ?? (await preflight(db, spec));
  const ctx = planContext(spec, facts);
  const fresh = untouched(facts);
  // contract is planned against the table as cutover leaves it: the old column's indexes renamed
  const afterCutover = {
    ...fresh,
    indexes: { ...fresh.indexes, ...Object.fromEntries(facts.table.indexes.map((i) => [oldIndexName(i.name), { valid: true }])) },
  };
  return {
    id: names.id,
    recordedStage: row?.status ?? null,
    reversible: row?.reversible ?? true,
    irreversibleReason: row?.irreversibleReason ?? null,
    shadowColumn: names.shadowColumn,
    statements: {
      shadowColumn: statementsOf(planShadowColumn(ctx, fresh)),
      mirrorTrigger: statementsOf(planMirrorTrigger(ctx, fresh)),
      backfill: backfillStatements(ctx),
      shadowIndexes: statementsOf(planShadowIndexes(ctx, fresh)),
      cutover: statementsOf(planSteps(planCutover(ctx, stateSchema))),
      contract: statementsOf(planSteps(planContract(ctx, stateSchema, afterCutover))),
    },
  };
}

export function planMigration(conn: ConnectionConfig, spec: ColumnChangeSpec): Promise<MigrationPlan> {
  return withConnection(conn, (db) => planMigrationWith(db, spec), "pgshift plan");
}
