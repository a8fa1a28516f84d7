import type { ClientBase } from "pg";
import { describeColumnType, describeType } from "./catalog/describeType";
import { introspectTable } from "./catalog/introspect";
import { castAlwaysSucceeds, narrowingReason } from "./conversion";
import { ConversionFailedError, DependentObjectsError, UniqueAfterConversionError, InvalidSpecError, NarrowingChangeError, PgShiftError, UnsupportedColumnError } from "./errors";
import { planContext, type MigrationFacts, type PlanContext } from "./plan/facts";
import type { MigrationSpec } from "./spec";
import { convertFunctionSql } from "./sql/functions";
import { dollarQuote } from "./sql/dollarQuote";
import { ident, keyAsText } from "./sql/quote";

/** How many failing keys a conversion error names. */
const FAILING_KEYS_SHOWN = 5;

/**
 * Everything that must hold before any DDL runs. Read-only (its probes run in transactions that
 * are rolled back), so it also runs during `pulumi preview`. Returns the facts the migration
 * is planned from.
 */
export async function preflight(db: ClientBase, spec: MigrationSpec): Promise<MigrationFacts> {
  const table = await introspectTable(db, spec.table, spec.column);
  const from = await describeColumnType(db, table.qualifiedName, spec.column);
  const to = await describeType(db, spec.toType);
  const where = `${table.qualifiedName}.${ident(spec.column)}`;
  if (from.formatted === to.formatted && !spec.using) {
    throw new InvalidSpecError(`column ${where} already has type ${to.formatted}; there is nothing to change`);
  }
  const narrowing = narrowingReason(from, to);
  if (narrowing && !spec.allowNarrowing) throw new NarrowingChangeError(from.formatted, to.formatted, narrowing);
  if (table.dependents.length) {
    throw new DependentObjectsError(
      table.qualifiedName,
      spec.column,
      table.dependents,
      "PostgreSQL cannot change the type of a column that views, rules, policies or generated columns use. Drop them (and recreate them after contract), or change them to stop using the column.",
    );
  }
  const exclusion = table.constraints.find((c) => c.coversColumn && c.type === "x");
  if (exclusion) {
    throw new UnsupportedColumnError(`column ${where} is part of exclusion constraint ${ident(exclusion.name)}, which pgshift cannot rebuild without blocking writes`);
  }
  const deferrable = table.constraints.find((c) => c.coversColumn && (c.type === "p" || c.type === "u") && / DEFERRABLE/.test(c.definition));
  if (deferrable) {
    // the index copy on the shadow would check immediately during expand (an application
    // transaction relying on the deferred check would fail), and USING INDEX would drop DEFERRABLE
    throw new UnsupportedColumnError(
      `column ${where} is part of DEFERRABLE constraint ${ident(deferrable.name)}, which pgshift cannot copy without changing when it is checked; make it NOT DEFERRABLE first (ALTER TABLE ... ALTER CONSTRAINT ${ident(deferrable.name)} NOT DEFERRABLE), or change the column with a plain ALTER`,
    );
  }
  await checkRights(db, table.schema, table.qualifiedName);
  const facts: MigrationFacts = { table, from, to };
  await checkValues(db, planContext(spec, facts));
  return facts;
}

