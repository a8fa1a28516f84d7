import assert from "node:assert/strict";
import { CHILDREN, type ChildKind } from "../../src/children";
import {
  DEFAULT_POLICY_SETTINGS,
  childKindOf,
  lockViolations,
  sameTableWarnings,
  soakViolation,
  stageSkip,
  throttleViolation,
  type ChildView,
  type MigrationInUpdate,
} from "../../src/policy/rules";
import { DEFAULT_LOCK_POLICY, parseSpec, withoutStage, type Stage } from "../../src/spec";

const TABLE = { schema: "public", name: "file" };

function child(kind: ChildKind, recordedStage: Stage | null, extra: Partial<ChildView> = {}, spec: Record<string, unknown> = {}): ChildView {
  return {
    kind,
    spec: withoutStage(parseSpec({ table: "file", column: "size", toType: "bigint", stage: "expand", ...spec })),
    observed: { table: TABLE, recordedStage, tableBytes: 8192 },
    ...extra,
  };
}

describe("policy rules: one stage per update", () => {
  const cases: { kind: ChildKind; recorded: Stage | null; skip: RegExp | null }[] = [
    { kind: "shadow-column", recorded: null, skip: null },
    { kind: "cutover", recorded: null, skip: /from nothing to "cutover" in one update, with no update at "expand" in between.*set stage "expand" first/ },
    { kind: "cutover", recorded: "expand", skip: null },
    { kind: "cutover", recorded: "cutover", skip: null },
    { kind: "contract", recorded: null, skip: /from nothing to "contract" in one update, with no update at "expand", then "cutover" in between/ },
    { kind: "contract", recorded: "expand", skip: /"public"\."file"\.size would go from "expand" to "contract" in one update, with no update at "cutover" in between.*set stage "cutover" first/ },
    { kind: "contract", recorded: "cutover", skip: null },
    { kind: "contract", recorded: "contract", skip: null },
  ];
  for (const c of cases) {
    it(`${c.kind} child, recorded ${c.recorded ?? "nothing"}: ${c.skip ? "refused" : "allowed"}`, () => {
      const message = stageSkip(child(c.kind, c.recorded));
      if (c.skip) assert.match(message ?? "", c.skip);
      else assert.equal(message, undefined);
    });
  }

  it("a child planned by an older pgshift (no observed input) is not judged", () => {
    assert.equal(stageSkip({ ...child("contract", "expand"), observed: undefined }), undefined);
  });
});

describe("policy rules: soak before contract", () => {
  const cutoverAt = "2026-01-01T00:00:00.000Z";
  const at = (seconds: number) => new Date(Date.parse(cutoverAt) + seconds * 1000);

  it("refuses contract until the soak has passed, names how long and until when", () => {
    const c = child("contract", "cutover", { cutoverAt });
    assert.match(soakViolation(c, at(59), 60) ?? "", /cutover has been live for 59s \(since 2026-01-01T00:00:00.000Z\), less than the soak of 60s.*after 2026-01-01T00:01:00.000Z/);
    assert.equal(soakViolation(c, at(60), 60), undefined);
    assert.equal(soakViolation(c, at(0), 0), undefined);
  });

  it("refuses when the cutover time is not recorded", () => {
    for (const cutoverAt of [null, undefined, "not a date"]) {
      assert.match(soakViolation(child("contract", "cutover", { cutoverAt }), at(10_000), 60) ?? "", /records no cutover time/);
    }
  });

  it("judges only a Contract child about to run: not after contract, not other children", () => {
    assert.equal(soakViolation(child("contract", "contract", { cutoverAt }), at(1), 60), undefined);
    assert.equal(soakViolation(child("cutover", "cutover", { cutoverAt }), at(1), 60), undefined);
  });
});

