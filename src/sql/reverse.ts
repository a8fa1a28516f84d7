import type { PlanContext } from "../plan/facts";
import { INTEGER_BOUNDS } from "../conversion";
import { stateTableName } from "./state";
import { convertFunctionName, reverseConvertFunctionName } from "./functions";
import { dollarQuote } from "./dollarQuote";
import { ident, literal, qualified } from "./quote";

export function markIrreversibleSql(ctx: PlanContext, stateSchema: string): string {
  // SECURITY DEFINER: the application's role may not write pgshift's state table; pinned
  // search_path so the definer's rights cannot be borrowed through it
  return (
    `CREATE OR REPLACE FUNCTION ${qualified(ctx.facts.table.schema, ctx.names.markIrreversibleFunction)}(reason text) RETURNS void ` +
    `LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS ` +
    dollarQuote(
      ` UPDATE ${stateTableName(stateSchema)} SET reversible = false, irreversible_reason = coalesce(irreversible_reason, reason), updated_at = now() ` +
        `WHERE id = ${literal(ctx.names.id)} AND reversible `,
    )
  );
}

/**
 * After cutover the old column keeps receiving every write, converted back, so that stepping
 * back to expand loses nothing. A value that does not survive the round trip (new -> old ->
 * new) never fails the application's write: the old column gets NULL and the migration is
 * marked as no longer reversible. Integer narrowings use a range check; other conversions run
 * in an exception block (one subtransaction per written row).
 */
export function reverseTriggerFunctionSql(ctx: PlanContext): string {
  const n = ctx.names;
  const col = `NEW.${ident(ctx.facts.table.column.name)}`;
  const old = `NEW.${ident(n.oldColumn)}`;
  const rconv = reverseConvertFunctionName(ctx);
  const conv = convertFunctionName(ctx);
  const mark = qualified(ctx.facts.table.schema, n.markIrreversibleFunction);
  const range = INTEGER_BOUNDS[ctx.facts.from.typeName];
  const toInteger = INTEGER_BOUNDS[ctx.facts.to.typeName] !== undefined;
  const lossMessage = `'a value does not fit ${ctx.facts.from.formatted.replace(/'/g, "''")}: ' || ${col}::text`;
  const body =
    range && toInteger && !ctx.spec.reverseUsing && !ctx.spec.using
      ? `  IF ${col} IS NULL THEN\n    ${old} := NULL;\n` +
        `  ELSIF ${col} BETWEEN ${range[0]} AND ${range[1]} THEN\n    ${old} := ${rconv}(${col});\n` +
        `  ELSE\n    ${old} := NULL;\n    PERFORM ${mark}(${lossMessage});\n  END IF;\n`
      : `  BEGIN\n    ${old} := ${rconv}(${col});\n` +
        `    IF ${conv}(${old}) IS DISTINCT FROM ${col} THEN\n      ${old} := NULL;\n      PERFORM ${mark}(${lossMessage});\n    END IF;\n` +
        `  EXCEPTION WHEN OTHERS THEN\n    ${old} := NULL;\n    PERFORM ${mark}(SQLERRM);\n  END;\n`;
  return (
    `CREATE OR REPLACE FUNCTION ${qualified(ctx.facts.table.schema, n.reverseTriggerFunction)}() RETURNS trigger LANGUAGE plpgsql AS ` +
    dollarQuote(`\nBEGIN\n${body}  RETURN NEW;\nEND\n`)
  );
}

export function reverseTriggersSql(ctx: PlanContext): string[] {
  const t = ctx.facts.table.qualifiedName;
  const col = ident(ctx.facts.table.column.name);
  const f = qualified(ctx.facts.table.schema, ctx.names.reverseTriggerFunction);
  return [
    `CREATE TRIGGER ${ident(ctx.names.reverseInsertTrigger)} BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION ${f}()`,
    `CREATE TRIGGER ${ident(ctx.names.reverseUpdateTrigger)} BEFORE UPDATE OF ${col} ON ${t} FOR EACH ROW ` +
      `WHEN (OLD.${col} IS DISTINCT FROM NEW.${col}) EXECUTE FUNCTION ${f}()`,
  ];
}
