import { setStageSql } from "../sql/state";
import { oldName } from "../names";
import { dropFunctionSql, dropTriggerSql } from "../sql/functions";
import { dropIndexConcurrentlySql } from "../sql/indexes";
import { ident } from "../sql/quote";
import type { LiveOf, LiveState, PlanContext } from "./facts";
import { familyContexts, lockOrder } from "./family";
import { alone, transaction, type Step, type SwapPlan } from "./step";
import { swapLockSql } from "./swapLock";

/**
 * Contract: the old column goes (every member's, in a key family). Its indexes are dropped
 * CONCURRENTLY first (dropping them with the column would hold ACCESS EXCLUSIVE while each
 * index file is unlinked), then one short transaction drops the reverse triggers, the
 * columns and pgshift's functions.
 */
export function planContract(ctx: PlanContext, stateSchema: string, live: LiveState | LiveOf): SwapPlan {
  const members = familyContexts(ctx);
  const liveOf = typeof live === "function" ? live : () => live;
  const before: Step[] = members.flatMap((m) => {
    const t = m.facts.table;
    const state = liveOf(m);
    return t.indexes
      .filter((i) => i.coversColumn && !i.constraint && state.indexes[oldName(i.name)])
      .map((i) => alone(`drop the old column's index ${oldName(i.name)}`, dropIndexConcurrentlySql(t.schema, oldName(i.name))));
  });
  const swap = transaction(
    "drop the old column and pgshift's functions (contract)",
    // only the members' tables: the foreign keys moved at cutover, contract does not touch them
    ...swapLockSql(lockOrder(members, false)),
    ...members.flatMap((m) => [
      dropTriggerSql(m, m.names.reverseInsertTrigger),
      dropTriggerSql(m, m.names.reverseUpdateTrigger),
      `ALTER TABLE ${m.facts.table.qualifiedName} DROP COLUMN IF EXISTS ${ident(m.names.oldColumn)}`,
      // in the same transaction as the stage: a later step was skipped by the re-run after a
      // crash in between (the stage already said contract), and the functions stayed for good
      ...[m.names.reverseTriggerFunction, m.names.markIrreversibleFunction, m.names.forwardTriggerFunction, m.names.reverseConvertFunction, m.names.convertFunction].map((f) => dropFunctionSql(m, f)),
      setStageSql(stateSchema, m.names.id, "contract"),
    ]),
  );
  const after: Step[] = [];
  return { before, swap, after };
}
