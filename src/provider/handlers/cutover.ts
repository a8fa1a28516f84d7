import type { Client } from "pg";
import { progressText, remaining, remainingText } from "../../backfill/progress";
import type { BudgetedCheckpoint } from "../../backfill/run";
import { reltuples } from "../../catalog/tableSize";
import { mismatchCountSql, oldColumnDiffersSql, shadowDiffersSql } from "../../sql/verify";
import { INTEGER_BOUNDS, INTEGER_TYPE_NAMES } from "../../conversion";
import { runSwapPlan } from "../../db/executor";
import { LateReferenceError, NotReversibleError, ShadowIncompleteError } from "../../errors";
import { planCutover, planRollback } from "../../plan/cutover";
import { planShadowIndexes, shadowObjects } from "../../plan/expand";
import type { LiveOf, PlanContext } from "../../plan/facts";
import { lateReferences } from "../../preflight/family";
import type { MigrationRow } from "../../db/state";
import { keyAsText } from "../../sql/quote";
import { contextOf, familyLive, familyOf, memberRow, requireRow, runForEachMember, withSession, type Session } from "../session";
import type { ChildHandler } from "./types";

const SAMPLE_KEYS = 5;

async function sampleKeys(db: Client, ctx: PlanContext, where: string): Promise<string> {
  const t = ctx.facts.table;
  const { rows } = await db.query<{ key: string }>(`SELECT ${keyAsText(t.keyColumns)} AS key FROM ${t.qualifiedName} WHERE ${where} LIMIT ${SAMPLE_KEYS}`);
  return rows.map((r) => `(${r.key})`).join(", ");
}

/**
 * How far an unfinished backfill got and what is left: `60,000 of 200,000 rows (30.0%); about
 * 140,000 rows left, about 7s of backfill, about 4 more deploys at backfill.maxDurationMs 2000`
 * (the time from what the budgeted runs recorded; reltuples only, no count(*)).
 */
async function backfillStanding(s: Session, ctx: PlanContext, c: BudgetedCheckpoint | null): Promise<string> {
  const scanned = c?.rowsScanned ?? 0;
  const total = await reltuples(s.db, ctx.facts.table.qualifiedName);
  const progress = progressText({ scanned, total, done: false }).replace(/^backfill in progress: /, "");
  if (total === null) return progress;
  return `${progress}; ${remainingText(remaining({ scanned, total, spent: c?.spent, budgetMs: s.spec.backfill.maxDurationMs }), s.spec.backfill.maxDurationMs)}`;
}

/** Refuses the cutover unless the member's backfill finished, every shadow value is right and every copy is built. */
async function verifyShadow(s: Session, ctx: PlanContext, row: MigrationRow | null, liveOf: LiveOf): Promise<void> {
  const id = ctx.names.id;
  if (!row?.backfill?.done) {
    const c = (row?.backfill ?? null) as BudgetedCheckpoint | null;
    const how = c?.runner === "database" ? "its pg_cron job is running it in the database: pulumi refresh shows how far it is; try again once it is done" : 'run pulumi up with stage "expand" until it completes';
    throw new ShadowIncompleteError(`cutover of ${id} refused: the backfill has not finished: ${await backfillStanding(s, ctx, c)} (${how})`);
  }
  const { rows } = await s.db.query<{ n: string }>(mismatchCountSql(ctx));
  const mismatches = Number(rows[0].n);
  if (mismatches > 0) {
    const keys = await sampleKeys(s.db, ctx, shadowDiffersSql(ctx));
    throw new ShadowIncompleteError(
      `cutover of ${id} refused: ${mismatches} row(s) have a shadow value that differs from the converted column (keys ${keys}). ` +
        `Something other than pgshift wrote the shadow column, or its mirror trigger was disabled. Run pulumi up with stage "expand" (the backfill re-checks every row) and try again.`,
    );
  }
  const state = liveOf(ctx);
  const notReady = shadowObjects(ctx).filter((o) =>
    o.kind === "index" ? !state.indexes[o.name]?.valid : !state.constraints[o.name]?.validated,
  );
  if (notReady.length) {
    throw new ShadowIncompleteError(`cutover of ${id} refused: these copies are missing or not valid yet: ${notReady.map((o) => o.name).join(", ")} (run pulumi up with stage "expand")`);
  }
}

/**
 * Refuses the cutover when a foreign key now references a member that the family recorded at
 * expand did not know (a table created later): the swap would have to move a key whose
 * referencing column has no shadow, and the old key could not be dropped under it.
 */
