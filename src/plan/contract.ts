import { setStageSql } from "../sql/state";
import { oldName } from "../names";
import { dropFunctionSql, dropTriggerSql } from "../sql/functions";
import { dropIndexConcurrentlySql } from "../sql/indexes";
import { ident } from "../sql/quote";
import type { LiveOf, LiveState, PlanContext } from "./facts";
import { familyContexts, lockOrder, memberLabel } from "./family";
import { alone, transaction, type Step, type SwapPlan } from "./step";

/**
 * Contract: the old column goes (every member's, in a key family). Its indexes are dropped
 * CONCURRENTLY first (dropping them with the column would hold ACCESS EXCLUSIVE while each
 * index file is unlinked), then one short transaction drops the reverse triggers and the
 * columns; pgshift's functions last.
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
    "drop the old column (contract)",
    // only the members' tables: the foreign keys moved at cutover, contract does not touch them
    `LOCK TABLE ${lockOrder(members, false).join(", ")} IN ACCESS EXCLUSIVE MODE`,
    ...members.flatMap((m) => [
      dropTriggerSql(m, m.names.reverseInsertTrigger),
      dropTriggerSql(m, m.names.reverseUpdateTrigger),
      `ALTER TABLE ${m.facts.table.qualifiedName} DROP COLUMN IF EXISTS ${ident(m.names.oldColumn)}`,
      setStageSql(stateSchema, m.names.id, "contract"),
    ]),
  );
  const after = members.map((m) => {
    const n = m.names;
    return transaction(
      `drop pgshift's functions${members.length > 1 ? ` of ${memberLabel(m)}` : ""}`,
      ...[n.reverseTriggerFunction, n.markIrreversibleFunction, n.forwardTriggerFunction, n.reverseConvertFunction, n.convertFunction].map((f) => dropFunctionSql(m, f)),
    );
  });
  return { before, swap, after };
}
