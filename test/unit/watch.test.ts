import assert from "node:assert/strict";
import { watchLine, type StatementProgress } from "../../src/db/watch";

const idle: StatementProgress = { phase: null, blocksDone: null, blocksTotal: null, tuplesDone: null, tuplesTotal: null, lockersDone: null, lockersTotal: null, blockers: [] };

describe("reports of a long alone step (watchLine)", () => {
  it("an index build: its phase and its share of blocks, else of tuples", () => {
    assert.equal(
      watchLine("copy index a_idx", 95_000, { ...idle, phase: "building index: scanning table", blocksDone: 1234, blocksTotal: 5678 }),
      "pgshift: copy index a_idx: running 1m35s; index building index: scanning table, 1,234 of 5,678 blocks (21.7%)",
    );
    assert.equal(
      watchLine("copy index a_idx", 3_700_000, { ...idle, phase: "building index: loading tuples in tree", blocksDone: 0, blocksTotal: 0, tuplesDone: 500, tuplesTotal: 1000 }),
      "pgshift: copy index a_idx: running 1h01m; index building index: loading tuples in tree, 500 of 1,000 tuples (50.0%)",
    );
  });

  it("a waiting phase counts the sessions that ended, not the counters a phase before left", () => {
    const waiting = { ...idle, phase: "waiting for old snapshots", blocksDone: 10, blocksTotal: 11, lockersDone: 1, lockersTotal: 3 };
    assert.equal(watchLine("copy index a_idx", 4_000, waiting), "pgshift: copy index a_idx: running 4s; index waiting for old snapshots, 1 of 3 sessions ended");
  });

  it("names each session it waits for with what the catalog lets it read", () => {
    const blockers = [
      { pid: 42, state: "idle in transaction", age: "00:12:03", query: 'SELECT "x"' },
      { pid: 43, state: null, age: null, query: null },
    ];
    assert.equal(
      watchLine("drop index old_idx", 61_000, { ...idle, blockers }),
      'pgshift: drop index old_idx: running 1m01s; waiting for pid 42 (idle in transaction, transaction open 00:12:03: "SELECT \\"x\\""), pid 43 to end',
    );
    assert.equal(watchLine("validate c", 1_000, idle), "pgshift: validate c: running 1s");
  });
});
