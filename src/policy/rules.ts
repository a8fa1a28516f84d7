/**
 * The pure rules of pgshift's policy pack (policy/index.ts wires them to @pulumi/policy).
 *
 * A policy never sees a ColumnTypeChange's arguments: the engine registers a local component
 * with empty properties. It sees the child resources' inputs, so the component gives every
 * child `observed` (what it read from the state row and the catalog when it planned this
 * update) and the Contract child `cutoverAt` (the Cutover child's output). Every rule here
 * works on those inputs alone, so it can run before the step it judges: resource policies run
 * when a resource is registered, in `pulumi preview` and before `pulumi up` acts on it.
 */
import { CHILDREN, type ChildKind } from "../children";
import { qualified } from "../sql/quote";
import { STAGES, stageIndex, type BackfillSettings, type LockPolicy, type MigrationSpec, type Stage } from "../spec";

/** What the program read when it planned this update: a child input that neither diff nor the handlers use. */
export interface Observed {
  /** The table the migration resolved to. */
  table: { schema: string; name: string };
  /** The stage recorded in the state row before this update, or null before expand first ran. */
  recordedStage: Stage | null;
  /** pg_table_size of the table (heap and TOAST, no indexes), in bytes. */
  tableBytes: number;
}

/** A child resource as a policy sees it: its kind (from its Pulumi type) and the inputs the rules read. */
export interface ChildView {
  kind: ChildKind;
  spec: MigrationSpec;
  observed?: Observed;
  /** The Contract child only: when the Cutover child's swap committed (ISO 8601), or null when not recorded. */
  cutoverAt?: string | null;
}

/** The pack's settings (the config of its policies); every one has a default. */
export interface PolicySettings {
  /** How long cutover must have been live before contract, in seconds. */
  soakSeconds: number;
  /** Ceiling for lockTimeoutMs and maxLockTimeoutMs, in ms. */
  maxLockTimeoutMs: number;
  /** Fewest attempts per statement: 1 means no retry at all. */
  minLockRetries: number;
  /** Most attempts per statement. */
  maxLockRetries: number;
  /** Largest table (pg_table_size, bytes) whose backfill may run without any throttle. */
  maxUnthrottledTableBytes: number;
}

export const DEFAULT_POLICY_SETTINGS: PolicySettings = {
  soakSeconds: 3600,
  maxLockTimeoutMs: 10_000,
  minLockRetries: 2,
  maxLockRetries: 100,
  maxUnthrottledTableBytes: 1024 ** 3,
};

/** The Pulumi type of a pgshift child (`pulumi-nodejs:dynamic/pgshift:<type>`, see src/children.ts). */
export function childTypeToken(type: string): string {
  return `pulumi-nodejs:dynamic/pgshift:${type}`;
}

/** The kind of the pgshift child with this Pulumi type, or undefined for any other resource. */
export function childKindOf(type: string): ChildKind | undefined {
  return CHILDREN.find((c) => childTypeToken(c.type) === type)?.kind;
}

function firstStageOf(kind: ChildKind): Stage {
  return CHILDREN.find((c) => c.kind === kind)!.from;
}

function migrationName(child: ChildView): string {
  const table = child.observed ? qualified(child.observed.table.schema, child.observed.table.name) : child.spec.table;
  return `${table}.${child.spec.column}`;
}

const stageText = (s: Stage | null) => (s ? `"${s}"` : "nothing");

/**
 * A child that begins a stage (Cutover, Contract) more than one stage past the recorded one:
 * the update would apply two stages at once (nothing -> cutover, expand -> contract), so
 * the stage between them never runs on its own (the application never runs on the expanded
 * table, or on the new column while the change is still reversible).
 */
export function stageSkip(child: ChildView): string | undefined {
  if (!child.observed) return undefined;
  const from = firstStageOf(child.kind);
  const recorded = child.observed.recordedStage;
  const skipped = stageIndex(from) - (recorded ? stageIndex(recorded) : -1) - 1;
  if (skipped <= 0) return undefined;
  const between = STAGES.slice(stageIndex(from) - skipped, stageIndex(from));
  return (
    `${migrationName(child)} would go from ${stageText(recorded)} to "${from}" in one update, with no update at ${between.map((s) => `"${s}"`).join(", then ")} in between. ` +
    `Promote one stage per update: set stage "${STAGES[recorded ? stageIndex(recorded) + 1 : 0]}" first.`
  );
}

/**
 * A Contract child about to run (the recorded stage is cutover) before cutover has been live
 * for `soakSeconds`: contract drops the old column, after which nothing can be rolled back.
 */
