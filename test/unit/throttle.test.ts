import assert from "node:assert/strict";
import { commitPauseMs, loadPause, nextBatchSize, replicationPauseMs } from "../../src/backfill/throttle";

const MIN = 100;
const MAX = 50_000;
const TARGET = 500;

describe("nextBatchSize", () => {
  const cases: { name: string; current: number; elapsedMs: number; expected: number }[] = [
    { name: "on target: unchanged", current: 1000, elapsedMs: 500, expected: 1000 },
    { name: "a bit fast: grows in proportion", current: 1000, elapsedMs: 400, expected: 1250 },
    { name: "a bit slow: shrinks in proportion", current: 1000, elapsedMs: 800, expected: 625 },
    { name: "twice as fast: doubles", current: 1000, elapsedMs: 250, expected: 2000 },
    { name: "ten times as fast: still only doubles", current: 1000, elapsedMs: 50, expected: 2000 },
    { name: "twice as slow: halves", current: 1000, elapsedMs: 1000, expected: 500 },
    { name: "one very slow batch (a lock wait): only halves", current: 1000, elapsedMs: 60_000, expected: 500 },
    { name: "elapsed 0 (timer resolution): grows", current: 1000, elapsedMs: 0, expected: 2000 },
    { name: "negative elapsed (clock step): grows", current: 1000, elapsedMs: -3, expected: 2000 },
    { name: "clamped to max", current: 40_000, elapsedMs: 100, expected: MAX },
    { name: "clamped to min", current: 150, elapsedMs: 10_000, expected: MIN },
    { name: "below min to begin with: raised to min", current: 10, elapsedMs: 500, expected: MIN },
    { name: "rounds to whole rows", current: 333, elapsedMs: 400, expected: 416 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.current} rows in ${c.elapsedMs} ms -> ${c.expected}`, () => {
      assert.equal(nextBatchSize(c.current, c.elapsedMs, TARGET, MIN, MAX), c.expected);
    });
  }

  it("property: always an integer in [min, max], within 2x of the current size", () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const current = MIN + Math.floor(rand() * (MAX - MIN));
      const elapsed = Math.floor(rand() * 5000);
      const target = 1 + Math.floor(rand() * 2000);
      const next = nextBatchSize(current, elapsed, target, MIN, MAX);
      assert.ok(Number.isInteger(next));
      assert.ok(next >= MIN && next <= MAX, `${next}`);
      assert.ok(next <= current * 2 && next >= Math.floor(current / 2), `${current} -> ${next}`);
    }
  });
});

describe("replicationPauseMs", () => {
  const cases: { lagMs: number; maxLagMs: number; expected: number }[] = [
    { lagMs: 0, maxLagMs: 10_000, expected: 0 },
    { lagMs: 10_000, maxLagMs: 10_000, expected: 0 },
    { lagMs: 10_001, maxLagMs: 10_000, expected: 250 }, // at least 250 ms once over
    { lagMs: 12_000, maxLagMs: 10_000, expected: 2000 }, // the excess
    { lagMs: 60_000, maxLagMs: 10_000, expected: 5000 }, // at most 5 s, then measured again
    { lagMs: 999_999, maxLagMs: 0, expected: 0 }, // 0 disables the check
  ];
  for (const c of cases) {
    it(`lag ${c.lagMs} ms, max ${c.maxLagMs} ms -> pause ${c.expected} ms`, () => {
      assert.equal(replicationPauseMs(c.lagMs, c.maxLagMs), c.expected);
    });
  }
});

describe("commitPauseMs", () => {
  const cases: { commitMs: number; maxMs: number; expected: number }[] = [
    { commitMs: 3, maxMs: 50, expected: 0 },
    { commitMs: 50, maxMs: 50, expected: 0 },
    { commitMs: 51, maxMs: 50, expected: 250 }, // 4x is 204: at least 250 ms once over
    { commitMs: 300, maxMs: 50, expected: 1200 }, // 4x the commit's time
    { commitMs: 2000, maxMs: 50, expected: 5000 }, // at most 5 s, then measured again
    { commitMs: 999_999, maxMs: 0, expected: 0 }, // 0 disables the check
  ];
  for (const c of cases) {
    it(`commit ${c.commitMs} ms, max ${c.maxMs} ms -> pause ${c.expected} ms`, () => {
      assert.equal(commitPauseMs(c.commitMs, c.maxMs), c.expected);
    });
  }
});

describe("loadPause", () => {
  const calm = { replicationLagMs: 0, oldestTransactionMs: 0, commitMs: 2 };
  const settings = { maxReplicationLagMs: 10000, maxTransactionAgeMs: 60000, maxCommitLatencyMs: 50 };
  it("runs the batch when replicas keep up, no transaction is too old and commits are quick", () => {
    assert.deepEqual(loadPause(calm, settings), { pauseMs: 0, reason: null });
  });
  it("pauses for replication lag first", () => {
    assert.deepEqual(loadPause({ replicationLagMs: 12000, oldestTransactionMs: 999999, commitMs: 999 }, settings), {
      pauseMs: 2000,
      reason: "replicas lag more than 10000 ms",
    });
  });
  it("pauses while a transaction is older than maxTransactionAgeMs, and never when the check is off (0)", () => {
    assert.deepEqual(loadPause({ ...calm, oldestTransactionMs: 61000 }, settings), {
      pauseMs: 1000,
      reason: "a transaction has been open for more than 60000 ms",
    });
    assert.deepEqual(loadPause({ ...calm, oldestTransactionMs: 61000 }, { ...settings, maxTransactionAgeMs: 0 }), { pauseMs: 0, reason: null });
  });
  it("pauses while a commit takes longer than maxCommitLatencyMs, and never when it was not measured or the check is off", () => {
    assert.deepEqual(loadPause({ ...calm, commitMs: 120.4 }, settings), {
      pauseMs: 482,
      reason: "a commit took 120 ms, more than 50 ms (backfill.maxCommitLatencyMs)",
    });
    assert.deepEqual(loadPause({ ...calm, commitMs: null }, settings), { pauseMs: 0, reason: null });
    assert.deepEqual(loadPause({ ...calm, commitMs: 120 }, { ...settings, maxCommitLatencyMs: 0 }), { pauseMs: 0, reason: null });
  });
});
