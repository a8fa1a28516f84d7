import { InvalidSpecError } from "./errors";
import { parseQualifiedName, parseSchemaName } from "./identifiers";
import { expressionProblem } from "./sql/scan";
import { typeNameProblem } from "./sql/typeName";

/** The three stages of a column type change; see README "Stages". */
export const STAGES = ["expand", "cutover", "contract"] as const;
export type Stage = (typeof STAGES)[number];

export function stageIndex(stage: Stage): number {
  return STAGES.indexOf(stage);
}

export interface BackfillOptions {
  /** Rows per batch to start with (each batch is one transaction). Default 5000. */
  batchSize?: number;
  /** Upper bound for the adaptive batch size. Default 50000. */
  maxBatchSize?: number;
  /** Pause between batches, in ms, to leave room for application traffic. Default 0. */
  pauseMs?: number;
  /** The batch size adapts so one batch takes about this long, in ms (also about the longest an application write to a row of the current batch waits). Default 50. */
  targetBatchMs?: number;
  /** Pause while any replica lags more than this, in ms. Default 10000; 0 disables the check. */
  maxReplicationLagMs?: number;
  /**
   * Pause while another transaction has been open longer than this, in ms (it holds back
   * VACUUM, so every batch would add bloat that cannot be cleaned). Default 0: off.
   */
  maxTransactionAgeMs?: number;
  /**
   * Pause while a synchronous commit takes longer than this, in ms: once a second the backfill
   * commits a one-row write (to its state row) as an application would and times it. A slow
   * commit means the disk is behind (the batches' WAL, and the pages they dirty that the
   * checkpointer and the kernel write back), and every application commit waits as long; the
   * backfill then pauses 4x that time (250 ms to 5 s) so the disk can catch up. Default 50; 0 disables the check.
   */
  maxCommitLatencyMs?: number;
  /**
   * Time budget of the backfill per `pulumi up`, in ms. When it runs out, the batch in flight
   * finishes (it commits with its checkpoint), the backfill stops and the up succeeds with the
   * backfill in progress: the index copies wait, a cutover is refused, and the next `pulumi up`
   * continues from the checkpoint. Every run does at least one batch. Default: none.
   */
  maxDurationMs?: number;
  /**
   * Where the batches run. "client" (default): inside `pulumi up`. "database": a pg_cron job
   * calling a pgshift procedure that commits once per batch; `pulumi up` schedules it and
   * returns, and the server runs it to the end (refused when pg_cron is not usable). "auto":
   * "database" where pg_cron is usable, else "client" with a warning at preview.
   */
  runner?: BackfillRunner;
  /**
   * Batch order. "keyset": by the table's key. "physical": by page (TID range scans), which
   * reads each page once where keys are random on disk (uuid). "auto" (default): physical for
   * a table whose key is one uuid column, keyset otherwise.
   */
  order?: BackfillOrder;
  /**
   * Bounds the bloat: the client runner runs `VACUUM` on the table after every this many
   * updated rows; the database runner (a procedure cannot VACUUM, and autovacuum does not see
   * the dead rows of a CALL still running) schedules a VACUUM job beside its own, at the
   * interval in which it updates about this many rows (every minute to every hour). "auto"
   * (default): a tenth of the table's estimated rows, at least 1000000, so a backfill VACUUMs
   * about ten times whatever the table's size (each VACUUM reads the table's indexes whole);
   * 0 disables both.
   */
  vacuumEveryRows?: VacuumEveryRows;
  /**
   * Batches the client runner runs at once, each worker on its own connection and its own part
   * of the keys (of the pages, in physical order), split at the start from a sample of the keys
   * left: the backfill then uses more than one of the server's cores. Each worker's batches
   * lock only their own rows for about targetBatchMs, as one worker's do; the throttles, the
   * time budget and the VACUUMs are shared. Default 1: with backfill.passes one batch at a
   * time runs at about one plain UPDATE's rows/s, and a second worker's share of the server's cores
   * and disk is the application's latency (README "Workers"). (The database runner runs one
   * batch at a time.)
   */
  workers?: number;
  /**
   * Passes each batch makes over its rows, each pass its own transaction. Every pass but the
   * last updates one row in `passes` of each page (by its line pointer's number), which moves
   * those rows to other pages; once that pass has committed, its old versions are pruned and
   * the next pass's rows fit on their own page: PostgreSQL updates them in place (heap-only
   * tuples, HOT), with no new entry in any index. The last pass updates every row of the batch
   * still left. Less WAL, a smaller table and indexes, and faster. 1: one pass, which moves
   * every row to another page and adds it to every index. Default 8.
   */
  passes?: number;
}

