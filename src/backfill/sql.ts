import type { PlanContext } from "../plan/facts";
import { convertFunctionName, dropTriggerSql } from "../sql/functions";
import { ident, literal, qualified } from "../sql/quote";
import { stateTableName } from "../sql/state";

/**
 * A keyset batch is two statements in one transaction. The first finds the batch's end: the
 * `limit`-th key after the checkpoint in keyset order (any key type, composite included), from
 * the key's index, read past with OFFSET rather than collected; only the last batch, which has
 * fewer, counts its rows and takes their largest key (`tail`, read only then). It returns how
 * many keys the batch has and the last of them, as text. (Measured, 1M rows, 435 batches: 0.4 s
 * for every bound, where collecting each batch's keys in a CTE to count and sort them took 1.0 s.)
 *
 * `withPages` (a backfill that makes passes, passesOf): it also returns the pages the batch's
 * rows start and end on, as the tids `(first,0)` and `(last + 1,0)` (from_tid, to_tid; the page
 * of the range's first row and of the batch's last key, one index probe each): where the key
 * follows the pages, the passes before the last read those pages and not the key's index
 * (batchUpdateSql). A one-pass backfill has no use for them and makes neither probe.
 *
 * Parameters: $1..$n the upper bound key, $n+1 the limit, $n+2..$2n+1 the lower bound key
 * (only in the `fromStart = false` variant).
 */
export function batchBoundSql(ctx: PlanContext, fromStart: boolean, withPages: boolean): string {
  const t = ctx.facts.table.qualifiedName;
  const keys = ctx.facts.table.keyColumns;
  const n = keys.length;
  const list = keys.map((k) => ident(k.name)).join(", ");
  const range = keyRange(ctx, "", 1, fromStart ? null : n + 2);
  const limit = `$${n + 1}`;
  const page = `(ctid::text::point)[0]::bigint`;
  const nth = `nth AS (SELECT ${list} FROM ${t} WHERE ${range} ORDER BY ${list} OFFSET ${limit} - 1 LIMIT 1)`;
  // the range's last row, for the last batch: its key and (withPages) its page from one read
  const tail = `tail AS (SELECT ${keyAsText(ctx)} AS last${withPages ? `, ${page} AS page` : ""} FROM ${t} WHERE ${range} ORDER BY ${keysDescending(ctx)} LIMIT 1)`;
  const counted =
    `SELECT CASE WHEN EXISTS (SELECT FROM nth) THEN ${limit}::int ELSE (SELECT count(*) FROM ${t} WHERE ${range})::int END AS scanned, ` +
    `coalesce((SELECT ${keyAsText(ctx)} FROM nth), (SELECT last FROM tail)) AS last`;
  if (!withPages) return `WITH ${nth}, ${tail} ${counted}`;
  const firstPage = `(SELECT ${page} FROM ${t} WHERE ${range} ORDER BY ${list} LIMIT 1)`;
  // the nth key's row by its key (the OFFSET walk stays on the index alone), else the range's last
  const lastPage = `coalesce((SELECT ${page} FROM ${t} WHERE (${list}) = (SELECT ${list} FROM nth)), (SELECT page FROM tail))`;
  // pages is one row (a SELECT of scalar subqueries), so the batch's one row is read from it
  return (
    `WITH ${nth}, ${tail}, pages AS (SELECT ${firstPage} AS a, ${lastPage} AS b) ` +
    `${counted}, format('(%s,0)', least(a, b)) AS from_tid, format('(%s,0)', greatest(a, b) + 1) AS to_tid FROM pages`
  );
}

/**
 * The second statement of a keyset batch: set shadow = convert(column) on the rows of the key
 * range (lower, last] whose shadow differs. A plain range, not a join with the first
 * statement's keys: with real bounds the planner scans just that range of the key's index
 * (measured, 1M rows, production settings: the join ran at 0.6x to 0.7x of one plain UPDATE,
 * the range at 0.98x to 1.02x; a join can also walk the index from the start of the table, each batch costing more
 * than the one before).
 *
 * With `passes`, one of the passes before the batch's last (backfill.passes): only the rows
 * of the range that are the pass's share (sharePredicate), and only
 * on the pages the batch's rows start and end on (batchBoundSql's from_tid and to_tid). With
 * those bounds the planner reads the pages by a TID range scan where the key follows them
 * (the only case that makes passes, passesOf), and walks the key's index as before where the
 * bounds span more of the table (a row of the batch moved far away). Rows of the range off
 * those pages are the last pass's, which reads the whole range. Measured, 1M rows, one session:
 * a pass over a 6,000-row batch whose rows were filled read them in 0.5 to 1.4 ms by the pages,
 * 2.5 to 4 ms by the index; the whole 8-pass backfill took 4.8 to 5.3 s instead of 5.6 to 5.7.
 *
 * Parameters: $1..$n the batch's last key, $n+1..$2n the lower bound key (only in the
 * `fromStart = false` variant), then (only with `passes`) the first and the end tid, and the pass.
 */
