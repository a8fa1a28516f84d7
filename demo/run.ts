/**
 * `npm run demo`: the whole pgshift lifecycle on a live table, in one command, with no setup.
 *
 * 1. starts an embedded PostgreSQL and fills `contentcuration_file` with DEMO_ROWS rows
 *    (default 1,000,000) and an index on (checksum, file_size);
 * 2. starts an application-like writer (inserts and updates in a loop) that records every
 *    failed statement and the longest time one statement took;
 * 3. shows `pulumi preview` of stage expand and the SQL each child will run, then runs
 *    the real `pulumi up` for each stage of DEMO_STAGES (default expand,cutover,contract),
 *    streaming the engine output (the backfill's progress lines with rows/s and ETA are in it)
 *    and printing a short summary after each stage;
 * 4. checks that every write the application made is in the table, prints a final table,
 *    stops the writer and the embedded server, and exits 0 (non-zero with a message on failure).
 *
 * Environment: see demo/options.ts (DEMO_ROWS, DEMO_STAGES, DEMO_WRITER_PAUSE_MS).
 *
 * The demo (and bench/) reuse the test rig in test/support/ on purpose: the embedded server
 * (pg.ts), the inline Automation API stacks on a file backend with the locally built CLI
 * (pulumi.ts) and the application writer (writer.ts) are the ones the e2e tests use, so the
 * demo shows exactly what the tests check, and there is one place to fix when the rig changes.
 */
import { createTestDatabase, stopTestServer, testServer } from "../test/support/pg";
import { cleanupPulumiWork } from "../test/support/pulumi";
import { AppWriter } from "../scripts/lib/appWriter";
import { UsageError } from "../scripts/lib/env";
import { COLUMN, createFileTable, TABLE, TO_TYPE } from "../scripts/lib/fileTable";
import { fmtInt } from "../scripts/lib/format";
import { ledgerMismatches, tableSize, type LedgerCheck } from "./catalog";
import { readDemoOptions } from "./options";
import { banner, fmtSec, log, printPlannedSql, printStageSummary, printSummary } from "./output";
import { createDemoStack, previewPlannedSql, runStage, type StageReport } from "./stages";

async function main(): Promise<number> {
  const { rows, stages, writerPauseMs } = readDemoOptions();
  const demoStarted = Date.now();

  banner("pgshift demo");
  log(`  ${TABLE}.${COLUMN}: integer -> ${TO_TYPE} on ${fmtInt(rows)} rows, stages ${stages.join(" -> ")}, under a live writer`);

  // ---- database
  let t0 = Date.now();
  const server = await testServer();
  const external = !!process.env.PGSHIFT_TEST_DATABASE_URL;
  log(`  PostgreSQL ${server.major} (${external ? new URL(server.url).host : "embedded"}) ready in ${fmtSec(Date.now() - t0)}`);
  const db = await createTestDatabase("pgshift_demo");
  t0 = Date.now();
  await createFileTable(db.url, rows, { checkpoint: false });
  log(`  created ${TABLE} (${fmtInt(rows)} rows, ${await tableSize(db.url)} with indexes) in ${fmtSec(Date.now() - t0)}`);

  // ---- the application
  const writer = new AppWriter(db.url, rows, writerPauseMs);
  log(`  writer started: one connection, INSERT / UPDATE ... WHERE id = $1 alternately, ${writerPauseMs} ms pause between statements`);

  const reports: StageReport[] = [];
  let failure: string | null = null;
  try {
    t0 = Date.now();
    const stack = await createDemoStack(db.url, stages[0]);
    log(`  Pulumi stack ready in ${fmtSec(Date.now() - t0)} (inline program, local file backend)`);
    if (stages[0] === "expand") {
      banner(`pulumi preview (stage ${stages[0]})`);
      printPlannedSql(await previewPlannedSql(stack));
    }
    for (const stage of stages) {
      banner(`pulumi up (stage ${stage})`);
      const report = await runStage(stack, stage, writer, db.url);
      reports.push(report);
      printStageSummary(report);
    }
  } catch (err) {
    // a failed stage still gets the summary of the stages before it
    failure = err instanceof Error ? err.message : String(err);
  }

  // ---- the application stops; did every write survive? (after a failure the failure is the
  // verdict, and the ledger is not checked)
  const final = await writer.stop();
  const ledger: LedgerCheck | null = failure ? null : await ledgerMismatches(db.url, final.ledger);
  if (reports.length > 0) printSummary(reports, stages, ledger, Date.now() - demoStarted);

  if (failure) {
    log(`\ndemo FAILED: ${failure}`);
    return 1;
  }
  const failed = reports.reduce((n, r) => n + r.failedWrites, 0);
  if (final.failures.length > 0 || failed > 0) {
    log(`\ndemo FAILED: the application saw ${final.failures.length} failed statement(s); first: ${final.failures[0]}`);
    return 1;
  }
  if (ledger && (ledger.missing > 0 || ledger.different > 0)) {
    log(`\ndemo FAILED: writes were lost (${ledger.missing} rows missing, ${ledger.different} with another value)`);
    return 1;
  }
  log(`\ndemo OK`);
  return 0;
}

async function cleanup(): Promise<void> {
  // drops the demo database and stops the embedded server (its data dir is deleted), then
  // removes the stack's scratch dirs under .work/
  await stopTestServer().catch((err) => log(`  (could not stop the PostgreSQL server: ${err instanceof Error ? err.message : String(err)})`));
  await cleanupPulumiWork().catch(() => undefined);
}

main()
  .catch((err: unknown) => {
    log(`\ndemo FAILED: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    // the Automation API leaves gRPC servers open: exit explicitly
    process.exit(code);
  });
