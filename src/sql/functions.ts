import type { PlanContext } from "../plan/facts";
import { dollarQuote } from "./dollarQuote";
import { ident, qualified } from "./quote";

function fn(ctx: PlanContext, name: string): string {
  return qualified(ctx.facts.table.schema, name);
}

export function convertFunctionName(ctx: PlanContext): string {
  return fn(ctx, ctx.names.convertFunction);
}

export function reverseConvertFunctionName(ctx: PlanContext): string {
  return fn(ctx, ctx.names.reverseConvertFunction);
}

/**
 * `(expression)::type`, or the plain cast of the column when no expression is given. The
 * expression stands on its own line(s), so a `--` comment at its end cannot swallow the
 * closing parenthesis and the cast.
 */
function castTo(expression: string | undefined, column: string, type: string): string {
  return expression === undefined ? `${ident(column)}::${type}` : `(\n${expression}\n)::${type}`;
}

/**
 * old type -> new type, as one SQL function that the trigger, the backfill and the pre-flight
 * all call, so the three can never disagree. Its parameter carries the column's name, so a
 * `using` expression written like ALTER TABLE's (`file_size::bigint`) reads the old value.
 * STABLE (not IMMUTABLE): casts such as timestamp -> timestamptz read the TimeZone setting.
 */
export function convertFunctionSql(ctx: PlanContext, name = convertFunctionName(ctx)): string {
  const col = ctx.facts.table.column;
  return (
    `CREATE OR REPLACE FUNCTION ${name}(${ident(col.name)} ${ctx.facts.from.formatted}) ` +
    `RETURNS ${ctx.facts.to.formatted} LANGUAGE sql STABLE PARALLEL SAFE AS ${dollarQuote(` SELECT ${castTo(ctx.spec.using, col.name, ctx.facts.to.formatted)} `)}`
  );
}

/** The body of the conversion function of each direction, over a value named like the column. */
export function conversionExpression(ctx: PlanContext, direction: "forward" | "reverse"): string {
  const col = ctx.facts.table.column.name;
  return direction === "forward" ? castTo(ctx.spec.using, col, ctx.facts.to.formatted) : castTo(ctx.spec.reverseUsing, col, ctx.facts.from.formatted);
}

/** new type -> old type, for the reverse trigger after cutover (`reverseUsing`). */
export function reverseConvertFunctionSql(ctx: PlanContext, name = reverseConvertFunctionName(ctx)): string {
  const col = ctx.facts.table.column;
  return (
    `CREATE OR REPLACE FUNCTION ${name}(${ident(col.name)} ${ctx.facts.to.formatted}) ` +
    `RETURNS ${ctx.facts.from.formatted} LANGUAGE sql STABLE PARALLEL SAFE AS ${dollarQuote(` SELECT ${castTo(ctx.spec.reverseUsing, col.name, ctx.facts.from.formatted)} `)}`
  );
}

/** Trigger function: shadow := convert(column). */
export function forwardTriggerFunctionSql(ctx: PlanContext): string {
  const col = ident(ctx.facts.table.column.name);
  const shadow = ident(ctx.names.shadowColumn);
  return (
    `CREATE OR REPLACE FUNCTION ${fn(ctx, ctx.names.forwardTriggerFunction)}() RETURNS trigger LANGUAGE plpgsql AS ` +
    dollarQuote(`\nBEGIN\n  NEW.${shadow} := ${convertFunctionName(ctx)}(NEW.${col});\n  RETURN NEW;\nEND\n`)
  );
}

/**
 * Two triggers: every INSERT, and an UPDATE only when the application changes the column
 * (`UPDATE OF col ... WHEN (IS DISTINCT FROM)`). The backfill's own UPDATEs set only the
 * shadow, so they never fire it.
 */
export function forwardTriggersSql(ctx: PlanContext): string[] {
  const t = ctx.facts.table.qualifiedName;
  const col = ident(ctx.facts.table.column.name);
  const f = fn(ctx, ctx.names.forwardTriggerFunction);
  return [
    `CREATE TRIGGER ${ident(ctx.names.forwardInsertTrigger)} BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION ${f}()`,
    `CREATE TRIGGER ${ident(ctx.names.forwardUpdateTrigger)} BEFORE UPDATE OF ${col} ON ${t} FOR EACH ROW ` +
      `WHEN (OLD.${col} IS DISTINCT FROM NEW.${col}) EXECUTE FUNCTION ${f}()`,
  ];
}

export function dropTriggerSql(ctx: PlanContext, trigger: string): string {
  return `DROP TRIGGER IF EXISTS ${ident(trigger)} ON ${ctx.facts.table.qualifiedName}`;
}

export function dropFunctionSql(ctx: PlanContext, name: string): string {
  return `DROP FUNCTION IF EXISTS ${fn(ctx, name)}`;
}