export function batchUpdateSql(ctx: PlanContext, fromStart: boolean, passes?: number): string {
  const t = ctx.facts.table;
  const n = t.keyColumns.length;
  const range = keyRange(ctx, "t.", 1, fromStart ? null : n + 1);
  const next = fromStart ? n + 1 : 2 * n + 1;
  return `${updatedCte(ctx, passes ? `${pageRange("t.", next)} AND ${range} AND ${sharePredicate(ctx, "t.", false, passes, next + 2)}` : range)} SELECT count(*)::int AS updated FROM updated`;
}

/** `WITH updated AS (UPDATE .. SET shadow = convert(column) WHERE <where> AND the shadow differs RETURNING 1)`: every batch's and pass's UPDATE. */
function updatedCte(ctx: PlanContext, where: string): string {
  const t = ctx.facts.table;
  const conv = `${convertFunctionName(ctx)}(t.${ident(t.column.name)})`;
  const shadow = ident(ctx.names.shadowColumn);
  return `WITH updated AS (UPDATE ${t.qualifiedName} AS t SET ${shadow} = ${conv} WHERE ${where} AND t.${shadow} IS DISTINCT FROM ${conv} RETURNING 1)`;
}

/**
 * How closely a keyset walk must follow the table's pages for passes to pay (pg_stats.correlation
 * of the key's first column, by absolute value): the passes of a batch find room only on pages
 * the batch holds most rows of, and each pass reads the batch's rows again. Measured, 1,000,000
 * rows keyed by a random uuid (correlation about 0), shared_buffers 16MB: keyset order with 8
 * passes took 29.9 s and read 5.2M blocks, with one pass 12.9 s and 1.7M; on a serial key
 * (correlation 1) 8 passes ran at 0.88x to 1.47x the rows/s of one in the bench's runs.
 */
export const CLUSTERED_CORRELATION = 0.9;

/** A column's pg_stats.correlation ($1 the schema, $2 the table, $3 the column: names as the catalog has them), no row before the table was analyzed. */
export const KEY_CORRELATION_SQL = `SELECT correlation::float8 AS c FROM pg_stats WHERE schemaname = $1 AND tablename = $2 AND attname = $3 ORDER BY inherited LIMIT 1`;

/**
 * The rows a pass before a batch's last updates (backfill.passes): one row in `passes` of
 * every page, spread over the page. Their new versions go to other pages (the page is full), and
 * once the pass commits the next pass's reads prune the old ones: the room they leave takes the
 * next pass's new versions on the same page, as heap-only tuples (HOT), with no index entries.
 * Measured, 1M rows of 72 bytes, one session, production settings: one pass per batch wrote
 * 547 MB of WAL in 10.2-10.5 s (the plain UPDATE: 550-620 MB, 10.2-10.5 s); 8 passes 307 MB in
 * 7.0-7.4 s, 76% of the rows HOT, the table 96 MB instead of 160 and its indexes 81 MB instead
 * of 155.
 *
 * Which rows are a pass's share, two ways (shareOf):
 * - "key": a keyset walk whose key starts with an integer column: that column modulo
 *   `passes`. The walk makes passes only where the key follows the pages (passesOf), so a
 *   page's rows have consecutive keys and each pass gets one in `passes` of them.
 * - "line pointer": any other walk, the physical one included (whose pages hold keys in any
 *   order): the row's line pointer number, the offset in its ctid.
 * The key is much the cheaper test: every pass tests every row of the batch's pages, and the
 * ctid's offset is only read through text (`ctid::text::point`, about 0.35 us a row here).
 * Measured, 1M rows, one session, twice each, side by side: the backfill took 11.3 and 14.3 s
 * with the key's share, 16.3 and 18.3 s with the line pointer's, the same rows HOT.
 */
export type ShareBy = "key" | "line pointer";

