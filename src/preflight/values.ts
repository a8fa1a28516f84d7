import type { ClientBase } from "pg";
import { castAlwaysSucceeds, roundTripProvable } from "../conversion";
import { ConversionFailedError, InvalidSpecError, LossyConversionError, ReverseConversionError, UniqueAfterConversionError, VolatileConversionError } from "../errors";
import type { PlanContext } from "../plan/facts";
import { conversionExpression, convertFunctionSql, reverseConvertFunctionSql } from "../sql/functions";
import { dollarQuote } from "../sql/dollarQuote";
import { ident, keyAsText } from "../sql/quote";

/**
 * Pre-flight's checks of the existing values: every one converts (with the very function the
 * trigger and the backfill use), none is lost on the way back, none collides under a unique
 * index, and the conversion calls nothing volatile. Read-only: every probe runs in a
 * transaction that is rolled back.
 */

/** How many failing keys a conversion error names. */
const FAILING_KEYS_SHOWN = 5;

/**
 * Converts every existing value with the same function the trigger and the backfill will use.
 * The default cast of a widening (int -> bigint) cannot fail and is not scanned. On failure a
 * row-by-row pass names the first failing keys.
 */
export async function checkValues(db: ClientBase, ctx: PlanContext): Promise<void> {
  const t = ctx.facts.table;
  const mustScan = ctx.spec.using !== undefined || !castAlwaysSucceeds(ctx.facts.from, ctx.facts.to) || t.column.notNull;
  const conv = "pg_temp.pgshift_probe_conv";
  const rconv = "pg_temp.pgshift_probe_rconv";
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
    await db.query("SAVEPOINT reverse");
    try {
      // the reverse trigger needs it from cutover on: a mistake must show now, not then
      await db.query(reverseConvertFunctionSql(ctx, rconv));
    } catch (err) {
      await db.query("ROLLBACK TO SAVEPOINT reverse");
      throw new ReverseConversionError(ctx.facts.from.formatted, ctx.facts.to.formatted, err instanceof Error ? err.message : String(err), ctx.spec.reverseUsing);
    }
    await refuseVolatile(db, ctx);
    if (mustScan) {
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
    }
    const provable = ctx.spec.using === undefined && ctx.spec.reverseUsing === undefined && roundTripProvable(ctx.facts.from, ctx.facts.to);
    if (!ctx.spec.allowNarrowing && !provable) await checkRoundTrip(db, ctx, conv, rconv, keyText);
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
  }
}

/**
 * A conversion that calls a VOLATILE function (random(), clock_timestamp(), nextval(...),
 * gen_random_uuid()) gives another value each time: the cutover's check that the shadow equals
 * a re-conversion could never pass. The functions an expression calls are read from its parse
 * tree, not from its text: a temporary view over the expression (in the probe transaction,
 * rolled back) stores the tree in pg_rewrite.ev_action, where every call is a FUNCEXPR
 * `:funcid`, an operator an OPEXPR `:opno` (its function: pg_operator.oprcode), an aggregate
 * `:aggfnoid`, a window function `:winfnoid`. The regex runs over that serialized tree, in
 * which string literals appear only as byte arrays (`:constvalue 12 [ 48 0 ... ]`) and comments
 * not at all, so neither can be mistaken for a call. (pg_depend cannot be used: it records no
 * dependency on built-in, pinned functions such as random().)
 */
