import type { ClientBase } from "pg";
import type { ChildKey } from "../children";
import { chooseRunner } from "../backfill/database";
import { backfillPreview } from "../backfill/preview";
import { describeType } from "../catalog/describeType";
import { tableBytes } from "../catalog/tableSize";
import { walHeadroom, walHeadroomWarning } from "../preflight/walHeadroom";
import { locateMigration } from "../db/locate";
import { withConnection, type ConnectionConfig } from "../db/connection";
import { checkOwner, readMigration, type MigrationRow } from "../db/state";
import { FamilyMemberBusyError, IllegalTransitionError } from "../errors";
import { oldName } from "../names";
import { planContract } from "../plan/contract";
import { planCutover } from "../plan/cutover";
import { planMirrorTrigger, planShadowColumn, planShadowIndexes } from "../plan/expand";
import { planContext, untouched, type LiveState, type MigrationFacts, type PlanContext } from "../plan/facts";
import { familyContexts, memberLabel } from "../plan/family";
import { statementsOf, swapSteps } from "../plan/step";
import { loadSqlParser } from "../sql/parser";
import { referencingKeyWarnings } from "../preflight/foreignKeys";
import type { Observed } from "../policy/rules";
import { preflight } from "../preflight/preflight";
import { withoutStage, type ColumnChangeSpec, type MigrationSpec, type Stage } from "../spec";

