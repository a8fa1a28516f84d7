import { setStageSql } from "../sql/state";
import { oldName } from "../names";
import { dropFunctionSql, dropTriggerSql } from "../sql/functions";
import { dropIndexConcurrentlySql } from "../sql/indexes";
import { ident } from "../sql/quote";
import type { LiveState, PlanContext } from "./facts";
import { alone, transaction, type Step, type SwapPlan } from "./step";

/**
 * Contract: the old column goes. Its indexes are dropped CONCURRENTLY first (dropping them
 * with the column would hold ACCESS EXCLUSIVE while each index file is unlinked), then one
 * short transaction drops the reverse triggers, the column and pgshift's functions.
 */
export function planContract(ctx: PlanContext, stateSchema: string, live: LiveState): SwapPlan {
  const t = ctx.facts.table;
  const n = ctx.names;
  const before: Step[] = t.indexes
    .filter((i) => i.coversColumn && !i.constraint && live.indexes[oldName(i.name)])
    .map((i) => alone(`drop the old column's index ${oldName(i.name)}`, dropIndexConcurrentlySql(t.schema, oldName(i.name))));
  const swap = transaction(
    "drop the old column and pgshift's functions (contract)",
    `LOCK TABLE ${t.qualifiedName} IN ACCESS EXCLUSIVE MODE`,
    dropTriggerSql(ctx, n.reverseInsertTrigger),
    dropTriggerSql(ctx, n.reverseUpdateTrigger),
    `ALTER TABLE ${t.qualifiedName} DROP COLUMN IF EXISTS ${ident(n.oldColumn)}`,
    // in the same transaction as the stage: a later step was skipped by the re-run after a
    // crash in between (the stage already said contract), and the functions stayed for good
    ...[n.reverseTriggerFunction, n.markIrreversibleFunction, n.forwardTriggerFunction, n.reverseConvertFunction, n.convertFunction].map((f) => dropFunctionSql(ctx, f)),
    setStageSql(stateSchema, n.id, "contract"),
  );
  const after: Step[] = [];
  return { before, swap, after };
}