/** How the passes of this walk choose their rows (sharePredicate). */
export function shareOf(ctx: PlanContext, physical: boolean): ShareBy {
  return !physical && INTEGER_TYPES.has(ctx.facts.table.keyColumns[0].type) ? "key" : "line pointer";
}

/** Types (format_type's names) the key's share reads by their value modulo the passes. */
const INTEGER_TYPES = new Set(["smallint", "integer", "bigint"]);

/** The pass's share ($param, 1 to passes - 1) of the rows, as shareOf chooses for this walk; the rows whose remainder is 0 are the last pass's. */
function sharePredicate(ctx: PlanContext, alias: string, physical: boolean, passes: number, param: number): string {
  const of = shareOf(ctx, physical) === "key" ? `abs(${alias}${ident(ctx.facts.table.keyColumns[0].name)} % ${passes})` : `(${alias}ctid::text::point)[1]::int % ${passes}`;
  return `${of} = $${param}`;
}

/** `(key) > ($lower..) AND (key) <= ($upper..)`, the lower bound left out when null; `prefix` qualifies the key columns. */
function keyRange(ctx: PlanContext, prefix: string, upper: number, lower: number | null): string {
  const keys = ctx.facts.table.keyColumns;
  const row = `(${keys.map((k) => `${prefix}${ident(k.name)}`).join(", ")})`;
  const params = (first: number) => `(${keys.map((k, i) => `$${first + i}::${k.type}`).join(", ")})`;
  return `${lower === null ? "" : `${row} > ${params(lower)} AND `}${row} <= ${params(upper)}`;
}

/**
 * A sample of the keys in (lower, upper] ($1 the percent of the table's pages to read,
 * TABLESAMPLE SYSTEM: whole pages, chosen at random, so a billion-row table reads about a
 * thousand pages), in keyset order: where a backfill on several workers splits its keys (ranges.ts).
 * Parameters: $2..$n+1 the upper bound key, $n+2..$2n+1 the lower one (not when `fromStart`).
 */
export function sampleKeysSql(ctx: PlanContext, fromStart: boolean): string {
  const t = ctx.facts.table;
  const list = t.keyColumns.map((k) => ident(k.name)).join(", ");
  const range = keyRange(ctx, "", 2, fromStart ? null : t.keyColumns.length + 2);
  return `SELECT ${keyAsText(ctx)} AS key FROM (SELECT ${list} FROM ${t.qualifiedName} TABLESAMPLE SYSTEM ($1) WHERE ${range}) s ORDER BY ${list}`;
}

/** The largest key now; rows inserted later get their shadow from the trigger. */
export function upperKeySql(ctx: PlanContext): string {
  return `SELECT ${keyAsText(ctx)} AS key FROM ${ctx.facts.table.qualifiedName} ORDER BY ${keysDescending(ctx)} LIMIT 1`;
}

/** The key as a JSON array of text, the form the checkpoint keeps (upperKey, lastKey). */
function keyAsText(ctx: PlanContext): string {
  return `json_build_array(${ctx.facts.table.keyColumns.map((k) => `${ident(k.name)}::text`).join(", ")})`;
}

/** ORDER BY the key, largest first. */
function keysDescending(ctx: PlanContext): string {
  return ctx.facts.table.keyColumns.map((k) => `${ident(k.name)} DESC`).join(", ");
}

/**
 * Statements each batch transaction starts with, after its lock_timeout.
 *
 * synchronous_commit = off: a batch's COMMIT does not wait for its WAL to reach disk. A crash
 * of the server can then lose the last few batches, but each batch commits with its
 * checkpoint and WAL is replayed in order, so what is lost is always a batch together with its
 * checkpoint: the backfill redoes it. The batch that finishes commits synchronously (run.ts,
 * procedure.ts): "done" is what the later stages act on. The waits it saves are one flush per batch (with short
 * batches, a large share of the batch), and the application's commits stop queueing behind them.
 *
 * Where the table has its own UPDATE triggers or rules, session_replication_role = replica
 * keeps them from firing for the backfill (pre-flight checked the role may set it), so nothing
 * but the shadow changes.
 */
export function batchSessionSql(ctx: PlanContext): string[] {
  return ["SET LOCAL synchronous_commit = off", ...(ctx.facts.backfillAsReplica ? ["SET LOCAL session_replication_role = replica"] : [])];
}