export type BackfillRunner = "client" | "database" | "auto";
export type BackfillOrder = "keyset" | "physical" | "auto";
/** Updated rows between two VACUUMs of a backfill, or "auto" (src/backfill/vacuumCadence.ts). */
export type VacuumEveryRows = number | "auto";

/** The backfill options after validation: every default filled in; no time budget unless given. */
export type BackfillSettings = Required<Omit<BackfillOptions, "maxDurationMs">> & Pick<BackfillOptions, "maxDurationMs">;

export interface LockPolicy {
  /** lock_timeout for the first attempt of a statement that takes a strong lock, ms. */
  lockTimeoutMs: number;
  /** Attempts before giving up; the timeout doubles each attempt up to maxLockTimeoutMs. */
  lockRetries: number;
  /** Ceiling for the escalating lock_timeout, ms. */
  maxLockTimeoutMs: number;
}

/** What a change is: the same as written and after validation. */
interface ChangeTarget {
  /** As written by the user: `name`, `schema.name`, or quoted parts. */
  table: string;
  column: string;
  toType: string;
  stage: Stage;
  /** SQL expression over the old column (by its name) giving the new value. Default: a cast. */
  using?: string;
  /** SQL expression over the new column (by its name) giving the old type's value. Default: a cast. */
  reverseUsing?: string;
}

/**
 * What happens to the columns whose foreign keys reference the changed column (transitively):
 * "change" (the default) changes each of them too, as one family (src/plan/family.ts); "keep"
 * leaves their types, which pre-flight allows only where every foreign key stays valid.
 */
export const REFERENCING_COLUMNS = ["change", "keep"] as const;
export type ReferencingColumns = (typeof REFERENCING_COLUMNS)[number];

/** What a user writes: the arguments of ColumnTypeChange, as plain values. */
export interface ColumnChangeInput extends ChangeTarget {
  allowNarrowing?: boolean;
  referencingColumns?: ReferencingColumns;
  backfill?: BackfillOptions;
  lockTimeoutMs?: number;
  lockRetries?: number;
  maxLockTimeoutMs?: number;
  stateSchema?: string;
}

/** A validated change, every default filled in. Serializable (it is a resource input). */
export interface ColumnChangeSpec extends ChangeTarget {
  allowNarrowing: boolean;
  /** Only "keep" is written: a spec without it (every spec from before families) changes the family. */
  referencingColumns?: "keep";
  backfill: BackfillSettings;
  lock: LockPolicy;
  /** Schema of the state table; default: the table's own schema. */
  stateSchema?: string;
}

/**
 * The spec without its stage: what the child resources get. The stage decides which children
 * exist; keeping it out of their inputs means promoting a stage does not touch the others.
 */
export type MigrationSpec = Omit<ColumnChangeSpec, "stage">;

export function withoutStage(spec: ColumnChangeSpec): MigrationSpec {
  const { stage: _stage, ...rest } = spec;
  return rest;
}

export const DEFAULT_BACKFILL: BackfillSettings = {
  batchSize: 5000,
  maxBatchSize: 50000,
  pauseMs: 0,
  targetBatchMs: 50,
  maxReplicationLagMs: 10000,
  maxTransactionAgeMs: 0,
  maxCommitLatencyMs: 50,
  runner: "client",
  order: "auto",
  vacuumEveryRows: "auto",
  workers: 1,
  passes: 8,
};

export const DEFAULT_LOCK_POLICY: LockPolicy = { lockTimeoutMs: 100, lockRetries: 10, maxLockTimeoutMs: 5000 };

function fail(message: string): never {
  throw new InvalidSpecError(message);
}

/**
 * A user's value as they wrote it, for "(got ...)" in messages: JSON for strings and objects,
 * but NaN, Infinity, -Infinity (which JSON turns into null), bigints, undefined and functions
 * as JavaScript prints them.
 */
export function got(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // a cycle
  }
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") fail(`${field} must be a non-empty string (got ${got(value)})`);
  return value.trim();
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  return requireString(value, field);
}

