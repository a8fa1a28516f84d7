/**
 * `npm run bench`: what a column type change costs, measured side by side in one run on one
 * PostgreSQL server started by the bench with production settings (fsync, synchronous_commit,
 * full_page_writes on), each operation on its own freshly created, identical table of
 * BENCH_ROWS rows (default 1,000,000) shaped like the demo's contentcuration_file, with an
 * index on (checksum, file_size), and an application-like writer on that table during each:
 *
 *   a) plain ALTER COLUMN TYPE (the writer stall), one plain UPDATE into a shadow column (the
 *      throughput bound) and CREATE INDEX after it (bench/baselines.ts)
 *   b) pgshift's whole lifecycle through the real provider handlers: expand (shadow column,
 *      trigger, backfill, index copies), cutover, contract (bench/pgshiftLifecycle.ts); the
 *      database runner (pg_cron) when this build and the server have it, else skipped with why
 *   c) pgroll v0.16.2 start + complete of the same change (bench/pgroll.ts)
 *   d) pgbench (TPC-B, its own tables) running through all of it (bench/pgbench.ts), grouped by
 *      phase: a baseline before anything, then each operation and each pgshift stage
 *
 * Writes bench/results/ (summary.json, results.md, results.json, latency.svg, backfill.svg;
 * BENCH_OUT to write elsewhere) and prints the table. Environment: see bench/options.ts.
 *
 * The bench (like demo/) reuses the test rig in test/support/ on purpose: the same embedded
 * server and the same application writer the tests use, so its numbers describe the code the
 * tests check, and there is one rig to maintain. It is not part of `npm test`.
 */
import * as os from "node:os";
import * as path from "node:path";
import { startCronServer, type CronServer } from "../test/support/cronServer";
import { stopTestServer, testServer, withClient } from "../test/support/pg";
import { fmtInt } from "../scripts/lib/format";
import { benchAlter, benchApplicationAlone, benchIndexedUpdate, benchOneCoreBusy, benchPlainUpdate } from "./baselines";
import { latencySeries } from "./latencySvg";
import { printed, roundId, roundLabel, sleep, type BenchRig, type Measurement } from "./measure";
import { readBenchOptions, REPO } from "./options";
import { Pgbench, windowStats } from "./pgbench";
import { benchPgroll, pgrollBin } from "./pgroll";
import { benchPgshift, databaseRunnerSkip, variantOptions, type Skipped } from "./pgshiftLifecycle";
import { printResults, writeResults } from "./report";
import { RssSampler } from "./rssSampler";
import { WalSampler } from "./walSampler";
import { machineInfo, runInfo, serverInfo } from "./runInfo";
import { summarize, type PgbenchResult } from "./summary";