async function checkRights(db: ClientBase, schema: string, qualifiedTable: string): Promise<void> {
  const { rows } = await db.query<{ owner: boolean; create: boolean; role: string }>(
    `SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS owner, has_schema_privilege($2, 'CREATE') AS create, current_user AS role
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [qualifiedTable, schema],
  );
  const r = rows[0];
  if (!r.owner) throw new PgShiftError(`role ${r.role} does not own ${qualifiedTable}; pgshift needs the owner's rights (ALTER TABLE, CREATE TRIGGER). Connect as the table owner.`);
  if (!r.create) throw new PgShiftError(`role ${r.role} lacks CREATE on schema ${ident(schema)}, needed for pgshift's trigger functions. GRANT CREATE ON SCHEMA ${ident(schema)} TO ${ident(r.role)}.`);
}

/**
 * Converts every existing value with the same function the trigger and the backfill will use.
 * The default cast of a widening (int -> bigint) cannot fail and is not scanned. On failure a
 * row-by-row pass names the first failing keys.
 */
async function checkValues(db: ClientBase, ctx: PlanContext): Promise<void> {
  const t = ctx.facts.table;
  const mustScan = ctx.spec.using !== undefined || !castAlwaysSucceeds(ctx.facts.from, ctx.facts.to) || t.column.notNull;
  const conv = "pg_temp.pgshift_probe_conv";
  const col = ident(t.column.name);
  const keyText = keyAsText(t.keyColumns);
  // a non-NULL value must not become NULL; and in a NOT NULL column nothing may become NULL
  const badResult = t.column.notNull ? `${conv}(${col}) IS NULL` : `(${conv}(${col}) IS NULL AND ${col} IS NOT NULL)`;
  await db.query("BEGIN");
  try {
    try {
      await db.query(convertFunctionSql(ctx, conv));
    } catch (err) {
      throw new InvalidSpecError(`the conversion to ${ctx.facts.to.formatted} does not compile: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!mustScan) return;
    await db.query("SAVEPOINT scan");
    let rows: { key: string }[];
    try {
      ({ rows } = await db.query<{ key: string }>(`SELECT ${keyText} AS key FROM ${t.qualifiedName} WHERE ${badResult} LIMIT ${FAILING_KEYS_SHOWN}`));
    } catch (err) {
      await db.query("ROLLBACK TO SAVEPOINT scan");
      const failing = await failingKeys(db, ctx, conv, keyText, badResult);
      throw new ConversionFailedError(t.qualifiedName, t.column.name, ctx.facts.to.formatted, failing, err instanceof Error ? err.message : String(err));
    }
    if (rows.length) {
      throw new ConversionFailedError(t.qualifiedName, t.column.name, ctx.facts.to.formatted, rows.map((r) => `(${r.key})`), "the conversion gives NULL");
    }
    if (ctx.spec.using !== undefined || !castAlwaysSucceeds(ctx.facts.from, ctx.facts.to)) await checkUniqueAfterConversion(db, ctx, conv);
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
  }
}

/**
 * A conversion that is not one-to-one ('ABC' and 'abc' -> the same uuid) can make two rows
 * equal under a UNIQUE index or PRIMARY KEY: the index copy would fail to build after the
 * whole backfill. Found here instead, by grouping the converted keys of each such index.
 */
async function checkUniqueAfterConversion(db: ClientBase, ctx: PlanContext, conv: string): Promise<void> {
  const t = ctx.facts.table;
  for (const index of t.indexes.filter((i) => i.unique && i.valid && i.coversColumn && i.keys.every((k) => k.column))) {
    const keys = index.keys.map((k) => (k.column === t.column.name ? `${conv}(${ident(t.column.name)})` : ident(k.column!)));
    const where = index.predicate ? `WHERE ${index.predicate}` : "";
    const { rows } = await db.query<{ value: string }>(
      `SELECT concat_ws(', ', ${keys.map((k) => `${k}::text`).join(", ")}) AS value FROM ${t.qualifiedName} ${where}
        GROUP BY ${keys.join(", ")} HAVING count(*) > 1 LIMIT ${FAILING_KEYS_SHOWN}`,
    );
    if (rows.length) {
      throw new UniqueAfterConversionError(t.qualifiedName, t.column.name, ctx.facts.to.formatted, index.name, rows.map((r) => `(${r.value})`));
    }
  }
}

/** Row by row, each conversion in its own subtransaction; only runs once a conversion failed. */
async function failingKeys(db: ClientBase, ctx: PlanContext, conv: string, keyText: string, badResult: string): Promise<string[]> {
  const t = ctx.facts.table;
  const order = t.keyColumns.map((k) => ident(k.name)).join(", ");
  await db.query(
    // variables carry a pgshift_ prefix and column names win conflicts: the table's own
    // columns may be called n, key, max ...
    `CREATE FUNCTION pg_temp.pgshift_failing_keys(pgshift_max int) RETURNS SETOF text LANGUAGE plpgsql AS ${dollarQuote(`
     #variable_conflict use_column
     DECLARE pgshift_row record; pgshift_n int := 0; pgshift_bad boolean;
     BEGIN
       FOR pgshift_row IN SELECT ${keyText} AS pgshift_key, ${ident(t.column.name)} FROM ${t.qualifiedName} ORDER BY ${order} LOOP
         BEGIN
           SELECT ${badResult.replaceAll(ident(t.column.name), "pgshift_row." + ident(t.column.name))} INTO pgshift_bad;
         EXCEPTION WHEN OTHERS THEN pgshift_bad := true;
         END;
         IF pgshift_bad THEN pgshift_n := pgshift_n + 1; RETURN NEXT pgshift_row.pgshift_key; EXIT WHEN pgshift_n >= pgshift_max; END IF;
       END LOOP;
     END `)}`,
  );
  const { rows } = await db.query<{ key: string }>(`SELECT k AS key FROM pg_temp.pgshift_failing_keys($1) AS k`, [FAILING_KEYS_SHOWN]);
  return rows.map((r) => `(${r.key})`);
}
