/**
 * `npm run bench`: what a column type change costs, measured side by side in one run on one
 * PostgreSQL server, each operation on its own freshly created, identical table of BENCH_ROWS
 * rows (default 1,000,000) shaped like the demo's contentcuration_file, with an index on
 * (checksum, file_size), and an application-like writer running during every measurement:
 *
 *   a-c) the ways without pgshift: ALTER COLUMN TYPE, one big UPDATE into a shadow column with
 *        its index built after or before it (bench/baselines.ts)
 *   d)   pgshift's expand through the real provider handlers, the backfill alone and the whole
 *        expand, and the same with backfill.pauseMs = 20 (bench/pgshiftExpand.ts)
 *   e)   the bench process's RSS, sampled every 100 ms (the backfill runs in this process)
 *
 * For each: wall time, rows/s, the writer's longest statement (= the longest the application
 * was blocked) and its failed statements. Writes bench/results/{results.md,results.json,backfill.svg}
 * (BENCH_OUT to write elsewhere) and prints the table. Environment: see bench/options.ts.
 *
 * The bench (like demo/) reuses the test rig in test/support/ on purpose: the same embedded
 * server settings and the same application writer the tests use, so its numbers describe the
 * code the tests check, and there is one rig to maintain. It is not part of `npm test`.
 */
import * as os from "node:os";
import * as path from "node:path";
import { stopTestServer, testServer } from "../test/support/pg";
import { fmtInt } from "../scripts/lib/format";
import { benchAlter, benchIndexedUpdate, benchPlainUpdate } from "./baselines";
import { freshTableSize } from "./freshTable";
import { printed, type BenchRig, type Measurement } from "./measure";
import { readBenchOptions, REPO } from "./options";
import { benchPgshift } from "./pgshiftExpand";
import { printResults, writeResults } from "./report";
import { RssSampler } from "./rssSampler";
import { machineInfo, runInfo, serverInfo } from "./runInfo";
import { summarize } from "./summary";

// read before anything starts, so a bad BENCH_* value stops the bench before the server does
const options = readBenchOptions();

async function main(): Promise<void> {
  const rig: BenchRig = { options, sampler: new RssSampler() };
  const started = new Date();
  const loadStart = os.loadavg();
  if (loadStart[0] > 1) {
    process.stdout.write(`  note: 1-minute load average is ${loadStart[0].toFixed(2)} on ${os.cpus().length} cores: other work on this machine skews the numbers\n`);
  }
  process.stdout.write(`pgshift bench: ${fmtInt(options.rows)} rows, writer pause ${options.writerPauseMs} ms, results to ${path.relative(REPO, options.out) || "."}\n`);
  const server = await testServer();
  const info = await serverInfo(server.url);
  process.stdout.write(`  ${info.version}\n`);
  const size = await freshTableSize(options.rows);

  const results: Measurement[] = [];
  const add = (...ms: Measurement[]) => results.push(...ms.map(printed));
  add(await benchAlter(rig));
  add(...(await benchPlainUpdate(rig)));
  add(await benchIndexedUpdate(rig));
  add(...(await benchPgshift(rig, "pgshift", {})));
  if (options.throttled) add(...(await benchPgshift(rig, "pgshift-throttled", { pauseMs: 20 })));
  rig.sampler.stop();

  const report = {
    run: runInfo({ started, loadStart, rows: options.rows, size, writerPauseMs: options.writerPauseMs }),
    machine: machineInfo(info, server),
    summary: summarize(results),
    results,
  };
  writeResults(options.out, report);
  printResults(options.out, report);
  // pgshift promises the application no failed statement; the baselines are allowed to fail it
  const failed = results.filter((m) => m.id.startsWith("pgshift") && m.failedWrites > 0);
  if (failed.length > 0) throw new Error(`the writer saw failed statements during ${failed.map((m) => m.operation).join(", ")}: ${failed[0].firstFailure}`);
}

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
    process.exit(code);
  });