// read before anything starts, so a bad BENCH_* value stops the bench before the server does
const options = readBenchOptions();
const variants = options.variants.map(variantOptions);
// the embedded server reads it when it starts (test/support/pg.ts)
if (options.durable) process.env.PGSHIFT_TEST_DURABLE = "1";

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function main(): Promise<void> {
  const rig: BenchRig = { options, sampler: new RssSampler(), phases: [], traces: new Map() };
  const started = new Date();
  const loadStart = os.loadavg();
  const runs = (op: (typeof options.only)[number]) => options.only.includes(op);
  const skipped: Skipped[] = [];
  if (loadStart[0] > 1) {
    process.stdout.write(`  note: 1-minute load average is ${loadStart[0].toFixed(2)} on ${os.cpus().length} cores: other work on this machine skews the numbers\n`);
  }
  process.stdout.write(`pgshift bench: ${fmtInt(options.rows)} rows, writer pause ${options.writerPauseMs} ms, results to ${path.relative(REPO, options.out) || "."}\n`);
  // built (or found) before the server starts: a first build takes minutes
  let pgroll: string | null = null;
  if (runs("pgroll")) {
    pgroll = await pgrollBin().catch((err: unknown) => {
      skipped.push({ id: "pgroll", operation: "pgroll start + complete", reason: `pgroll could not be built: ${message(err)}` });
      return null;
    });
  }
  if (options.server === "cron") {
    // test/support/pg.ts then uses it as an external server: every database of the run on it
    cronServer = await startCronServer({ production: options.durable });
    process.env.PGSHIFT_TEST_DATABASE_URL = cronServer.url;
  }
  const server = await testServer();
  const wal = new WalSampler(server.url);
  await wal.start();
  const info = await serverInfo(server.url);
  process.stdout.write(`  ${info.version}; ${Object.entries(info.settings).map(([k, v]) => `${k}=${v}`).join(", ")}\n`);

  let pgbench: Pgbench | null = null;
  if (options.pgbench.enabled) {
    const p = new Pgbench({ bin: process.env.BENCH_PGBENCH_BIN || "pgbench", ...options.pgbench });
    try {
      await p.init();
      // as every operation's fresh table is (freshTable): the first baseline does not pay for
      // the writes of pgbench's own load
      await withClient(server.url, (c) => c.query("CHECKPOINT"));
      p.start();
      pgbench = p;
    } catch (err) {
      skipped.push({ id: "pgbench", operation: "pgbench (TPC-B)", reason: message(err) });
    }
  }

  /** pgbench alone for baselineMs: the baseline the round's p99 ratio divides by (summary.ts). */
  const pgbenchAlone = async (round: number) => {
    process.stdout.write(`  > pgbench alone (baseline${roundLabel(round)}), ${options.pgbench.baselineMs / 1000} s\n`);
    const start = Date.now();
    await sleep(options.pgbench.baselineMs);
    rig.phases.push({ id: roundId("baseline", round), label: `baseline: pgbench alone, no migration${roundLabel(round)}`, start, end: Date.now() });
  };
  const results: Measurement[] = [];
  const add = (...ms: Measurement[]) => results.push(...ms.map(printed));
  /** The lifecycles measured once, beside the first round's default one. */
  const benchBesideDefault = async () => {
    // the same at backfill.workers 2: what a second worker buys, and what it costs pgbench, side by side
    if (options.side) add(...(await benchPgshift(rig, "pgshift-two-workers", { workers: 2 })));
    if (options.extras) add(...(await benchPgshift(rig, "pgshift-throttled", { pauseMs: 20 })));
    // BENCH_VARIANTS: more settings side by side, each on its own fresh table like the rest
    for (const [i, v] of variants.entries()) add(...(await benchPgshift(rig, `pgshift-variant${i + 1}`, v, `, backfill ${JSON.stringify(v)}`)));
    const why = options.side ? await databaseRunnerSkip(server.url) : "not asked for (BENCH_SIDE=0)";
    if (why) skipped.push({ id: "pgshift-db", operation: "pgshift lifecycle, database runner (pg_cron)", reason: why });
    else add(...(await benchPgshift(rig, "pgshift-db", { runner: "database" } as Record<string, unknown>)));
  };
  // the operations the targets compare run once per round (BENCH_ROUNDS): one run's ratio is at
  // the mercy of this shared disk (pgbench's p99 alone moved from 2.4 to 7.9 ms between runs),
  // the median of the rounds' side-by-side ratios much less so (summary.ts); the rest once, in
  // the first round
  for (let round = 1; round <= options.rounds; round++) {
    const first = round === 1;
    if (!first) process.stdout.write(`  round ${round} of ${options.rounds}\n`);
    // each round's ratio divides by its own round's baseline: one baseline for the run gave
    // every round's p99 ratio the same draw of the disk's noise (3.7 ms in one run, 7.5 in the next)
    if (pgbench) await pgbenchAlone(round);
    if (first && runs("alter")) add(await benchAlter(rig));
    if (runs("update")) add(...(await benchPlainUpdate(rig, round)));
    if (first && runs("update") && options.extras) add(await benchIndexedUpdate(rig));
    if (runs("pgshift")) {
      // right before the backfill they are compared with: the same writer with no migration, and with one core busy
      if (pgbench) add(await benchApplicationAlone(rig, round), await benchOneCoreBusy(rig, round));
      add(...(await benchPgshift(rig, roundId("pgshift", round), {}, roundLabel(round))));
      if (first) await benchBesideDefault();
    }
    if (pgroll) add(...(await benchPgroll(rig, pgroll, round)));
  }
  rig.sampler.stop();
  await wal.stop();

  let pgbenchResult: PgbenchResult | null = null;
  if (pgbench) {
    process.stdout.write(`  [stopping pgbench after a ${options.pgbench.tailMs / 1000} s tail]\n`);
    const r = await pgbench.stop(options.pgbench.tailMs);
    const walByPhase = wal.byPhase(rig.phases);
    const windows = windowStats(r.transactions, rig.phases).map((w) => ({ ...w, walMbPerSec: walByPhase[w.id]?.mbPerSec ?? null, checkpoints: walByPhase[w.id]?.checkpoints ?? null }));
    const lastEnd = Math.max(...rig.phases.map((p) => p.end));
    pgbenchResult = { windows, failedTransactions: r.transactions.filter((x) => x.failed).length, abortedClients: r.abortedClients, coversRun: r.loggedUntil >= lastEnd };
  }

  const summary = summarize(results, pgbenchResult, options.rounds);
  const report = {
    run: runInfo({ started, loadStart, rows: options.rows, size: rig.size, writerPauseMs: options.writerPauseMs }),
    machine: machineInfo(info, server),
    summary,
    results,
    pgbench: pgbenchResult,
    latency: latencySeries(rig),
    skipped,
  };
  writeResults(options.out, report);
  printResults(options.out, report);
  // pgshift promises the application no failed statement; the baselines are allowed to fail it
  const failed = results.filter((m) => m.id.startsWith("pgshift") && m.failedWrites > 0);
  if (failed.length > 0) throw new Error(`the writer saw failed statements during ${failed.map((m) => m.operation).join(", ")}: ${failed[0].firstFailure}`);
}

/** Debian's PostgreSQL with pg_cron, when BENCH_SERVER=cron started one (stopped at the end). */
let cronServer: CronServer | undefined;

main()
  .then(
    () => 0,
    (err: unknown) => {
      process.stderr.write(`\nbench FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopTestServer().catch(() => undefined);
    await cronServer?.stop().catch(() => undefined);
    process.exit(code);
  });
