import type { PlanContext } from "../plan/facts";
import { convertFunctionName, reverseConvertFunctionName } from "./functions";
import { ident } from "./quote";

/**
 * What the swaps verify before they run: cutover, that every shadow value equals the converted
 * column; the rollback, that every old value equals the new one converted back.
 */

/** Rows whose shadow differs from the converted column (0 when the shadow is complete). */
export function mismatchCountSql(ctx: PlanContext): string {
  return `SELECT count(*)::bigint AS n FROM ${ctx.facts.table.qualifiedName} WHERE ${shadowDiffersSql(ctx)}`;
}

/** True for a row whose shadow differs from the converted column. */
export function shadowDiffersSql(ctx: PlanContext): string {
  return `${ident(ctx.names.shadowColumn)} IS DISTINCT FROM ${convertFunctionName(ctx)}(${ident(ctx.facts.table.column.name)})`;
}

/** True for a row whose old column differs from the new column converted back (after cutover). */
export function oldColumnDiffersSql(ctx: PlanContext): string {
  return `${ident(ctx.names.oldColumn)} IS DISTINCT FROM ${reverseConvertFunctionName(ctx)}(${ident(ctx.facts.table.column.name)})`;
}