describe("policy rules: lock settings", () => {
  const s = DEFAULT_POLICY_SETTINGS;
  it("the defaults pass", () => assert.deepEqual(lockViolations(DEFAULT_LOCK_POLICY, s), []));
  const cases: { lock: Partial<typeof DEFAULT_LOCK_POLICY>; expected: RegExp }[] = [
    { lock: { lockTimeoutMs: 0 }, expected: /lockTimeoutMs is off/ },
    { lock: { lockTimeoutMs: s.maxLockTimeoutMs + 1, maxLockTimeoutMs: s.maxLockTimeoutMs + 1 }, expected: /lockTimeoutMs 10001 is above the ceiling of 10000 ms/ },
    { lock: { maxLockTimeoutMs: 60_000 }, expected: /^maxLockTimeoutMs 60000 is above the ceiling of 10000 ms$/ },
    { lock: { lockRetries: 1 }, expected: /lockRetries 1 is below 2 \(retries are off/ },
    { lock: { lockRetries: 101 }, expected: /lockRetries 101 is above the ceiling of 100/ },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.lock)} is refused`, () => {
      const found = lockViolations({ ...DEFAULT_LOCK_POLICY, ...c.lock }, s);
      assert.ok(found.some((m) => c.expected.test(m)), found.join("\n"));
    });
  }
  it("the ceilings come from the settings", () => {
    assert.deepEqual(lockViolations({ ...DEFAULT_LOCK_POLICY, lockRetries: 1 }, { ...s, minLockRetries: 1 }), []);
    assert.equal(lockViolations({ ...DEFAULT_LOCK_POLICY, maxLockTimeoutMs: 5000 }, { ...s, maxLockTimeoutMs: 4000 }).length, 1);
  });
});

describe("policy rules: backfill throttle by table size", () => {
  const big = (backfill: Record<string, number>, bytes: number) => ({ ...child("backfill", null, {}, { backfill }), observed: { table: TABLE, recordedStage: null, tableBytes: bytes } });
  const s = { ...DEFAULT_POLICY_SETTINGS, maxUnthrottledTableBytes: 1000 };
  const off = { maxReplicationLagMs: 0, pauseMs: 0, maxTransactionAgeMs: 0, maxCommitLatencyMs: 0 };

  it("refuses every throttle off above the size, names the size", () => {
    assert.match(throttleViolation(big(off, 1001), s) ?? "", /no throttle .* on a table of 1001 bytes, above 1000/);
  });
  it("allows it at or below the size, and any one throttle above it", () => {
    assert.equal(throttleViolation(big(off, 1000), s), undefined);
    for (const on of [{ pauseMs: 10 }, { maxReplicationLagMs: 10 }, { maxTransactionAgeMs: 10 }, { maxCommitLatencyMs: 10 }]) {
      assert.equal(throttleViolation(big({ ...off, ...on }, 10 ** 12), s), undefined, JSON.stringify(on));
    }
  });
  it("the defaults are throttled (replication-lag check on)", () => {
    assert.equal(throttleViolation(big({}, 10 ** 12), s), undefined);
  });
  it("judges only the Backfill child", () => {
    assert.equal(throttleViolation({ ...big(off, 10 ** 12), kind: "shadow-column" }, s), undefined);
  });
});

describe("policy rules: one change per table", () => {
  const m = (component: string, column: string, changing: boolean, name = "file"): MigrationInUpdate => ({ component, table: { schema: "public", name }, column, changing });

  it("warns once for a table two changing migrations touch", () => {
    const w = sameTableWarnings([m("a", "size", true), m("b", "chunk", true), m("c", "x", true, "other")]);
    assert.equal(w.length, 1);
    assert.match(w[0], /^2 changes touch table "public"\."file" in one update \(column size, column chunk\)/);
  });
  it("says nothing when only one of them changes, or for different tables", () => {
    assert.deepEqual(sameTableWarnings([m("a", "size", true), m("b", "chunk", false)]), []);
    assert.deepEqual(sameTableWarnings([m("a", "size", true), m("b", "chunk", true, "other")]), []);
  });
});

describe("policy rules: child types", () => {
  it("every child's Pulumi type maps back to its kind; other types to none", () => {
    for (const c of CHILDREN) assert.equal(childKindOf(`pulumi-nodejs:dynamic/pgshift:${c.type}`), c.kind);
    assert.equal(childKindOf("pgshift:index:ColumnTypeChange"), undefined);
    assert.equal(childKindOf("pulumi-nodejs:dynamic/other:Cutover"), undefined);
  });
});
