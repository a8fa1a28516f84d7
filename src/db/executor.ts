import type { ClientBase } from "pg";
import { LockTimeoutError, SqlState, sqlState } from "../errors";
import type { Step, SwapPlan } from "../plan/step";
import type { LockPolicy } from "../spec";
import { watched, type StepWatch } from "./watch";

/**
 * Runs plan steps so that no statement waits in the lock queue long enough to stall the
 * application: every attempt runs under a short lock_timeout, a timed-out attempt is rolled
 * back and retried after a jittered pause with a longer timeout, and after `lockRetries`
 * attempts the step fails with the sessions that held the lock.
 */

export interface ExecutorOptions {
  lock: LockPolicy;
  /** Table the steps lock; used to name blocking sessions in the final error. */
  table?: string;
  log?: (line: string) => void;
  /** Reports on an "alone" step while it runs (watch.ts), through `log`. */
  watch?: StepWatch;
  /** Injected in tests. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ExecutionStats {
  statements: number;
  /** Attempts that hit lock_timeout (or a deadlock) and were retried. */
  lockRetries: number;
}

/** The lock_timeout of each attempt: doubling from lockTimeoutMs, capped at maxLockTimeoutMs. */
export function lockTimeoutSchedule(policy: LockPolicy): number[] {
  return Array.from({ length: policy.lockRetries }, (_, i) => Math.min(policy.maxLockTimeoutMs, policy.lockTimeoutMs * 2 ** i));
}

/** Pause before retry `attempt` (1-based): grows with the attempt, +-50% jitter so retries of concurrent runs spread out. */
export function retryPauseMs(attempt: number, random: () => number): number {
  const base = Math.min(2000, 50 * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + random()));
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retryable(err: unknown): boolean {
  const code = sqlState(err);
  return code === SqlState.lockNotAvailable || code === SqlState.deadlockDetected;
}

async function blockingSessions(db: ClientBase, table: string | undefined): Promise<string> {
  if (!table) return "";
  try {
    const { rows } = await db.query<{ pid: number; state: string; age: string; query: string }>(
      `SELECT DISTINCT a.pid, a.state, coalesce(to_char(now() - a.xact_start, 'HH24:MI:SS'), '-') AS age, left(a.query, 80) AS query
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid()
        ORDER BY 1 LIMIT 5`,
      [table],
    );
    return rows.map((r) => `pid ${r.pid} (${r.state}, transaction open ${r.age}: ${JSON.stringify(r.query)})`).join("; ");
  } catch {
    return "";
  }
}

async function attempt(db: ClientBase, step: Step, timeoutMs: number, opts: ExecutorOptions): Promise<void> {
  if (step.mode === "transaction") {
    await db.query("BEGIN");
    try {
      await db.query(`SET LOCAL lock_timeout = ${timeoutMs}`);
      for (const sql of step.sql) await db.query(sql);
      await db.query("COMMIT");
    } catch (err) {
      await db.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
    return;
  }
  // "alone" steps (CREATE/DROP INDEX CONCURRENTLY, VALIDATE CONSTRAINT, ANALYZE) take only
  // SHARE UPDATE EXCLUSIVE, which no INSERT/UPDATE/DELETE/SELECT waits behind, and then wait
  // for older transactions to end. A lock_timeout would only make them fail whenever any
  // long transaction runs; so they wait as long as they need (timeoutMs is not used), and say
  // how far they are and what they wait for while they do (opts.watch).
  await db.query(`SET lock_timeout = 0`);
  try {
    await watched(db, step.description, opts.watch, opts.log, async () => {
      for (const sql of step.sql) await db.query(sql);
    });
  } finally {
    await db.query("RESET lock_timeout").catch(() => undefined);
  }
}

/**
 * Runs `attemptFn` with an escalating lock_timeout until it succeeds, retrying only lock
 * timeouts and deadlocks. `attemptFn` must leave no transaction open when it throws.
 */
export async function withLockRetry<T>(
  db: ClientBase,
  description: string,
  opts: ExecutorOptions,
  attemptFn: (lockTimeoutMs: number) => Promise<T>,
  stats?: ExecutionStats,
  cleanup: string[] = [],
): Promise<T> {
  const schedule = lockTimeoutSchedule(opts.lock);
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? defaultSleep;
  let blockers = "";
  for (let i = 0; i < schedule.length; i++) {
    try {
      return await attemptFn(schedule[i]);
    } catch (err) {
      if (!retryable(err)) throw err;
      if (stats) stats.lockRetries++;
      blockers = (await blockingSessions(db, opts.table)) || blockers;
      for (const sql of cleanup) await db.query(sql);
      const last = i + 1 === schedule.length;
      const pause = last ? 0 : retryPauseMs(i + 1, random);
      opts.log?.(
        `pgshift: ${description}: lock not granted within ${schedule[i]} ms (attempt ${i + 1}/${schedule.length}), ` +
          (last ? "giving up" : `retrying in ${pause} ms`),
      );
      if (!last) await sleep(pause);
    }
  }
  throw new LockTimeoutError(description, schedule.length, blockers);
}

export async function runStep(db: ClientBase, step: Step, opts: ExecutorOptions, stats?: ExecutionStats): Promise<void> {
  await withLockRetry(db, step.description, opts, (ms) => attempt(db, step, ms, opts), stats, step.onRetry);
  if (stats) stats.statements += step.sql.length;
}

export async function runSteps(db: ClientBase, steps: Step[], opts: ExecutorOptions): Promise<ExecutionStats> {
  const stats: ExecutionStats = { statements: 0, lockRetries: 0 };
  for (const step of steps) {
    opts.log?.(`pgshift: ${step.description}`);
    await runStep(db, step, opts, stats);
  }
  return stats;
}

/**
 * Runs a swap plan: its steps before, the swap, then `moreAfter()` (steps that can only be
 * planned from the catalog as the swap left it) and its steps after.
 */
export async function runSwapPlan(db: ClientBase, plan: SwapPlan, opts: ExecutorOptions, moreAfter: () => Promise<Step[]> = async () => []): Promise<ExecutionStats> {
  const stats = await runSteps(db, plan.before, opts);
  opts.log?.(`pgshift: ${plan.swap.description}`);
  await runStep(db, plan.swap, opts, stats);
  const after = await runSteps(db, [...(await moreAfter()), ...plan.after], opts);
  return { statements: stats.statements + after.statements, lockRetries: stats.lockRetries + after.lockRetries };
}
