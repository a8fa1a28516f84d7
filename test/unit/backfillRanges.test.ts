import { strict as assert } from "node:assert";
import { collapseParts, keysetParts, physicalParts, splitPoints, type SplittableCheckpoint } from "../../src/backfill/ranges";

const keys = (...ns: number[]) => ns.map((n) => [String(n)]);
const base: SplittableCheckpoint = { lastKey: null, upperKey: ["100"], done: false };

describe("backfill parts (backfill.workers)", () => {
  describe("splitPoints", () => {
    it("takes evenly spaced keys of the sample, one fewer than the parts", () => {
      assert.deepEqual(splitPoints(keys(1, 2, 3, 4, 5, 6, 7, 8), 2), keys(5));
      assert.deepEqual(splitPoints(keys(1, 2, 3, 4, 5, 6, 7, 8), 4), keys(3, 5, 7));
    });

    it("makes fewer parts from a sample too small or with a key twice, never an empty one", () => {
      assert.deepEqual(splitPoints([], 4), []);
      assert.deepEqual(splitPoints(keys(7), 3), keys(7));
      assert.deepEqual(splitPoints(keys(1, 1, 1, 1, 2), 4), keys(1));
      assert.deepEqual(splitPoints(keys(1, 1, 2, 2, 3, 3), 3), keys(2, 3));
      assert.deepEqual(splitPoints(keys(1, 2, 3), 1), []);
    });

    it("compares composite keys whole", () => {
      const sample = [["a", "1"], ["a", "2"], ["b", "1"], ["b", "2"]];
      assert.deepEqual(splitPoints(sample, 2), [["b", "1"]]);
    });
  });

  describe("keysetParts", () => {
    it("covers (lastKey, upperKey] with no gap and no overlap", () => {
      assert.deepEqual(keysetParts({ ...base, lastKey: ["10"] }, keys(40, 70)), [
        { lastKey: ["10"], upperKey: ["40"], done: false },
        { lastKey: ["40"], upperKey: ["70"], done: false },
        { lastKey: ["70"], upperKey: ["100"], done: false },
      ]);
    });

    it("starts the first part at the table's start when nothing was done", () => {
      assert.deepEqual(keysetParts(base, []), [{ lastKey: null, upperKey: ["100"], done: false }]);
    });
  });

  describe("physicalParts", () => {
    it("splits the pages left into runs that meet", () => {
      assert.deepEqual(physicalParts({ ...base, page: 10, pages: 20 }, 3), [
        { page: 10, end: 13, done: false },
        { page: 13, end: 16, done: false },
        { page: 16, end: 20, done: false },
      ]);
    });

    it("makes no more parts than pages", () => {
      assert.deepEqual(physicalParts({ ...base, page: 0, pages: 2 }, 8), [
        { page: 0, end: 1, done: false },
        { page: 1, end: 2, done: false },
      ]);
    });
  });

  describe("collapseParts", () => {
    it("goes back to the first part not done: later parts are walked again", () => {
      const cp = { ...base, lastKey: ["10"], ranges: [
        { lastKey: ["40"], upperKey: ["40"], done: true },
        { lastKey: ["55"], upperKey: ["70"], done: false },
        { lastKey: ["90"], upperKey: ["100"], done: false },
      ] };
      assert.deepEqual(collapseParts(cp), { ...base, lastKey: ["55"] });
    });

    it("keeps the start of a part not begun, and the table's start", () => {
      assert.deepEqual(collapseParts({ ...base, ranges: [{ lastKey: null, upperKey: ["40"], done: false }] }), base);
    });

    it("is done when every part is", () => {
      assert.deepEqual(collapseParts({ ...base, ranges: [{ lastKey: ["100"], upperKey: ["100"], done: true }] }), { ...base, done: true });
    });

    it("goes back to the first physical part's page", () => {
      const cp = { ...base, page: 0, pages: 20, ranges: [{ page: 10, end: 10, done: true }, { page: 12, end: 20, done: false }] };
      assert.deepEqual(collapseParts(cp), { ...base, page: 12, pages: 20 });
    });

    it("leaves a checkpoint that was never split alone", () => {
      assert.equal(collapseParts(base), base);
    });
  });
});