async function refuseLateReferences(s: Session, members: PlanContext[]): Promise<void> {
  const late = await lateReferences(s.db, members);
  if (late.length) throw new LateReferenceError(s.names.id, late);
}

/** Refuses the rollback unless every value written since cutover survived the trip back. */
async function verifyReversible(s: Session, ctx: PlanContext, row: MigrationRow | null): Promise<void> {
  const id = ctx.names.id;
  const how = `Keep stage "cutover" (the new column is complete and in use) and go on to "contract" when ready.`;
  if (row && !row.reversible) {
    throw new NotReversibleError(`${id} can no longer go back to expand: ${row.irreversibleReason ?? "a value written after cutover does not fit the old type"}. ${how}`);
  }
  const t = ctx.facts.table;
  const differs = oldColumnDiffersSql(ctx);
  let keys: string;
  try {
    keys = await sampleKeys(s.db, ctx, differs);
  } catch (err) {
    throw new NotReversibleError(`${id} can no longer go back to expand: converting the new values back fails (${err instanceof Error ? err.message : String(err)}). ${how}`);
  }
  if (keys) throw new NotReversibleError(`${id} can no longer go back to expand: the old column differs for keys ${keys}. ${how}`);
  const seq = t.ownedSequence;
  const max = seq ? INTEGER_BOUNDS[INTEGER_TYPE_NAMES[seq.dataType]]?.[1] : undefined;
  if (seq && max) {
    const { rows } = await s.db.query<{ ok: boolean }>(`SELECT last_value <= $1::bigint AS ok FROM ${seq.qualifiedName}`, [max]);
    if (rows[0] && !rows[0].ok) throw new NotReversibleError(`${id} can no longer go back to expand: sequence ${seq.qualifiedName} is past the range of ${seq.dataType}. ${how}`);
  }
}

/**
 * The step back from cutover to expand, every member at once: refused unless every member is
 * still reversible. The Cutover child's delete runs it, and ShadowIndexes when the component
 * asks for expand while the row says cutover (a Cutover Pulumi never recorded); whichever runs
 * first does it, the other then finds the row at expand.
 */
export async function rollBackCutover(s: Session, row: MigrationRow): Promise<void> {
  const ctx = contextOf(s, row);
  const members = familyOf(s, row);
  for (const m of members) await verifyReversible(s, m, await memberRow(s, row, m));
  // the swap hands the shadow's constraint indexes and NOT NULL check back to the old
  // columns: the copies are rebuilt after it, planned from the catalog as it then is
  await runSwapPlan(s.db, planRollback(ctx, s.stateSchema, await familyLive(s, members)), s.exec, async () => {
    const after = await familyLive(s, members);
    return members.flatMap((m) => planShadowIndexes(m, after(m)));
  });
}

export const cutover: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Cutover");
      // already swapped (an earlier run's state was lost): the time is unknown, so now, which
      // only lengthens the soak before contract (an update keeps the time recorded before)
      if (row.stage !== "expand") return { stage: row.stage, reversible: row.reversible, cutoverAt: new Date().toISOString() };
      const ctx = contextOf(s, row);
      const members = familyOf(s, row);
      const liveOf = await familyLive(s, members);
      for (const m of members) await verifyShadow(s, m, await memberRow(s, row, m), liveOf);
      await refuseLateReferences(s, members);
      // the reverse functions are created inside the swap: a swap that did not commit leaves nothing
      const stats = await runSwapPlan(s.db, planCutover(ctx, s.stateSchema), s.exec);
      // when the application started to use the new column: the policy pack's soak before contract counts from it
      return { stage: "cutover", reversible: true, cutoverAt: new Date().toISOString(), ...stats };
    });
  },
  async remove(props, log) {
    await withSession(props, log, async (s) => {
      if (s.row?.stage === "cutover") await rollBackCutover(s, s.row);
      // already at expand: a rollback (this delete's, or ShadowIndexes') whose swap committed
      // before its run was killed has not rebuilt the copies its swap handed back; build what is missing
      else if (s.row?.stage === "expand") await runForEachMember(s, s.row, planShadowIndexes);
    });
  },
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      if (s.row.stage === "expand") return null;
      // cutoverAt: now, for a Cutover that recorded none (an older pgshift): the soak before
      // contract then counts from this refresh; one recorded before is kept (provider read)
      return { stage: s.row.stage, reversible: s.row.reversible, irreversibleReason: s.row.irreversibleReason, cutoverAt: new Date().toISOString() };
    });
  },
};
