/**
 * backfill.maxCommitLatencyMs on a real server, both runners: commits made slow at the
 * throttle's own probe (support/slowCommits.ts, the first SLOW_PROBES probes wait SLEEP_MS at
 * COMMIT). Over the limit, each slow probe is followed by a pause of 4x its time before the
 * next probe, counted in the checkpoint, and the batches resume once a probe is quick, the backfill ending whole; under a
 * limit above the slow commits' time the first batch follows the first probe at once; at 0 no
 * probe runs.
 */
import assert from "node:assert/strict";
import { runBackfill, type BudgetedCheckpoint } from "../../src/backfill/run";
import { stateTableName } from "../../src/sql/state";
import type { ColumnChangeSpec } from "../../src/spec";
import { cronTestsApply, startCronServer, type CronServer } from "../support/cronServer";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { contextFromRow, createStep, expand, migrationRow, namesOf, shadowMismatches, specOf, waitFor } from "./support/expand";
import { probeGaps, slowProbeCommits } from "./support/slowCommits";

const ROWS = 20_000;
const SLEEP_MS = 200;
const SLOW_PROBES = 3;
/** Fixed batches of 1,000 rows, no other throttle. */
const FIXED = { batchSize: 1000, maxBatchSize: 1000, pauseMs: 0, targetBatchMs: 600_000, maxReplicationLagMs: 0 };

/** A table, its shadow column and mirror trigger, and the slow probe commits on its state table. */
async function prepare(url: string, table: string, spec: ColumnChangeSpec): Promise<void> {
  await withClient(url, (c) => c.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, v integer NOT NULL); INSERT INTO ${table} (v) SELECT g FROM generate_series(1, ${ROWS}) g; ANALYZE ${table};`));
  await expand(url, spec, ["shadow-column", "mirror-trigger"]);
  await withClient(url, (c) => slowProbeCommits(c, stateTableName("public"), SLEEP_MS, SLOW_PROBES));
}

/** The slow probes paused the backfill: each came at least its sleep and 4x it before the next probe. */
function assertPausedAfterSlowProbes(gaps: Array<number | null>): void {
  assert.ok(gaps.length > SLOW_PROBES, `a quick probe after the slow ones: ${JSON.stringify(gaps)}`);
  for (const gap of gaps.slice(0, SLOW_PROBES)) assert.ok(gap !== null && gap >= 0.95 * 5 * SLEEP_MS, `a pause after a slow probe: ${JSON.stringify(gaps)}`);
}

/** The checkpoint counts the slow probes' pauses and their time (4x at least SLEEP_MS each). */
function assertPausesCounted(cp: BudgetedCheckpoint): void {
  assert.equal(cp.pauses, SLOW_PROBES, JSON.stringify(cp));
  assert.ok((cp.pausedMs ?? 0) >= SLOW_PROBES * 4 * SLEEP_MS, `${cp.pausedMs} ms paused`);
}

async function assertFilled(url: string, table: string): Promise<void> {
  await withClient(url, async (c) => assert.deepEqual(await shadowMismatches(c, table, namesOf(table, "v").shadowColumn, "v::bigint"), []));
}

describe("backfill.maxCommitLatencyMs: the client runner", function () {
  this.timeout(60_000);
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("commit_throttle");
  });
  after(async () => {
    await db?.drop();
  });

  const run = async (table: string, maxCommitLatencyMs: number) => {
    const spec = specOf({ table, column: "v", toType: "bigint", backfill: { ...FIXED, maxCommitLatencyMs } });
    await prepare(db.url, table, spec);
    const ctx = await contextFromRow(db.url, spec, table, "v");
    const lines: string[] = [];
    const r = await withClient(db.url, (c) => runBackfill(c, ctx, null, { lock: spec.lock, table: `public.${table}`, stateSchema: "public", log: (l) => lines.push(l) }));
    assert.equal(r.checkpoint.done, true);
    await assertFilled(db.url, table);
    return { r, lines, gaps: await withClient(db.url, probeGaps) };
  };

  it("pauses 4x a commit's time while commits take longer than the limit, then ends the backfill", async () => {
    const { r, lines, gaps } = await run("slow_a", 100);
    assertPausedAfterSlowProbes(gaps);
    const paused = lines.filter((l) => l.includes("(backfill.maxCommitLatencyMs)"));
    assert.equal(paused.length, SLOW_PROBES, lines.join("\n"));
    for (const l of paused) assert.match(l, /: a commit took 2\d\d ms, more than 100 ms \(backfill\.maxCommitLatencyMs\), pausing (8\d\d|9\d\d|1\d\d\d) ms$/);
    assertPausesCounted(r.checkpoint);
  });

  it("does not pause for commits under the limit, and does not probe at 0", async () => {
    const under = await run("slow_b", 1000);
    assert.equal(under.r.checkpoint.pauses, undefined);
    // the first probe's next write is the first batch's checkpoint, right after its commit
    assert.ok(under.gaps[0] !== null && under.gaps[0] < 3 * SLEEP_MS, JSON.stringify(under.gaps));
    const off = await run("slow_c", 0);
    assert.deepEqual([off.r.checkpoint.pauses, off.gaps], [undefined, []]);
  });
});

describe("backfill.maxCommitLatencyMs: the database runner (pg_cron)", function () {
  this.timeout(180_000);
  let cron: CronServer;
  let db: TestDatabase;

  before(async function () {
    if (!cronTestsApply()) this.skip();
    cron = await startCronServer();
    db = await cron.createDatabase("commit_throttle_db");
  });
  after(async () => {
    await db?.drop().catch(() => undefined);
    await cron?.stop();
  });

  it("the procedure pauses 4x a commit's time while commits take longer than the limit, then ends the backfill", async () => {
    const table = "slow_db";
    const spec = specOf({ table, column: "v", toType: "bigint", backfill: { ...FIXED, runner: "database", maxCommitLatencyMs: 100 } });
    await prepare(db.url, table, spec);
    const applied = await createStep(db.url, "backfill", spec);
    assert.equal(applied.result.runner, "database");
    // pg_cron starts jobs at the minute
    await waitFor("the job to finish", async () => (await migrationRow(db.url, table, "v"))?.backfill?.done === true, 150_000, 500);
    assertPausedAfterSlowProbes(await withClient(db.url, probeGaps));
    assertPausesCounted((await migrationRow(db.url, table, "v"))!.backfill as BudgetedCheckpoint);
    await assertFilled(db.url, table);
  });
});