export function soakViolation(child: ChildView, now: Date, soakSeconds: number): string | undefined {
  if (child.kind !== "contract" || child.observed?.recordedStage !== "cutover") return undefined;
  const at = child.cutoverAt ? Date.parse(child.cutoverAt) : NaN;
  if (Number.isNaN(at)) {
    return (
      `${migrationName(child)}: contract refused: the Cutover child records no cutover time (it was applied by an older pgshift), ` +
      `so the soak of ${soakSeconds}s cannot be confirmed. Run pulumi refresh (it records the time of the refresh), then wait the soak.`
    );
  }
  const liveSeconds = Math.floor((now.getTime() - at) / 1000);
  if (liveSeconds >= soakSeconds) return undefined;
  return (
    `${migrationName(child)}: contract refused: cutover has been live for ${liveSeconds}s (since ${new Date(at).toISOString()}), less than the soak of ${soakSeconds}s; ` +
    `contract drops the old column and cannot be undone. Try again after ${new Date(at + soakSeconds * 1000).toISOString()}.`
  );
}

/** Lock settings that let a statement wait too long in the lock queue, or give up without a retry. */
export function lockViolations(lock: LockPolicy, settings: PolicySettings): string[] {
  const out: string[] = [];
  const ceiling = settings.maxLockTimeoutMs;
  if (lock.lockTimeoutMs <= 0) out.push("lockTimeoutMs is off (0: a statement waits in the lock queue for as long as it takes, stalling every query behind it)");
  else if (lock.lockTimeoutMs > ceiling) out.push(`lockTimeoutMs ${lock.lockTimeoutMs} is above the ceiling of ${ceiling} ms`);
  if (lock.maxLockTimeoutMs > ceiling) out.push(`maxLockTimeoutMs ${lock.maxLockTimeoutMs} is above the ceiling of ${ceiling} ms`);
  if (lock.lockRetries < settings.minLockRetries) {
    out.push(`lockRetries ${lock.lockRetries} is below ${settings.minLockRetries}${lock.lockRetries <= 1 ? " (retries are off: the first busy moment fails the deploy)" : ""}`);
  }
  if (lock.lockRetries > settings.maxLockRetries) out.push(`lockRetries ${lock.lockRetries} is above the ceiling of ${settings.maxLockRetries}`);
  return out;
}

/** Whether any of the backfill's throttles is on: a pause between batches, the replication-lag, the transaction-age or the commit-latency check. */
export function throttled(backfill: BackfillSettings): boolean {
  return backfill.pauseMs > 0 || backfill.maxReplicationLagMs > 0 || backfill.maxTransactionAgeMs > 0 || backfill.maxCommitLatencyMs > 0;
}

/** A Backfill child with every throttle off on a table larger than the setting allows. */
export function throttleViolation(child: ChildView, settings: PolicySettings): string | undefined {
  if (child.kind !== "backfill" || !child.observed || throttled(child.spec.backfill)) return undefined;
  const bytes = child.observed.tableBytes;
  if (bytes <= settings.maxUnthrottledTableBytes) return undefined;
  return (
    `${migrationName(child)}: the backfill runs with no throttle (backfill.pauseMs, maxReplicationLagMs, maxTransactionAgeMs and maxCommitLatencyMs are all 0) on a table of ${bytes} bytes, ` +
    `above ${settings.maxUnthrottledTableBytes}: set at least one of them (e.g. maxReplicationLagMs: 10000, the default).`
  );
}

/** One migration of the stack as the same-table rule sees it. */
export interface MigrationInUpdate {
  /** The component (the children's parent URN). */
  component: string;
  table: { schema: string; name: string };
  column: string;
  /** Whether any of its children is created or changed in this update. */
  changing: boolean;
}

/**
 * A warning for each table that two or more migrations change in the same update: each adds
 * triggers and takes locks on it, and their backfills rewrite its rows twice.
 */
export function sameTableWarnings(migrations: readonly MigrationInUpdate[]): string[] {
  const byTable = new Map<string, MigrationInUpdate[]>();
  for (const m of migrations.filter((m) => m.changing)) {
    const key = qualified(m.table.schema, m.table.name);
    byTable.set(key, [...(byTable.get(key) ?? []), m]);
  }
  return [...byTable.entries()]
    .filter(([, ms]) => new Set(ms.map((m) => m.component)).size > 1)
    .map(
      ([table, ms]) =>
        `${ms.length} changes touch table ${table} in one update (${ms.map((m) => `column ${m.column}`).join(", ")}): each adds its triggers, takes its locks and rewrites every row; ` +
        `promote them in separate updates.`,
    );
}
