import assert from "node:assert/strict";
import { flatness, type BatchSample } from "../../bench/batchSampler";
import { parseLogLine, windowStats } from "../../bench/pgbench";
import { readBenchOptions } from "../../bench/options";
import { variantOptions } from "../../bench/pgshiftLifecycle";
import { walBetween } from "../../bench/walSampler";
import { UsageError } from "../../scripts/lib/env";
import { failedOverlapping, longestOverlapping, percentile, waitPerBucket } from "../../bench/stats";

// the arithmetic behind summary.json: a wrong percentile or window would misreport every run
describe("bench statistics", () => {
  it("percentile by nearest rank", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile(v, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([], 99), 0);
  });

  it("a statement blocked by a lock counts with its whole wait in the window it overlapped", () => {
    // ended 500 ms after the window, waited 2 s: it began inside the window
    const blocked = { t: 10_500, ms: 2000, ok: true };
    const before = { t: 8_900, ms: 50, ok: false };
    const samples = [before, blocked, { t: 9_500, ms: 5, ok: true }];
    assert.equal(longestOverlapping(samples, 9_000, 10_000), 2000);
    assert.equal(longestOverlapping(samples, 11_000, 12_000), 0);
    assert.equal(failedOverlapping(samples, 9_000, 10_000), 0);
    assert.equal(failedOverlapping(samples, 8_000, 9_000), 1);
  });

  it("the plot's series: the longest wait per bucket, a blocked statement as a ramp", () => {
    const blocked = { t: 1_450, ms: 400 }; // began at 1,050
    const pts = waitPerBucket([{ t: 1_010, ms: 3 }, { t: 1_050, ms: 9 }, blocked, { t: 1_250, ms: 4 }, { t: 5_000, ms: 1 }], 1_000, 2_000, 100);
    assert.deepEqual(pts, [
      { s: 0.1, maxMs: 50 },
      { s: 0.2, maxMs: 150 },
      { s: 0.3, maxMs: 250 },
      { s: 0.4, maxMs: 350 },
      { s: 0.5, maxMs: 400 },
    ]);
  });

  it("reads pgbench's per-transaction log lines (PostgreSQL 15), failed ones included", () => {
    assert.deepEqual(parseLogLine("0 199 2241 0 1733061600 250000"), { t: 1_733_061_600_250, ms: 2.241, failed: false });
    assert.deepEqual(parseLogLine("3 12 serialization 0 1733061601 0"), { t: 1_733_061_601_000, ms: 0, failed: true });
    assert.equal(parseLogLine(""), null);
  });

  it("groups pgbench's transactions by the phase they ended in", () => {
    const txs = [
      { t: 1_100, ms: 2, failed: false },
      { t: 1_900, ms: 4, failed: false },
      { t: 2_500, ms: 0, failed: true },
      { t: 2_600, ms: 30, failed: false },
    ];
    const [a, b] = windowStats(txs, [{ id: "a", label: "A", start: 1_000, end: 2_000 }, { id: "b", label: "B", start: 2_000, end: 3_000 }]);
    assert.deepEqual(a, { id: "a", label: "A", seconds: 1, transactions: 2, tps: 2, p50Ms: 2, p99Ms: 4, maxMs: 4, failed: 0 });
    assert.deepEqual(b, { id: "b", label: "B", seconds: 1, transactions: 2, tps: 2, p50Ms: 30, p99Ms: 30, maxMs: 30, failed: 1 });
  });

  it("compares the first tenth of the batches with the last", () => {
    // 20 batches of 1000 rows every 100 ms, RSS growing by 1 MB in the last ones
    const samples: BatchSample[] = Array.from({ length: 21 }, (_, i) => ({ ms: i * 100, rowsScanned: i * 1000, rssMb: i > 17 ? 101 : 100 }));
    const f = flatness(samples);
    assert.ok(f);
    assert.equal(f.samples, 20);
    assert.equal(Math.round(f.firstRowsPerSec), 10_000);
    assert.equal(Math.round(f.lastRowsPerSec), 10_000);
    assert.equal(f.firstRssMb, 100);
    assert.equal(f.lastRssMb, 101);
    assert.equal(f.tenths.length, 10);
    assert.deepEqual(f.tenths.map((t) => Math.round(t.rowsPerSec)), Array(10).fill(10_000));
    assert.equal(f.tenths[9].rowsScanned, 20_000);
    assert.equal(flatness(samples.slice(0, 3)), null);
  });

  it("a phase's WAL: bytes interpolated between the samples, checkpoints from the sample before to the one after", () => {
    const samples = [
      { t: 1_000, bytes: 0, checkpoints: 4 },
      { t: 1_200, bytes: 2_000, checkpoints: 4 },
      { t: 1_400, bytes: 2_000, checkpoints: 5 },
      { t: 1_600, bytes: 6_000, checkpoints: 5 },
    ];
    // 1,100 is halfway to 2,000 bytes; 1,500 halfway from 2,000 to 6,000
    assert.deepEqual(walBetween(samples, 1_100, 1_500), { bytes: 3_000, checkpoints: 1 });
    assert.deepEqual(walBetween(samples, 1_200, 1_400), { bytes: 0, checkpoints: 1 });
    // a checkpoint that finished between the last sample before the phase and its start still counts
    assert.deepEqual(walBetween(samples, 1_300, 1_350), { bytes: 0, checkpoints: 1 });
    assert.deepEqual(walBetween(samples, 1_450, 1_600), { bytes: 3_000, checkpoints: 0 });
    assert.equal(walBetween(samples, 900, 1_500), null);
    assert.equal(walBetween(samples, 1_100, 1_700), null);
    assert.equal(walBetween([], 1_000, 1_000), null);
  });

  it("BENCH_VARIANTS: a JSON list of backfill option objects, refused otherwise", () => {
    const saved = process.env.BENCH_VARIANTS;
    try {
      delete process.env.BENCH_VARIANTS;
      assert.deepEqual(readBenchOptions().variants, []);
      process.env.BENCH_VARIANTS = '[{"workers":3},{"targetBatchMs":100,"workers":1}]';
      assert.deepEqual(readBenchOptions().variants, [{ workers: 3 }, { targetBatchMs: 100, workers: 1 }]);
      for (const bad of ["{", '{"workers":3}', "[3]", "[[]]", "[null]"]) {
        process.env.BENCH_VARIANTS = bad;
        assert.throws(() => readBenchOptions(), (e: unknown) => e instanceof UsageError && /BENCH_VARIANTS takes a JSON list/.test(e.message), bad);
      }
      // each is a user's backfill options: validated, and a misspelt option refused rather than measured as the default
      assert.deepEqual(variantOptions({ workers: 3 }), { workers: 3 });
      assert.throws(() => variantOptions({ worker: 3 }), /BENCH_VARIANTS: backfill has no option "worker"/);
      assert.throws(() => variantOptions({ workers: 99 }), /backfill\.workers/);
    } finally {
      if (saved === undefined) delete process.env.BENCH_VARIANTS;
      else process.env.BENCH_VARIANTS = saved;
    }
  });
});
