import assert from "node:assert/strict";
import type { Measurement } from "../../bench/measure";
import type { PgbenchWindow } from "../../bench/pgbench";
import { summarize } from "../../bench/summary";

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
});
