/**
 * The bench's environment variables, read once:
 * BENCH_ROWS (default 1000000), BENCH_OUT (default bench/results), BENCH_THROTTLED=0 to skip
 * the throttled run, BENCH_WRITER_PAUSE_MS (default 5). The rig's variables apply too:
 * PGSHIFT_TEST_PG_MAJOR=14, PGSHIFT_TEST_DATABASE_URL (test/support/pg.ts reads them).
 */
import * as path from "node:path";
import { envInt } from "../scripts/lib/env";

/** The repository root: BENCH_OUT is relative to it, and git runs in it. */
export const REPO = path.resolve(__dirname, "..");

export interface BenchOptions {
  /** Rows of every fresh table. */
  rows: number;
  /** Pause between the writer's statements, ms. */
  writerPauseMs: number;
  /** Whether to also run pgshift's expand with backfill.pauseMs = 20. */
  throttled: boolean;
  /** Absolute directory results.md, results.json and backfill.svg are written to. */
  out: string;
  /** The writer runs this long before each measurement starts (connected, steady), ms. */
  warmupMs: number;
}

export function readBenchOptions(): BenchOptions {
  return {
    rows: envInt("BENCH_ROWS", 1_000_000, 1000),
    writerPauseMs: envInt("BENCH_WRITER_PAUSE_MS", 5, 0),
    throttled: process.env.BENCH_THROTTLED !== "0",
    out: path.resolve(REPO, process.env.BENCH_OUT || path.join("bench", "results")),
    warmupMs: 1000,
  };
}

/** The command that reproduces this run: `npm run bench` with the BENCH_* variables that were set. */
export function benchCommand(): string {
  const vars = ["BENCH_ROWS", "BENCH_OUT", "BENCH_THROTTLED", "BENCH_WRITER_PAUSE_MS", "PGSHIFT_TEST_PG_MAJOR"]
    .filter((v) => process.env[v] !== undefined && process.env[v] !== "")
    .map((v) => `${v}=${process.env[v]}`);
  return [...vars, "npm run bench"].join(" ");
}
