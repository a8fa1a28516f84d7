import type { PlanContext } from "../plan/facts";
import { resolveOrder } from "./checkpoint";
import { backfillCallSql, backfillProcedureSql } from "./procedure";
import { backfillStatements, commitProbeSql } from "./sql";

/**
 * What `pulumi preview` shows for the Backfill child: the batches in the order it will use,
 * the commit probe (backfill.maxCommitLatencyMs), and, where it may run in the database, the procedure (with the batch bounds of the client
 * runner's keyset unit: the physical one is sized from the table's density at apply) and the
 * job's command.
 */
export function backfillPreview(ctx: PlanContext, stateSchema: string): string[] {
  const order = resolveOrder(ctx, ctx.spec.backfill.order);
  const b = ctx.spec.backfill;
  const probe = b.maxCommitLatencyMs > 0 ? [`/* at most once a second, with synchronous_commit = on, timed (backfill.maxCommitLatencyMs) */ ${commitProbeSql(stateSchema, ctx.names.id)}`] : [];
  const statements = [...backfillStatements(ctx, order), ...probe];
  if (b.runner === "client") return statements;
  return [...statements, backfillProcedureSql(ctx, stateSchema, { min: Math.min(100, b.batchSize), max: b.maxBatchSize }, order === "physical", b.passes), `-- pg_cron, every minute until done: ${backfillCallSql(ctx)}`];
}
