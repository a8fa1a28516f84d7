// backfill.maxDurationMs: the time budget of the backfill per `pulumi up`.
import assert from "node:assert/strict";
import { InvalidSpecError } from "../../src/errors";
import { budgetStopLine, formatBudget, progressText, remaining, remainingText } from "../../src/backfill/progress";
import { MAX_MS, parseSpec, type ColumnChangeInput } from "../../src/spec";

const BASE: ColumnChangeInput = { table: "contentcuration_file", column: "file_size", toType: "bigint", stage: "expand" };

function rejects(backfill: unknown, message: string): void {
  assert.throws(
    () => parseSpec({ ...BASE, backfill } as unknown as ColumnChangeInput),
    (err: unknown) => err instanceof InvalidSpecError && err.message === message,
  );
}

describe("backfill.maxDurationMs", () => {
  it("has no default: the key stays out of the spec (specs written before it existed stay equal)", () => {
    assert.equal("maxDurationMs" in parseSpec(BASE).backfill, false);
    assert.equal("maxDurationMs" in parseSpec({ ...BASE, backfill: { maxDurationMs: undefined } }).backfill, false);
    assert.equal("maxDurationMs" in parseSpec({ ...BASE, backfill: { maxDurationMs: null } } as unknown as ColumnChangeInput).backfill, false);
  });

  it("keeps a positive integer up to MAX_MS", () => {
    assert.equal(parseSpec({ ...BASE, backfill: { maxDurationMs: 600_000 } }).backfill.maxDurationMs, 600_000);
    assert.equal(parseSpec({ ...BASE, backfill: { maxDurationMs: 1 } }).backfill.maxDurationMs, 1);
    assert.equal(parseSpec({ ...BASE, backfill: { maxDurationMs: MAX_MS } }).backfill.maxDurationMs, MAX_MS);
  });

  it("refuses what is not a positive integer, or past MAX_MS, with the value as written", () => {
    rejects({ maxDurationMs: 0 }, "backfill.maxDurationMs must be a positive integer (got 0)");
    rejects({ maxDurationMs: -1 }, "backfill.maxDurationMs must be a positive integer (got -1)");
    rejects({ maxDurationMs: 1.5 }, "backfill.maxDurationMs must be a positive integer (got 1.5)");
    rejects({ maxDurationMs: NaN }, "backfill.maxDurationMs must be a positive integer (got NaN)");
    rejects({ maxDurationMs: Infinity }, "backfill.maxDurationMs must be a positive integer (got Infinity)");
    rejects({ maxDurationMs: "60000" }, 'backfill.maxDurationMs must be a positive integer (got "60000")');
    rejects({ maxDurationMs: 2 ** 31 }, "backfill.maxDurationMs must be at most 2147483647 (got 2147483648)");
  });
});

describe("progressText", () => {
  it("says how far an unfinished backfill got, never less than it scanned", () => {
    assert.equal(progressText({ scanned: 60_000, total: 200_000, done: false }), "backfill in progress: 60,000 of 200,000 rows (30.0%)");
    // reltuples is an estimate: a stale one must not show more rows done than there are
    assert.equal(progressText({ scanned: 1500, total: 1000, done: false }), "backfill in progress: 1,500 of 1,500 rows (100.0%)");
    assert.equal(progressText({ scanned: 5, total: null, done: false }), "backfill in progress: 5 rows");
  });

  it("says a finished backfill is done, with the rows it scanned", () => {
    assert.equal(progressText({ scanned: 200_000, total: 150_000, done: true }), "backfill done: 200,000 rows");
  });
});

describe("remaining", () => {
  it("estimates the time left from the budgeted runs' rate, and the deploys from the budget", () => {
    const r = remaining({ scanned: 60_000, total: 200_000, spent: { ms: 6000, rows: 60_000 }, budgetMs: 2000 });
    assert.deepEqual(r, { rows: 140_000, ms: 14_000, deploys: 7 });
    assert.equal(remainingText(r, 2000), "about 140,000 rows left, about 14s of backfill, about 7 more deploys at backfill.maxDurationMs 2000");
  });

  it("says at least one more deploy while unfinished, and only what it knows", () => {
    assert.equal(remaining({ scanned: 1000, total: 900, spent: { ms: 100, rows: 1000 }, budgetMs: 2000 }).deploys, 1);
    const noRate = remaining({ scanned: 1000, total: 3000, budgetMs: 2000 });
    assert.deepEqual(noRate, { rows: 2000, ms: null, deploys: null });
    assert.equal(remainingText(noRate, 2000), "about 2,000 rows left");
    assert.equal(remainingText(remaining({ scanned: 0, total: 10, spent: { ms: 10, rows: 10 } })), "about 10 rows left, about 10 ms of backfill");
  });
});

describe("budgetStopLine", () => {
  it("names the budget, how far it got, the rate, where it stopped and how to continue", () => {
    assert.equal(formatBudget(250), "250 ms");
    assert.equal(formatBudget(90_000), "1m30s");
    const line = budgetStopLine({
      label: "public.t.v",
      budgetMs: 2000,
      scanned: 60_000,
      scannedThisRun: 40_000,
      total: 200_000,
      elapsedMs: 2000,
      lastKey: ["60000"],
      spent: { ms: 3000, rows: 60_000 },
    });
    assert.equal(
      line,
      "pgshift: backfill public.t.v: time budget of 2s (backfill.maxDurationMs) used up after 2s: 60,000 of 200,000 rows (30.0%), 40,000 this run at 20,000 rows/s. " +
        "Stopped cleanly with the checkpoint after key (60000) committed; the index copies wait and cutover is refused until it finishes. " +
        'Run pulumi up again (stage "expand") to continue from there: about 140,000 rows left, about 7s of backfill, about 4 more deploys at backfill.maxDurationMs 2000.',
    );
  });
});
