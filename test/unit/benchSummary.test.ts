import assert from "node:assert/strict";
import type { Measurement } from "../../bench/measure";
import type { PgbenchWindow } from "../../bench/pgbench";
import { median, summarize } from "../../bench/summary";

const m = (id: string, wallMs: number, rowsPerSec: number | null, writerStallMs: number): Measurement => ({
  id, operation: id, wallMs, rowsPerSec, writerStallMs, failedWrites: 0, firstFailure: null, writerStatements: 0, rssBeforeMb: 90, rssPeakMb: 95, rssSamples: 10, notes: "",
});
const w = (id: string, p99Ms: number, failed = 0): PgbenchWindow => ({ id, label: id, seconds: 1, transactions: 100, tps: 100, p50Ms: 1, p99Ms, maxMs: p99Ms, failed });

// summary.json is read by tools: exactly these fields, from the right measurements
describe("bench summary.json", () => {
  const results = [
    m("alter", 2000, 500_000, 1900),
    m("update", 10_000, 100_000, 9000),
    m("pgshift-backfill", 12_500, 80_000, 150),
    m("pgshift-expand", 15_000, null, 150),
    m("pgshift-cutover", 600, null, 20),
    m("pgshift-lifecycle", 20_000, 50_000, 180),
    m("pgroll-start", 60_000, 16_667, 250),
  ];

  it("has exactly the fields of issue #7, each from its measurement", () => {
    const s = summarize(results, { windows: [w("baseline", 20), w("pgshift-backfill", 30)], failedTransactions: 1, abortedClients: ["client 2 aborted"], coversRun: true });
    assert.deepEqual(s.json, {
      backfill_rows_per_s: 80_000,
      single_update_rows_per_s: 100_000,
      pgroll_rows_per_s: 16_667,
      pgroll_start_ms: 60_000,
      expand_ms: 15_000,
      alter_blocked_ms: 1900,
      cutover_blocked_ms: 20,
      pgbench_failed: 2,
      pgbench_p99_ratio: 1.5,
      max_app_stall_ms: 180,
    });
    assert.deepEqual(s.targets.map((t) => t.met), [false, true, false, true, false]);
  });

  it("says null for what was not measured", () => {
    const s = summarize(results.filter((r) => r.id.startsWith("pgshift")), null);
    assert.equal(s.json.single_update_rows_per_s, null);
    assert.equal(s.json.pgroll_start_ms, null);
    assert.equal(s.json.pgbench_failed, null);
    assert.equal(s.json.pgbench_p99_ratio, null);
    assert.equal(s.json.backfill_rows_per_s, 80_000);
    assert.equal(s.targets[0].met, null);
  });

  it("with rounds, reads the median of the rounds' ratios and the worst stall, and lists every round", () => {
    const round = (r: number, backfillRowsPerSec: number, expandMs: number, p99Ms: number, stallMs: number): Measurement[] => {
      const tag = r === 1 ? "" : `-r${r}`;
      return [
        m(`update${tag}`, 10_000, 100_000, 9000),
        m(`pgshift${tag}-backfill`, 1, backfillRowsPerSec, 10),
        m(`pgshift${tag}-expand`, expandMs, null, 10),
        m(`pgshift${tag}-cutover`, 100, null, stallMs / 2),
        m(`pgshift${tag}-lifecycle`, 1, null, stallMs),
        m(`pgroll${tag}-start`, 30_000, 33_333, 100),
      ];
    };
    // round 2 is the outlier each time: the median is round 1's or round 3's
    const results = [...round(1, 120_000, 10_000, 8, 40), ...round(2, 60_000, 20_000, 30, 90), ...round(3, 110_000, 9_000, 9, 30)];
    // each round's p99 over its own round's pgbench-alone baseline: 8/5, 30/10, 9/4.5
    const windows = [
      ...[w("baseline", 5), w("baseline-r2", 10), w("baseline-r3", 4.5)],
      ...[w("pgshift-backfill", 8), w("pgshift-r2-backfill", 30), w("pgshift-r3-backfill", 9)],
      ...[w("application", 4), w("application-r2", 5), w("application-r3", 6)],
      // the one-core floor: 8/4, 30/12, 9/6 over it; 4/5, 12/10, 6/4.5 over pgbench alone
      ...[w("one-core", 4), w("one-core-r2", 12), w("one-core-r3", 6)],
    ];
    const s = summarize(results, { windows, failedTransactions: 0, abortedClients: [], coversRun: true }, 3);
    assert.equal(s.json.backfill_rows_per_s, 110_000);
    assert.equal(s.json.expand_ms, 10_000);
    assert.equal(s.json.pgbench_p99_ratio, 2);
    assert.equal(s.json.max_app_stall_ms, 90);
    assert.equal(s.json.cutover_blocked_ms, 45);
    assert.equal(s.ratios.backfillRowsPerSecOverSingleUpdate, 1.1);
    assert.equal(s.ratios.pgrollStartOverPgshiftExpand, 3);
    assert.equal(s.ratios.pgbenchP99OverApplicationAlone, 2);
    assert.equal(s.ratios.pgbenchP99OverOneCoreBusy, 2);
    assert.equal(s.ratios.oneCoreBusyPgbenchP99Ratio, 1.2);
    assert.deepEqual(s.targets.map((t) => t.met), [true, true, true, true, true]);
    assert.equal(s.targets[0].measured, "1.10x (median of 3 rounds: 1.20x, 0.60x, 1.10x)");
    assert.equal(s.targets[3].measured, "2.00x (median of 3 rounds: 1.60x, 3.00x, 2.00x)");
    assert.equal(s.targets[4].measured, "90 ms (worst of 3 rounds: 40 ms, 90 ms, 30 ms)");
    assert.equal(s.rounds.length, 3);
  });

  it("median: the middle value, the mean of the two middle ones, null for none", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(median([]), null);
  });
});