async function refuseVolatile(db: ClientBase, ctx: PlanContext): Promise<void> {
  const col = ident(ctx.facts.table.column.name);
  const directions = [
    { field: "using", direction: "forward", type: ctx.facts.from.formatted, given: ctx.spec.using },
    { field: "reverseUsing", direction: "reverse", type: ctx.facts.to.formatted, given: ctx.spec.reverseUsing },
  ] as const;
  for (const d of directions) {
    if (d.given === undefined) continue;
    const view = `pgshift_probe_${d.direction}_calls`;
    await db.query(`CREATE TEMP VIEW ${view} AS SELECT ${conversionExpression(ctx, d.direction)} AS v FROM (SELECT NULL::${d.type} AS ${col}) AS pgshift_probe`);
    const { rows } = await db.query<{ fn: string }>(
      `WITH refs AS (
         SELECT m[1] AS kind, m[2]::oid AS oid
           FROM pg_rewrite r, regexp_matches(r.ev_action::text, ':(funcid|opfuncid|aggfnoid|winfnoid|opno) (\\d+)', 'g') AS m
          WHERE r.ev_class = ('pg_temp.' || $1)::regclass
       )
       SELECT DISTINCT p.oid::regprocedure::text AS fn
         FROM refs
         LEFT JOIN pg_operator o ON refs.kind = 'opno' AND o.oid = refs.oid
         JOIN pg_proc p ON p.oid = CASE WHEN refs.kind = 'opno' THEN o.oprcode ELSE refs.oid END
        WHERE p.provolatile = 'v'
        ORDER BY 1`,
      [view],
    );
    if (rows.length) throw new VolatileConversionError(d.field, rows.map((r) => r.fn));
  }
}

/**
 * Without allowNarrowing a change must lose nothing: every value must come back unchanged
 * through the conversion and the reverse conversion the reverse trigger will use (old -> new
 * -> old). Compared by text form, so types without an equality operator work too. One scan;
 * when a conversion raises, a row-by-row pass finds the rows (a raising row counts as lost).
 */
async function checkRoundTrip(db: ClientBase, ctx: PlanContext, conv: string, rconv: string, keyText: string): Promise<void> {
  const t = ctx.facts.table;
  const col = ident(t.column.name);
  const back = `${rconv}(${conv}(${col}))::text`;
  const order = t.keyColumns.map((k) => ident(k.name)).join(", ");
  let rows: { key: string; value: string | null; back: string | null; error?: string | null }[];
  await db.query("SAVEPOINT round_trip");
  try {
    ({ rows } = await db.query(
      `SELECT ${keyText} AS key, ${col}::text AS value, ${back} AS back FROM ${t.qualifiedName}
        WHERE ${back} IS DISTINCT FROM ${col}::text ORDER BY ${order} LIMIT ${FAILING_KEYS_SHOWN}`,
    ));
  } catch {
    await db.query("ROLLBACK TO SAVEPOINT round_trip");
    await db.query(
      `CREATE FUNCTION pg_temp.pgshift_round_trip(pgshift_max int) RETURNS SETOF text[] LANGUAGE plpgsql AS $f$
       #variable_conflict use_column
       DECLARE pgshift_row record; pgshift_n int := 0; pgshift_back text; pgshift_error text;
       BEGIN
         FOR pgshift_row IN SELECT ${keyText} AS pgshift_key, ${col} FROM ${t.qualifiedName} ORDER BY ${order} LOOP
           pgshift_error := NULL;
           BEGIN
             pgshift_back := ${rconv}(${conv}(pgshift_row.${col}))::text;
             CONTINUE WHEN pgshift_back IS NOT DISTINCT FROM pgshift_row.${col}::text;
           EXCEPTION WHEN OTHERS THEN pgshift_back := NULL; pgshift_error := SQLERRM;
           END;
           pgshift_n := pgshift_n + 1;
           RETURN NEXT ARRAY[pgshift_row.pgshift_key, pgshift_row.${col}::text, pgshift_back, pgshift_error];
           EXIT WHEN pgshift_n >= pgshift_max;
         END LOOP;
       END $f$`,
    );
    const { rows: raw } = await db.query<{ r: (string | null)[] }>(`SELECT r FROM pg_temp.pgshift_round_trip($1) AS r`, [FAILING_KEYS_SHOWN]);
    rows = raw.map(({ r }) => ({ key: r[0] ?? "", value: r[1], back: r[2], error: r[3] }));
  }
  if (rows.length === 0) return;
  const first = rows[0];

  throw new LossyConversionError(
    t.qualifiedName,
    t.column.name,
    ctx.facts.from.formatted,
    ctx.facts.to.formatted,
    rows.map((r) => `(${r.key})`),
    { value: first.value ?? "NULL", back: first.error ? `an error: ${first.error}` : first.back === null ? "NULL" : JSON.stringify(first.back) },
  );
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
