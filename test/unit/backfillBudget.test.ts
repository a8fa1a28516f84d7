// backfill.maxDurationMs: the time budget of the backfill per `pulumi up`.
import assert from "node:assert/strict";
import { InvalidSpecError } from "../../src/errors";
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