/** The SQL each child resource runs, for `pulumi preview`, and where the migration stands. */
export interface MigrationPlan {
  id: string;
  /** The stage recorded in the state table, or null before expand first ran. */
  recordedStage: Stage | null;
  /** False once a value written after cutover did not fit the old type (then cutover -> expand is refused). */
  reversible: boolean;
  irreversibleReason: string | null;
  shadowColumn: string;
  /**
   * The spec the child resources carry: the given one without its stage, with the toType the
   * migration was started with when the given one names the same type (`int8` for `bigint`),
   * so that spelling it differently is no change of the children.
   */
  childSpec: MigrationSpec;
  /** The SQL of each child, by its key (see src/children.ts). */
  statements: Record<ChildKey, string[]>;
  /**
   * What the plan does but the user should know (the component logs each with pulumi.log.warn):
   * each column whose foreign key references the changed column and that keeps a narrower
   * type than the new one (an integer child of a key that becomes bigint keeps integer's ceiling).
   */
  warnings: string[];
  /** The other members of the change's key family (`schema.table.column` each), in the order planned; empty without one. */
  family: string[];
  /** What this planning read, for the policy pack (policy/): every child carries it as an input. */
  observed: Observed;
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
 * `toType` is compared as resolved by the catalog when `types` is given (format_type of
 * describeType: `int8` and `bigint` are the same target), else as written; `using` and
 * `reverseUsing` as written, trimmed.
 */
export function checkSameTarget(
  recorded: Pick<MigrationSpec, "toType" | "using" | "reverseUsing">,
  wanted: MigrationSpec,
  stage: Stage,
  id: string,
  types?: { recorded: string; wanted: string },
): void {
  const norm = (v: string | undefined) => v?.trim() ?? null;
  const changed = (["toType", "using", "reverseUsing"] as const).filter((k) =>
    k === "toType" && types ? types.recorded !== types.wanted : norm(recorded[k]) !== norm(wanted[k]),
  );
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
 * The same check against the catalog: the wanted toType is resolved by describeType and
 * compared with the resolved type the migration recorded in its facts.
 */
export async function checkSameTargetIn(db: ClientBase, row: MigrationRow, wanted: MigrationSpec, id: string): Promise<void> {
  const wantedType = wanted.toType.trim() === row.spec.toType.trim() ? row.facts.to.formatted : (await describeType(db, wanted.toType)).formatted;
  checkSameTarget(row.spec, wanted, row.stage, id, { recorded: row.facts.to.formatted, wanted: wantedType });
}

/**
 * Plans the migration from the catalog (read-only: this runs in `pulumi preview`). Before expand
 * it runs the pre-flight checks; afterwards it plans from the facts frozen in the state row, so
 * the statements stay the same from one `pulumi up` to the next.
 */
export async function planMigrationWith(db: ClientBase, spec: ColumnChangeSpec, owner?: string): Promise<MigrationPlan> {
  await loadSqlParser(); // the plans rewrite index and constraint definitions
  const { schema, table, names, stateSchema } = await locateMigration(db, spec.table, spec.column, spec.stateSchema);
  const row: MigrationRow | null = await readMigration(db, stateSchema, names.id);
  // a member's row is driven by its family's root: a change of its own would fight over its shadow
  if (row?.facts.familyRoot) throw new FamilyMemberBusyError(names.id, row.facts.familyRoot);
  checkOwner(names.id, row?.owner ?? null, owner);
  checkTransition(row?.stage ?? null, spec.stage, names.id);
  if (row && row.stage !== "contract") await checkSameTargetIn(db, row, spec, names.id);
  const facts = row?.facts ?? (await preflight(db, spec));
  const ctx = planContext(spec, facts);
  const members = familyContexts(ctx);
  return {
    id: names.id,
    recordedStage: row?.stage ?? null,
    reversible: row?.reversible ?? true,
    irreversibleReason: row?.irreversibleReason ?? null,
    shadowColumn: names.shadowColumn,
    childSpec: { ...withoutStage(spec), toType: row && row.stage !== "contract" ? row.spec.toType : spec.toType },
    warnings: spec.referencingColumns === "keep" ? await referencingKeyWarnings(db, facts.table.qualifiedName, facts.table.column.name, facts.to) : [],
    family: members.slice(1).map(memberLabel),
    observed: { table: { schema, name: table }, recordedStage: row?.stage ?? null, tableBytes: await tableBytes(db, schema, table) },
    statements: {
      shadowColumn: byMember(members, (m) => statementsOf(planShadowColumn(m, untouched(m.facts)))),
      mirrorTrigger: byMember(members, (m) => statementsOf(planMirrorTrigger(m, untouched(m.facts)))),
      backfill: byMember(members, (m) => backfillPreview(m, stateSchema)),
      shadowIndexes: byMember(members, (m) => statementsOf(planShadowIndexes(m, untouched(m.facts)))),
      cutover: statementsOf(swapSteps(planCutover(ctx, stateSchema))),
      contract: statementsOf(swapSteps(planContract(ctx, stateSchema, (m) => afterCutover(m.facts)))),
    },
  };
}

/** Contract is planned against the table as cutover leaves it: the old column's indexes renamed. */
function afterCutover(facts: MigrationFacts): LiveState {
  const fresh = untouched(facts);
  return { ...fresh, indexes: { ...fresh.indexes, ...Object.fromEntries(facts.table.indexes.map((i) => [oldName(i.name), { valid: true }])) } };
}

/** The statements of every member of a key family, each after a comment line naming it (a migration of one column: just its own). */
function byMember(members: PlanContext[], plan: (m: PlanContext) => string[]): string[] {
  return members.length === 1 ? plan(members[0]) : members.flatMap((m) => [`-- key family member ${memberLabel(m)}`, ...plan(m)]);
}

export function planMigration(conn: ConnectionConfig, spec: ColumnChangeSpec, owner?: string): Promise<MigrationPlan> {
  return withConnection(
    conn,
    async (db) => {
      const plan = await planMigrationWith(db, spec, owner);
      // the backfill's runner and its WAL matter until the expand is done: "database" without pg_cron is refused here, "auto" warns
      if (plan.recordedStage !== null && plan.recordedStage !== "expand") return plan;
      const { warning } = await chooseRunner(db, conn, spec.backfill.runner, plan.id);
      const wal = walHeadroomWarning(plan.id, await walHeadroom(db, plan.observed.table.schema, plan.observed.table.name));
      return { ...plan, warnings: [...plan.warnings, ...(warning ? [warning] : []), ...(wal ? [wal] : [])] };
    },
    "pgshift plan",
  );
}
