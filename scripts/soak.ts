/**
 * `npm run soak`: the long versions of the reliability suite, outside mocha.
 *
 * 1. SOAK_TRIALS (default 50) crash trials (test/support/crashTrial.ts) from SOAK_SEED (default:
 *    from the clock, printed): trial i uses seed SOAK_SEED + i, so `SOAK_SEED=<seed of a failed
 *    trial> SOAK_TRIALS=1 npm run soak` repeats it.
 * 2. pgbench TPC-B at scale SOAK_PGBENCH_SCALE (default 10), 4 clients, during the whole lifecycle
 *    of pgbench_accounts.abalance and then of pgbench_accounts.aid (SOAK_PGBENCH=0 skips it).
 *
 * Ends with one summary line, `trials=N ... lost=0 mismatched=0 ...`, and exits non-zero when
 * any trial or workload failed.
 */
import { envInt } from "./lib/env";
import { calibrate, CRASH_SETTINGS, runTrial, summaryLine, trialLine, type TrialResult } from "../test/support/crashTrial";
import { pgbenchLifecycle, pgbenchLine, type PgbenchResult } from "../test/support/pgbench";
import { stopTestServer } from "../test/support/pg";
import { cleanupPulumiWork } from "../test/support/pulumi";

async function main(): Promise<number> {
  const trials = envInt("SOAK_TRIALS", 50, 0);
  const seed = envInt("SOAK_SEED", Date.now() % 1_000_000, 0);
  const results: TrialResult[] = [];
  if (trials > 0) {
    const cal = await calibrate(CRASH_SETTINGS);
    console.log(`soak: seed ${seed}, ${trials} crash trials; statements per run of the path: ${cal.statements.join(", ")}`);
    for (let i = 0; i < trials; i++) {
      const r = await runTrial(seed + i, CRASH_SETTINGS, cal);
      results.push(r);
      console.log(trialLine(r));
      for (const p of r.problems) console.log(`  ${p}`);
    }
  }
  const benches: PgbenchResult[] = [];
  if (envInt("SOAK_PGBENCH", 1, 0) > 0) {
    const scale = envInt("SOAK_PGBENCH_SCALE", 10, 1);
    for (const column of ["abalance", "aid"] as const) {
      const b = await pgbenchLifecycle({ scale, clients: 4, column });
      benches.push(b);
      console.log(pgbenchLine(b));
    }
  }
  const failedTrials = results.filter((r) => r.problems.length || r.lost || r.mismatched).length;
  const failedBench = benches.filter((b) => b.problems.length).length;
  const bench = benches.length
    ? ` pgbench_runs=${benches.length} pgbench_transactions=${benches.reduce((a, b) => a + b.transactions, 0)} ` +
      `pgbench_failed=${benches.reduce((a, b) => a + b.failedTransactions, 0)} balance_mismatches=${benches.reduce((a, b) => a + b.balanceMismatches, 0)}`
    : "";
  console.log(`${summaryLine(results, seed)}${bench}`);
  return failedTrials || failedBench ? 1 : 0;
}

main()
  .then(async (code) => {
    await stopTestServer();
    await cleanupPulumiWork();
    process.exit(code);
  })
  .catch(async (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    await stopTestServer().catch(() => undefined);
    process.exit(1);
  });
