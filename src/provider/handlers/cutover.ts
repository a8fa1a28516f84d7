import type { Client } from "pg";
import { progressText, remaining, remainingText } from "../../backfill/progress";
import { reltuples, type BudgetedCheckpoint } from "../../backfill/run";
import { mismatchCountSql, oldColumnDiffersSql, shadowDiffersSql } from "../../sql/verify";
import { INTEGER_BOUNDS, INTEGER_TYPE_NAMES } from "../../conversion";
import { runSwapPlan } from "../../db/executor";
import { NotReversibleError, ShadowIncompleteError } from "../../errors";
import { planCutover, planRollback } from "../../plan/cutover";
import { planShadowIndexes, shadowObjects } from "../../plan/expand";
import type { PlanContext } from "../../plan/facts";
import { keyAsText, qualified } from "../../sql/quote";
import { contextOf, live, requireRow, withSession, type Session } from "../session";
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
async function backfillStanding(s: Session, c: BudgetedCheckpoint | null): Promise<string> {
  const scanned = c?.rowsScanned ?? 0;
  const total = await reltuples(s.db, qualified(s.schema, s.table));
  const progress = progressText({ scanned, total, done: false }).replace(/^backfill in progress: /, "");
  if (total === null) return progress;
  return `${progress}; ${remainingText(remaining({ scanned, total, spent: c?.spent, budgetMs: s.spec.backfill.maxDurationMs }), s.spec.backfill.maxDurationMs)}`;
}

/** Refuses the cutover unless the backfill finished, every shadow value is right and every copy is built. */
async function verifyShadow(s: Session, ctx: PlanContext): Promise<void> {
  const row = s.row!;
  if (!row.backfill?.done) {
    throw new ShadowIncompleteError(`cutover of ${s.names.id} refused: the backfill has not finished: ${await backfillStanding(s, row.backfill as BudgetedCheckpoint | null)} (run pulumi up with stage "expand" until it completes)`);
  }
  const { rows } = await s.db.query<{ n: string }>(mismatchCountSql(ctx));
  const mismatches = Number(rows[0].n);
  if (mismatches > 0) {
    const keys = await sampleKeys(s.db, ctx, shadowDiffersSql(ctx));
    throw new ShadowIncompleteError(
      `cutover of ${s.names.id} refused: ${mismatches} row(s) have a shadow value that differs from the converted column (keys ${keys}). ` +
        `Something other than pgshift wrote the shadow column, or its mirror trigger was disabled. Run pulumi up with stage "expand" (the backfill re-checks every row) and try again.`,
    );
  }
  const state = await live(s);
  const notReady = shadowObjects(ctx).filter((o) =>
    o.kind === "index" ? !state.indexes[o.name]?.valid : !state.constraints[o.name]?.validated,
  );
  if (notReady.length) {
    throw new ShadowIncompleteError(`cutover of ${s.names.id} refused: these copies are missing or not valid yet: ${notReady.map((o) => o.name).join(", ")} (run pulumi up with stage "expand")`);
  }
}

/** Refuses the rollback unless every value written since cutover survived the trip back. */
async function verifyReversible(s: Session, ctx: PlanContext): Promise<void> {
  const row = s.row!;
  const how = `Keep stage "cutover" (the new column is complete and in use) and go on to "contract" when ready.`;
  if (!row.reversible) {
    throw new NotReversibleError(`${s.names.id} can no longer go back to expand: ${row.irreversibleReason ?? "a value written after cutover does not fit the old type"}. ${how}`);
  }
  const t = ctx.facts.table;
  const differs = oldColumnDiffersSql(ctx);
  let keys: string;
  try {
    keys = await sampleKeys(s.db, ctx, differs);
  } catch (err) {
    throw new NotReversibleError(`${s.names.id} can no longer go back to expand: converting the new values back fails (${err instanceof Error ? err.message : String(err)}). ${how}`);
  }
  if (keys) throw new NotReversibleError(`${s.names.id} can no longer go back to expand: the old column differs for keys ${keys}. ${how}`);
  const seq = t.ownedSequence;
  const max = seq ? INTEGER_BOUNDS[INTEGER_TYPE_NAMES[seq.dataType]]?.[1] : undefined;
  if (seq && max) {
    const { rows } = await s.db.query<{ ok: boolean }>(`SELECT last_value <= $1::bigint AS ok FROM ${seq.qualifiedName}`, [max]);
    if (rows[0] && !rows[0].ok) throw new NotReversibleError(`${s.names.id} can no longer go back to expand: sequence ${seq.qualifiedName} is past the range of ${seq.dataType}. ${how}`);
  }
}

export const cutover: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Cutover");
      if (row.stage !== "expand") return { stage: row.stage, reversible: row.reversible };
      const ctx = contextOf(s, row);
      await verifyShadow(s, ctx);
      // the reverse functions are created inside the swap: a swap that did not commit leaves nothing
      const stats = await runSwapPlan(s.db, planCutover(ctx, s.stateSchema), s.exec);
      return { stage: "cutover", reversible: true, ...stats };
    });
  },
  async remove(props, log) {
    await withSession(props, log, async (s) => {
      if (!s.row || s.row.stage !== "cutover") return;
      const ctx = contextOf(s, s.row);
      await verifyReversible(s, ctx);
      // the swap hands the shadow's constraint indexes and NOT NULL check back to the old
      // column: the copies are rebuilt after it, planned from the catalog as it then is
      await runSwapPlan(s.db, planRollback(ctx, s.stateSchema, await live(s)), s.exec, async () => planShadowIndexes(ctx, await live(s)));
    });
  },
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      if (s.row.stage === "expand") return null;
      return { stage: s.row.stage, reversible: s.row.reversible, irreversibleReason: s.row.irreversibleReason };
    });
  },
};