/**
 * One batch in physical order: every row of the pages [$1, $2) (tids `(p,0)` as text), by a TID
 * range scan (PostgreSQL 14+), each page read once however random the keys are on disk. The
 * count reads the batch's snapshot, so rows the UPDATE moves are counted once.
 */
export function physicalBatchSql(ctx: PlanContext): string {
  return physicalUpdateSql(ctx, pageRange("t."));
}

/**
 * A pass before the last of a physical batch (backfill.passes): the rows of the pages [$1, $2)
 * that are the pass's share ($3, sharePredicate). Its count is the batch's: the first pass's
 * snapshot still has every row of the pages where it was (the later passes' do not have the rows
 * the passes before them moved out).
 */
export function physicalPassSql(ctx: PlanContext, passes: number): string {
  return physicalUpdateSql(ctx, `${pageRange("t.")} AND ${sharePredicate(ctx, "t.", true, passes, 3)}`);
}

function physicalUpdateSql(ctx: PlanContext, where: string): string {
  return `${updatedCte(ctx, where)} SELECT (SELECT count(*) FROM ${ctx.facts.table.qualifiedName} AS s WHERE ${pageRange("s.")})::int AS scanned, (SELECT count(*) FROM updated)::int AS updated`;
}

/** `ctid >= $first::tid AND ctid < $(first + 1)::tid`: the pages of a batch, from `(from,0)` up to `(to,0)`. */
function pageRange(alias: string, first = 1): string {
  return `${alias}ctid >= $${first}::tid AND ${alias}ctid < $${first + 1}::tid`;
}

/**
 * The VACUUM that bounds the backfill's bloat (backfill.vacuumEveryRows, vacuumCadence.ts): the
 * client runner's between batches, the database runner's job's beside it. A plain one: with
 * INDEX_CLEANUP OFF (prune the heap, leave the indexes' entries for autovacuum) each VACUUM of a
 * 3,000,000-row backfill took 0.1 to 1.3 s instead of 0.6 to 2.2 s, but the index entries it
 * left made the batches and the application's index scans slower (pgbench's p99 66-87 ms
 * against 27-32 ms, measured side by side twice).
 */
export function vacuumSql(ctx: PlanContext): string {
  return `VACUUM ${ctx.facts.table.qualifiedName}`;
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
 * The write the maxCommitLatencyMs throttle commits synchronously and times: the migration's
 * state row set to itself, a change of nothing that still writes WAL (a commit with no WAL
 * does not wait for the disk) and that no one else waits on (the batches take the row only
 * for their last statement and commit). Both runners run it between batches, at most once a
 * second, in its own transaction with synchronous_commit on.
 */
export function commitProbeSql(stateSchema: string, id: string): string {
  return `UPDATE ${stateTableName(stateSchema)} SET backfill = backfill WHERE id = ${literal(id)}`;
}

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

/** What `pulumi preview` shows for the Backfill child: its statements, and the VACUUM that runs between its batches (backfill.vacuumEveryRows). */
export function backfillStatements(ctx: PlanContext, order: "keyset" | "physical" = "keyset"): string[] {
  const vacuum = ctx.spec.backfill.vacuumEveryRows !== 0 ? [vacuumSql(ctx)] : [];
  // the passes before the last (backfill.passes), each in its own transaction before the batch's last
  const passes = ctx.spec.backfill.passes;
  if (order === "physical") return [...coverTriggerSql(ctx), pageCountSql(ctx), ...batchSessionSql(ctx), ...(passes > 1 ? [physicalPassSql(ctx, passes)] : []), physicalBatchSql(ctx), ...vacuum];
  // with workers the keys are split at a sample's quantiles first (the pages of a physical backfill by arithmetic)
  const split = ctx.spec.backfill.workers > 1 ? [sampleKeysSql(ctx, true)] : [];
  // in keyset order the passes are made only where the key follows the pages (passesOf): the preview says so once, in the statement
  const passNote = `/* passes 1 to ${passes - 1} of each batch, where the key's order on disk follows the key (pg_stats.correlation of its first column at least ${CLUSTERED_CORRELATION}; otherwise one pass) */ `;
  const batch = (fromStart: boolean) => [batchBoundSql(ctx, fromStart, passes > 1), ...(passes > 1 ? [(fromStart ? passNote : "") + batchUpdateSql(ctx, fromStart, passes)] : []), batchUpdateSql(ctx, fromStart)];
  return [upperKeySql(ctx), ...split, ...batchSessionSql(ctx), ...batch(true), ...batch(false), ...vacuum];
}