/**
 * Upper bounds of the numeric options. A value past them is a typo or a unit mistake, and
 * would otherwise fail only at `pulumi up`, halfway through (or worse):
 * - MAX_MS = 2^31 - 1 ms (about 24.8 days) for every duration: the largest lock_timeout
 *   PostgreSQL accepts, and the largest delay Node's setTimeout honours (a larger one fires
 *   after 1 ms), which the pauses use.
 * - MAX_BATCH_ROWS = 10,000,000 rows: a batch is one transaction that holds row locks on
 *   every row it updates; ten million rows is already minutes of locks and WAL in one
 *   transaction, far past what the adaptive batch size needs, and keeps the LIMIT and the
 *   batch arithmetic exact (bigint, and safe JavaScript integers).
 * - MAX_LOCK_RETRIES = 1000 attempts: the retry schedule holds one entry per attempt; with the
 *   pause between attempts capped at about 2 s, 1000 attempts is already more than half an
 *   hour of retrying a lock that something holds for good.
 * - MAX_WORKERS = 16 backfill workers: each is a connection and a backend busy with batches;
 *   a server's cores, not its connection limit, bound what more of them buys.
 * - MAX_PASSES = 32 passes a batch: each pass reads all the batch's rows again; past a few the
 *   first pass's share of a page is too small to make room for the next pass's rows.
 */
export const MAX_MS = 2_147_483_647;
export const MAX_BATCH_ROWS = 10_000_000;
export const MAX_LOCK_RETRIES = 1000;
export const MAX_WORKERS = 16;
export const MAX_PASSES = 32;
/** Upper bound of a row count that is not one batch (backfill.vacuumEveryRows): 2^53 - 1, exact in JavaScript. */
export const MAX_ROWS = Number.MAX_SAFE_INTEGER;

/** An integer in [1, max] ([0, max] with allowZero), or the fallback when not given. */
function boundedInt(value: unknown, field: string, fallback: number, max: number, allowZero = false): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    fail(`${field} must be a ${allowZero ? "non-negative" : "positive"} integer (got ${got(value)})`);
  }
  if (value > max) fail(`${field} must be at most ${max} (got ${got(value)})`);
  return value;
}

/** backfill.vacuumEveryRows: a count of rows in [0, MAX_ROWS] or "auto" (the default). */
function vacuumEveryRows(value: unknown): VacuumEveryRows {
  if (value === undefined || value === null || value === "auto") return DEFAULT_BACKFILL.vacuumEveryRows;
  if (typeof value !== "number") fail(`backfill.vacuumEveryRows must be a non-negative integer or "auto" (got ${got(value)})`);
  return boundedInt(value, "backfill.vacuumEveryRows", 0, MAX_ROWS, true);
}

/** One of `allowed`, or the fallback when not given. */
function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) fail(`${field} must be one of ${allowed.map((a) => `"${a}"`).join(", ")} (got ${got(value)})`);
  return value as T;
}

