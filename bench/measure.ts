/**
 * One measurement: an operation timed while the application writer runs, with what the writer
 * saw (its longest statement = how long the application was blocked, its failures) and the
 * bench process's memory during it.
 */
import { performance } from "node:perf_hooks";
import type { TestDatabase } from "../test/support/pg";
import { AppWriter, type LatencySample } from "../scripts/lib/appWriter";
import type { TableSize } from "./freshTable";
import type { BenchOptions } from "./options";
import { MB, type RssSampler } from "./rssSampler";
import { longestOverlapping } from "./stats";

/** A stretch of the run (epoch ms) that pgbench's transactions are grouped by. */
export interface Phase {
  id: string;
  label: string;
  start: number;
  end: number;
}

/** What one measurement's writer wrote, kept for the latency plot and the per-step stalls. */
export interface WriterTrace {
  start: number;
  end: number;
  samples: LatencySample[];
}

/**
 * What every measurement needs besides its database: the run's options and RSS sampler, and
 * what it records for the whole run: its phases (for pgbench) and its writer's trace.
 */
export interface BenchRig {
  options: BenchOptions;
  sampler: RssSampler;
  phases: Phase[];
  traces: Map<string, WriterTrace>;
  /** The fresh table's size, read by the first operation that creates one. */
  size?: TableSize;
}

/** One row of results.md / results.json (the JSON keeps these field names: do not rename). */
export interface Measurement {
  id: string;
  operation: string;
  wallMs: number;
  /** Rows the operation processed per second (BENCH_ROWS / wall time). */
  rowsPerSec: number | null;
  /** Longest single writer statement while it ran, ms. */
  writerStallMs: number;
  failedWrites: number;
  firstFailure: string | null;
  /** Writer statements completed while it ran. */
  writerStatements: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssSamples: number;
  notes: string;
  extra?: Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The id of an operation in a round of the run (BENCH_ROUNDS): the first round's ids are the
 * plain ones summary.json and the plots read, a later round's end in `-r<round>`.
 */
export function roundId(base: string, round: number): string {
  return round === 1 ? base : `${base}-r${round}`;
}

/** What a later round's operation names end with (nothing in the first). */
export function roundLabel(round: number): string {
  return round === 1 ? "" : ` (round ${round})`;
}

/**
 * Runs `fn` while a new writer runs on `db`; the writer is stopped right after `fn` returns
 * (stop() waits for its statement in flight, so a statement blocked by `fn` is counted with its
 * full time). The stall is the longest writer statement that overlapped `fn`. The window is
 * recorded as a phase and the writer's trace under `id`; `fn` may record phases of its own
 * (pgshift's steps do) and may return extra data for results.json.
 */
export async function measure(
  rig: BenchRig,
  db: TestDatabase,
  id: string,
  operation: string,
  notes: string,
  fn: (w: AppWriter) => Promise<Record<string, unknown> | void>,
): Promise<Measurement> {
  const { rows, writerPauseMs, warmupMs } = rig.options;
  const writer = new AppWriter(db.url, rows, writerPauseMs);
  await sleep(warmupMs);
  const rssBefore = rig.sampler.sample();
  // count failures and statements from here: the warm-up's are not the operation's
  const failuresBefore = writer.stats.failures.length;
  const statementsBefore = writer.stats.inserts + writer.stats.updates;
  process.stdout.write(`  > ${operation}\n`);
  const start = Date.now();
  const t0 = performance.now();
  let extra: Record<string, unknown> | void;
  try {
    extra = await fn(writer);
  } catch (err) {
    await writer.stop();
    throw err;
  }
  const t1 = performance.now();
  const end = Date.now();
  rig.phases.push({ id, label: operation, start, end });
  const statements = writer.stats.inserts + writer.stats.updates - statementsBefore;
  const final = await writer.stop();
  // stop() waited for the statement in flight: the trace now holds every statement that overlapped fn
  const trace: WriterTrace = { start, end, samples: writer.samples(start, Number.MAX_SAFE_INTEGER) };
  rig.traces.set(id, trace);
  const stallMs = longestOverlapping(trace.samples, start, end);
  const failures = final.failures.slice(failuresBefore);
  const rss = rig.sampler.window(t0, t1);
  const wallMs = t1 - t0;
  return {
    id,
    operation,
    wallMs,
    rowsPerSec: rows / (wallMs / 1000),
    writerStallMs: stallMs,
    failedWrites: failures.length,
    firstFailure: failures[0] ?? null,
    writerStatements: statements,
    rssBeforeMb: rssBefore / MB,
    rssPeakMb: Math.max(rss.peak, rssBefore) / MB,
    rssSamples: rss.samples,
    notes,
    ...(extra ? { extra } : {}),
  };
}

/** The one-line progress report of a finished measurement. */
export function printed(m: Measurement): Measurement {
  process.stdout.write(`    ${m.operation}: ${(m.wallMs / 1000).toFixed(2)} s, writer stall ${Math.round(m.writerStallMs)} ms, ${m.failedWrites} failed writes\n`);
  return m;
}
