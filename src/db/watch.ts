import type { ClientBase } from "pg";
import { formatCount, formatDuration, percent } from "../backfill/progress";

/**
 * Progress of a long "alone" step (CREATE or DROP INDEX CONCURRENTLY, VALIDATE CONSTRAINT),
 * read from a second session while the step's own session is busy with it.
 *
 * Why: such a step takes no lock the application waits behind, and so runs with no lock_timeout
 * (executor.ts): it builds an index over a billion rows for an hour, or waits for as long as an
 * older transaction stays open. Without a word from it, `pulumi up` looks hung. Every
 * `everyMs` it says how long it has run, the index build's phase and share of blocks or tuples
 * (pg_stat_progress_create_index), and the sessions it waits for (pg_blocking_pids), with what
 * they run and for how long: the one to end, or to wait for.
 */

export type WatcherConnection = ClientBase & { end(): Promise<void> };

export interface StepWatch {
  /** A second connection to the same database (opened at the first report, closed at the end). */
  connect: () => Promise<WatcherConnection>;
  /** First report after this long, then again every as long. */
  everyMs: number;
}

/** The default interval of the reports: a minute of silence looks hung, a line a second is noise. */
export const WATCH_EVERY_MS = 30_000;

/** What one session's statement is doing, as STATEMENT_PROGRESS_SQL reads it. */
export interface StatementProgress {
  /** pg_stat_progress_create_index's phase, when the statement builds an index. */
  phase: string | null;
  blocksDone: number | null;
  blocksTotal: number | null;
  tuplesDone: number | null;
  tuplesTotal: number | null;
  /** In the build's waiting phases: the sessions it waits for in all, and those that ended. */
  lockersDone: number | null;
  lockersTotal: number | null;
  /** The sessions it waits for; their state, transaction age and query are null without pg_read_all_stats. */
  blockers: Array<{ pid: number; state: string | null; age: string | null; query: string | null }>;
}

/** $1 the pid of the session running the step. */
export const STATEMENT_PROGRESS_SQL =
  `SELECT p.phase, p.blocks_done::float8 AS "blocksDone", p.blocks_total::float8 AS "blocksTotal", ` +
  `p.tuples_done::float8 AS "tuplesDone", p.tuples_total::float8 AS "tuplesTotal", ` +
  `p.lockers_done::float8 AS "lockersDone", p.lockers_total::float8 AS "lockersTotal", ` +
  `(SELECT coalesce(json_agg(json_build_object('pid', b.pid, 'state', b.state, 'age', to_char(now() - b.xact_start, 'HH24:MI:SS'), 'query', left(b.query, 80)) ORDER BY b.pid), '[]') ` +
  `FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids($1))) AS blockers ` +
  `FROM (SELECT $1::int AS pid) s LEFT JOIN pg_stat_progress_create_index p ON p.pid = s.pid`;

/** `1,234 of 5,678 blocks (21.7%)`, as the backfill's progress writes counts; null where the phase has no total. */
function share(done: number | null, total: number | null, unit: string, withPercent = true): string | null {
  if (done === null || total === null || total <= 0) return null;
  const of = `${formatCount(done)} of ${formatCount(total)} ${unit}`;
  return withPercent ? `${of} (${percent(done, total)}%)` : of;
}

/**
 * `pgshift: <step>: running 1m30s; index building index: scanning table, 1,234 of 5,678 blocks (21.7%)`,
 * `...; waiting for pid 4242 (idle in transaction, transaction open 00:12:03: "SELECT ...") to end`.
 */
export function watchLine(step: string, elapsedMs: number, p: StatementProgress): string {
  const parts = [`running ${formatDuration(elapsedMs)}`];
  if (p.phase) {
    // a waiting phase counts sessions; the others blocks or tuples (the counters of a phase
    // before stay as they were, so only the phase's own are read)
    const amount = p.phase.startsWith("waiting")
      ? share(p.lockersDone, p.lockersTotal, "sessions ended", false)
      : (share(p.blocksDone, p.blocksTotal, "blocks") ?? share(p.tuplesDone, p.tuplesTotal, "tuples"));
    parts.push(`index ${p.phase}${amount ? `, ${amount}` : ""}`);
  }
  if (p.blockers.length > 0) {
    const who = p.blockers.map((b) => {
      const about = [b.state, b.age ? `transaction open ${b.age}` : null].filter(Boolean).join(", ");
      return `pid ${b.pid}${about || b.query ? ` (${about}${b.query ? `${about ? ": " : ""}${JSON.stringify(b.query)}` : ""})` : ""}`;
    });
    parts.push(`waiting for ${who.join(", ")} to end`);
  }
  return `pgshift: ${step}: ${parts.join("; ")}`;
}

/**
 * Runs `fn` on `db` and, while it runs, reports its progress through `log` every
 * `watch.everyMs`. A report that fails (the second connection refused, a view not readable) is
 * skipped with one line saying why: the step itself goes on either way.
 */
export async function watched<T>(db: ClientBase, step: string, watch: StepWatch | undefined, log: ((line: string) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  if (!watch || !log) return fn();
  const pid = (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  const started = Date.now();
  let watcher: Promise<WatcherConnection> | undefined;
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let reporting: Promise<void> = Promise.resolve();
  const report = async () => {
    try {
      watcher ??= watch.connect();
      const p = (await (await watcher).query<StatementProgress>(STATEMENT_PROGRESS_SQL, [pid])).rows[0];
      if (running) log(watchLine(step, Date.now() - started, p));
    } catch (err) {
      if (running) log(`pgshift: ${step}: running ${formatDuration(Date.now() - started)} (its progress could not be read: ${(err as Error).message})`);
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      reporting = report().then(() => {
        if (running) schedule();
      });
    }, watch.everyMs);
  };
  schedule();
  try {
    return await fn();
  } finally {
    running = false;
    clearTimeout(timer);
    await reporting;
    if (watcher) await watcher.then((c) => c.end()).catch(() => undefined);
  }
}
