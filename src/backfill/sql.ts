import type { PlanContext } from "../plan/facts";
import { convertFunctionName, dropTriggerSql } from "../sql/functions";
import { ident, literal, qualified } from "../sql/quote";

/**
 * The backfill's statements. One batch = one statement in one transaction: pick the next
 * `limit` keys after the checkpoint (keyset order over the table's key, any key type, composite
 * included), set shadow = convert(column) on those whose shadow differs, and return the
 * batch's last key as text for the checkpoint.
 *
 * Parameters: $1..$n the upper bound key, $n+1 the limit, $n+2..$2n+1 the lower bound key
 * (only in the `fromStart = false` variant).
 */
export function batchSql(ctx: PlanContext, fromStart: boolean): string {
  const t = ctx.facts.table;
  const keys = t.keyColumns;
  const n = keys.length;
  const list = keys.map((k) => ident(k.name)).join(", ");
  const row = (prefix: string) => `(${keys.map((k) => `${prefix}${ident(k.name)}`).join(", ")})`;
  const params = (first: number) => `(${keys.map((k, i) => `$${first + i}::${k.type}`).join(", ")})`;
  const conv = `${convertFunctionName(ctx)}(t.${ident(t.column.name)})`;
  const shadow = ident(ctx.names.shadowColumn);
  const range = (prefix: string) => `${fromStart ? "" : `${row(prefix)} > ${params(n + 2)} AND `}${row(prefix)} <= ${params(1)}`;
  // the key range is repeated on the UPDATE side: with it only in the CTE, the planner may
  // join through a key scan from the start of the table, so each batch cost more than the
  // one before (measured: 845,001 index rows read for a 50,000-row batch at key 900,000)
  return (
    `WITH batch AS MATERIALIZED (SELECT ${list} FROM ${t.qualifiedName} WHERE ${range("")} ORDER BY ${list} LIMIT $${n + 1}), ` +
    `updated AS (UPDATE ${t.qualifiedName} AS t SET ${shadow} = ${conv} FROM batch WHERE ${row("t.")} = ${row("batch.")} ` +
    `AND ${range("t.")} AND t.${shadow} IS DISTINCT FROM ${conv} RETURNING 1) ` +
    `SELECT (SELECT count(*) FROM batch)::int AS scanned, (SELECT count(*) FROM updated)::int AS updated, ` +
    `(SELECT json_build_array(${keys.map((k) => `${ident(k.name)}::text`).join(", ")}) FROM batch ORDER BY ${keys.map((k) => `${ident(k.name)} DESC`).join(", ")} LIMIT 1) AS last`
  );
}

/** The largest key now; rows inserted later get their shadow from the trigger. */
export function upperKeySql(ctx: PlanContext): string {
  const t = ctx.facts.table;
  const keys = t.keyColumns;
  return (
    `SELECT json_build_array(${keys.map((k) => `${ident(k.name)}::text`).join(", ")}) AS key FROM ${t.qualifiedName} ` +
    `ORDER BY ${keys.map((k) => `${ident(k.name)} DESC`).join(", ")} LIMIT 1`
  );
}

/**
 * Statements each batch transaction starts with, after its lock_timeout: where the table has
 * its own UPDATE triggers or rules, session_replication_role = replica keeps them from firing
 * for the backfill (pre-flight checked the role may set it), so nothing but the shadow changes.
 */
export function batchSessionSql(ctx: PlanContext): string[] {
  return ctx.facts.backfillAsReplica ? ["SET LOCAL session_replication_role = replica"] : [];
}

/**
 * One batch in physical order: every row of the pages [$1, $2) (tids `(p,0)` as text), by a TID
 * range scan (PostgreSQL 14+), each page read once however random the keys are on disk. The
 * count reads the batch's snapshot, so rows the UPDATE moves are counted once.
 */
export function physicalBatchSql(ctx: PlanContext): string {
  const t = ctx.facts.table;
  const conv = `${convertFunctionName(ctx)}(t.${ident(t.column.name)})`;
  const shadow = ident(ctx.names.shadowColumn);
  const range = (alias: string) => `${alias}ctid >= $1::tid AND ${alias}ctid < $2::tid`;
  return (
    `WITH updated AS (UPDATE ${t.qualifiedName} AS t SET ${shadow} = ${conv} WHERE ${range("t.")} AND t.${shadow} IS DISTINCT FROM ${conv} RETURNING 1) ` +
    `SELECT (SELECT count(*) FROM ${t.qualifiedName} AS s WHERE ${range("s.")})::int AS scanned, (SELECT count(*) FROM updated)::int AS updated`
  );
}

/** The table's pages now: a physical-order backfill scans these; later pages hold only rows the triggers filled. */
export function pageCountSql(ctx: PlanContext): string {
  return `SELECT (pg_relation_size(${literal(ctx.facts.table.qualifiedName)}::regclass) / current_setting('block_size')::int)::bigint AS pages`;
}

/** The table's size on disk, bytes (heap, TOAST, free space and visibility maps; not its indexes). */
export function tableBytesSql(ctx: PlanContext): string {
  return `SELECT pg_table_size(${literal(ctx.facts.table.qualifiedName)}::regclass)::bigint AS bytes`;
}

/**
 * Replicas' replay lag and the oldest other transaction's age, ms (the throttles' inputs): the
 * same query for the client runner and the in-database procedure.
 */
export const DATABASE_LOAD_SQL =
  `SELECT coalesce((SELECT (max(extract(epoch FROM replay_lag)) * 1000)::float8 FROM pg_stat_replication), 0) AS lag, ` +
  `coalesce((SELECT (extract(epoch FROM now() - min(xact_start)) * 1000)::float8 FROM pg_stat_activity ` +
  `WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL AND backend_type = 'client backend'), 0) AS age`;

/**
 * The cover trigger of a physical-order backfill: an application UPDATE of any column can move
 * a row to a page the scan has passed, carrying a shadow that was never filled; this fills it.
 * The backfill's own UPDATEs set the shadow to the converted value, so its WHEN is false for them.
 */
export function coverTriggerSql(ctx: PlanContext): string[] {
  const t = ctx.facts.table.qualifiedName;
  const col = ident(ctx.facts.table.column.name);
  const shadow = ident(ctx.names.shadowColumn);
  return [
    dropTriggerSql(ctx, ctx.names.coverTrigger),
    `CREATE TRIGGER ${ident(ctx.names.coverTrigger)} BEFORE UPDATE ON ${t} FOR EACH ROW ` +
      `WHEN (NEW.${shadow} IS DISTINCT FROM ${convertFunctionName(ctx)}(NEW.${col})) ` +
      `EXECUTE FUNCTION ${qualified(ctx.facts.table.schema, ctx.names.forwardTriggerFunction)}()`,
  ];
}

/** What `pulumi preview` shows for the Backfill child. */
export function backfillStatements(ctx: PlanContext, order: "keyset" | "physical" = "keyset"): string[] {
  if (order === "physical") return [...coverTriggerSql(ctx), pageCountSql(ctx), ...batchSessionSql(ctx), physicalBatchSql(ctx)];
  return [upperKeySql(ctx), ...batchSessionSql(ctx), batchSql(ctx, true), batchSql(ctx, false)];
}