/** Validates user input and fills defaults. Throws InvalidSpecError with an exact message. */
export function parseSpec(input: ColumnChangeInput): ColumnChangeSpec {
  if (typeof input !== "object" || input === null) fail("arguments must be an object");
  const table = requireString(input.table, "table");
  parseQualifiedName(table);
  const column = requireString(input.column, "column");
  const toType = requireString(input.toType, "toType");
  const typeProblem = typeNameProblem(toType);
  if (typeProblem?.kind === "trailing") {
    fail(
      `toType ${JSON.stringify(toType)} takes a type only: ${JSON.stringify(typeProblem.rest)} after ${JSON.stringify(typeProblem.type)} is not part of a type name ` +
        `(constraints, defaults and collations cannot be changed through toType)`,
    );
  }
  if (typeProblem) {
    fail(`toType ${JSON.stringify(toType)} is not a type name (expected e.g. "bigint", "varchar(64)", "numeric(20,2)", "timestamp(3) with time zone", "app.my_enum")`);
  }
  const stage = input.stage;
  if (!STAGES.includes(stage as Stage)) fail(`stage must be one of ${STAGES.map((s) => `"${s}"`).join(", ")} (got ${got(stage)})`);
  const b = input.backfill ?? {};
  if (typeof b !== "object" || b === null) fail("backfill must be an object");
  // the budget is left out when not given (not null): specs written before it existed stay equal
  const maxDurationMs = b.maxDurationMs === undefined || b.maxDurationMs === null ? undefined : boundedInt(b.maxDurationMs, "backfill.maxDurationMs", 0, MAX_MS);
  const backfill: BackfillSettings = {
    batchSize: boundedInt(b.batchSize, "backfill.batchSize", DEFAULT_BACKFILL.batchSize, MAX_BATCH_ROWS),
    maxBatchSize: boundedInt(b.maxBatchSize, "backfill.maxBatchSize", DEFAULT_BACKFILL.maxBatchSize, MAX_BATCH_ROWS),
    pauseMs: boundedInt(b.pauseMs, "backfill.pauseMs", DEFAULT_BACKFILL.pauseMs, MAX_MS, true),
    targetBatchMs: boundedInt(b.targetBatchMs, "backfill.targetBatchMs", DEFAULT_BACKFILL.targetBatchMs, MAX_MS),
    maxReplicationLagMs: boundedInt(b.maxReplicationLagMs, "backfill.maxReplicationLagMs", DEFAULT_BACKFILL.maxReplicationLagMs, MAX_MS, true),
    maxTransactionAgeMs: boundedInt(b.maxTransactionAgeMs, "backfill.maxTransactionAgeMs", DEFAULT_BACKFILL.maxTransactionAgeMs, MAX_MS, true),
    maxCommitLatencyMs: boundedInt(b.maxCommitLatencyMs, "backfill.maxCommitLatencyMs", DEFAULT_BACKFILL.maxCommitLatencyMs, MAX_MS, true),
    runner: oneOf(b.runner, "backfill.runner", ["client", "database", "auto"], DEFAULT_BACKFILL.runner),
    order: oneOf(b.order, "backfill.order", ["keyset", "physical", "auto"], DEFAULT_BACKFILL.order),
    vacuumEveryRows: vacuumEveryRows(b.vacuumEveryRows),
    workers: boundedInt(b.workers, "backfill.workers", DEFAULT_BACKFILL.workers, MAX_WORKERS),
    passes: boundedInt(b.passes, "backfill.passes", DEFAULT_BACKFILL.passes, MAX_PASSES),
    ...(maxDurationMs === undefined ? {} : { maxDurationMs }),
  };
  if (backfill.maxBatchSize < backfill.batchSize) fail(`backfill.maxBatchSize (${backfill.maxBatchSize}) must be >= backfill.batchSize (${backfill.batchSize})`);
  const lock: LockPolicy = {
    lockTimeoutMs: boundedInt(input.lockTimeoutMs, "lockTimeoutMs", DEFAULT_LOCK_POLICY.lockTimeoutMs, MAX_MS),
    lockRetries: boundedInt(input.lockRetries, "lockRetries", DEFAULT_LOCK_POLICY.lockRetries, MAX_LOCK_RETRIES),
    maxLockTimeoutMs: boundedInt(input.maxLockTimeoutMs, "maxLockTimeoutMs", DEFAULT_LOCK_POLICY.maxLockTimeoutMs, MAX_MS),
  };
  if (lock.maxLockTimeoutMs < lock.lockTimeoutMs) fail(`maxLockTimeoutMs (${lock.maxLockTimeoutMs}) must be >= lockTimeoutMs (${lock.lockTimeoutMs})`);
  const using = optionalString(input.using, "using");
  const reverseUsing = optionalString(input.reverseUsing, "reverseUsing");
  for (const [field, expr] of [["using", using], ["reverseUsing", reverseUsing]] as const) {
    const problem = expr === undefined ? null : expressionProblem(expr);
    if (problem?.kind === "semicolon") fail(`${field} must be a single SQL expression (no ";")`);
    if (problem?.kind === "unbalanced") fail(`${field} must be a single SQL expression (its parentheses do not balance)`);
    if (problem?.kind === "unterminated") fail(`${field} has an unterminated ${problem.what}`);
  }
  if (input.allowNarrowing !== undefined && typeof input.allowNarrowing !== "boolean") fail("allowNarrowing must be a boolean");
  const referencing = input.referencingColumns ?? "change";
  if (!REFERENCING_COLUMNS.includes(referencing)) {
    fail(`referencingColumns must be one of ${REFERENCING_COLUMNS.map((r) => `"${r}"`).join(", ")} (got ${got(input.referencingColumns)})`);
  }
  // kept as written (like table); resolveStateSchema reads it where the state table is used
  const stateSchema = input.stateSchema ? requireString(input.stateSchema, "stateSchema") : undefined;
  if (stateSchema) parseSchemaName(stateSchema);
  return {
    table,
    column,
    toType,
    stage: stage as Stage,
    ...(using ? { using } : {}),
    ...(reverseUsing ? { reverseUsing } : {}),
    allowNarrowing: input.allowNarrowing ?? false,
    ...(referencing === "keep" ? { referencingColumns: "keep" as const } : {}),
    backfill,
    lock,
    ...(stateSchema ? { stateSchema } : {}),
  };
}
