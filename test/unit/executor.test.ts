import assert from "node:assert/strict";
import type { ClientBase } from "pg";
import { lockTimeoutSchedule, retryPauseMs, runStep, withLockRetry, type ExecutorOptions } from "../../src/db/executor";
import { LockTimeoutError } from "../../src/errors";
import { alone, transaction } from "../../src/plan/step";
import { DEFAULT_LOCK_POLICY, type LockPolicy } from "../../src/spec";

describe("lockTimeoutSchedule", () => {
  const cases: { policy: LockPolicy; expected: number[] }[] = [
    { policy: DEFAULT_LOCK_POLICY, expected: [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000] },
    { policy: { lockTimeoutMs: 100, lockRetries: 1, maxLockTimeoutMs: 5000 }, expected: [100] },
    { policy: { lockTimeoutMs: 50, lockRetries: 3, maxLockTimeoutMs: 50 }, expected: [50, 50, 50] },
    { policy: { lockTimeoutMs: 30, lockRetries: 5, maxLockTimeoutMs: 1000 }, expected: [30, 60, 120, 240, 480] },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.policy)} -> ${JSON.stringify(c.expected)}`, () => assert.deepEqual(lockTimeoutSchedule(c.policy), c.expected));
  }

  it("property: lockRetries entries, starting at lockTimeoutMs, non-decreasing, never above the cap", () => {
    for (let start = 1; start <= 300; start += 37) {
      for (let retries = 1; retries <= 15; retries += 2) {
        const policy = { lockTimeoutMs: start, lockRetries: retries, maxLockTimeoutMs: start * 20 };
        const s = lockTimeoutSchedule(policy);
        assert.equal(s.length, retries);
        assert.equal(s[0], start);
        for (let i = 1; i < s.length; i++) {
          assert.ok(s[i] >= s[i - 1] && s[i] <= policy.maxLockTimeoutMs);
          assert.ok(s[i] === Math.min(policy.maxLockTimeoutMs, 2 * s[i - 1]), "doubles until the cap");
        }
      }
    }
  });
});

describe("retryPauseMs", () => {
  const ALMOST_ONE = 1 - Number.EPSILON;
  const cases: { attempt: number; min: number; max: number }[] = [
    { attempt: 1, min: 25, max: 75 },
    { attempt: 2, min: 50, max: 150 },
    { attempt: 3, min: 100, max: 300 },
    { attempt: 6, min: 800, max: 2400 },
    { attempt: 7, min: 1000, max: 3000 }, // base capped at 2000
    { attempt: 30, min: 1000, max: 3000 },
  ];
  for (const c of cases) {
    it(`attempt ${c.attempt}: ${c.min} ms with random() = 0, ${c.max} ms with random() ~ 1`, () => {
      assert.equal(retryPauseMs(c.attempt, () => 0), c.min);
      assert.equal(retryPauseMs(c.attempt, () => ALMOST_ONE), c.max);
      assert.equal(retryPauseMs(c.attempt, () => 0.5), (c.min + c.max) / 2);
    });
  }

  it("grows with the attempt until the cap, for any fixed random()", () => {
    for (const r of [0, 0.25, 0.5, ALMOST_ONE]) {
      const pauses = Array.from({ length: 10 }, (_, i) => retryPauseMs(i + 1, () => r));
      for (let i = 1; i < pauses.length; i++) assert.ok(pauses[i] >= pauses[i - 1], `${pauses}`);
      assert.ok(pauses[5] > pauses[0]);
      assert.ok(Math.max(...pauses) <= 3000);
    }
  });
});

/** A pg client stand-in: records every query; `fail` decides which ones throw. */
function fakeClient(fail: (sql: string, n: number) => Error | undefined = () => undefined) {
  const log: string[] = [];
  const client = {
    async query(sql: string) {
      log.push(sql);
      const err = fail(sql, log.length);
      if (err) throw err;
      if (sql.includes("pg_locks")) return { rows: [{ pid: 42, state: "idle in transaction", age: "00:01:02", query: "LOCK TABLE t" }] };
      return { rows: [] };
    },
  };
  // only query() is used by the executor; the rest of ClientBase is not needed here
  return { db: client as unknown as ClientBase, log };
}

function pgError(code: string): Error {
  return Object.assign(new Error(`pg error ${code}`), { code });
}

function options(extra: Partial<ExecutorOptions> = {}): ExecutorOptions & { sleeps: number[]; lines: string[] } {
  const sleeps: number[] = [];
  const lines: string[] = [];
  return {
    lock: { lockTimeoutMs: 100, lockRetries: 3, maxLockTimeoutMs: 5000 },
    random: () => 0.5,
    sleep: async (ms) => void sleeps.push(ms),
    log: (line) => lines.push(line),
    sleeps,
    lines,
    ...extra,
  };
}

describe("withLockRetry (fake client, no database)", () => {
  it("returns the first success, passing each attempt its lock_timeout", async () => {
    const { db } = fakeClient();
    const opts = options();
    const seen: number[] = [];
    const result = await withLockRetry(db, "add the shadow column", opts, async (ms) => {
      seen.push(ms);
      if (seen.length < 3) throw pgError("55P03");
      return "done";
    });
    assert.equal(result, "done");
    assert.deepEqual(seen, [100, 200, 400]);
    assert.deepEqual(opts.sleeps, [50, 100]);
    assert.deepEqual(opts.lines, [
      "pgshift: add the shadow column: lock not granted within 100 ms (attempt 1/3), retrying in 50 ms",
      "pgshift: add the shadow column: lock not granted within 200 ms (attempt 2/3), retrying in 100 ms",
    ]);
  });

  it("retries deadlocks too, and runs the cleanup statements before each retry", async () => {
    const { db, log } = fakeClient();
    let n = 0;
    const stats = { statements: 0, lockRetries: 0 };
    await withLockRetry(db, "x", options(), async () => {
      if (n++ === 0) throw pgError("40P01");
    }, stats, ["DROP INDEX CONCURRENTLY IF EXISTS i"]);
    assert.deepEqual(log, ["DROP INDEX CONCURRENTLY IF EXISTS i"]);
    assert.equal(stats.lockRetries, 1);
  });

  it("rethrows any other error at once", async () => {
    const { db } = fakeClient();
    const opts = options();
    let attempts = 0;
    await assert.rejects(
      withLockRetry(db, "x", opts, async () => {
        attempts++;
        throw pgError("42P01");
      }),
      /pg error 42P01/,
    );
    assert.equal(attempts, 1);
    assert.deepEqual(opts.sleeps, []);
  });

  it("gives up after lockRetries attempts with a LockTimeoutError naming the blocking sessions, without a useless last pause", async () => {
    const { db } = fakeClient();
    const opts = options({ table: '"public"."contentcuration_file"' });
    let attempts = 0;
    await assert.rejects(
      withLockRetry(db, "add the shadow column", opts, async () => {
        attempts++;
        throw pgError("55P03");
      }),
      (err: unknown) => {
        assert.ok(err instanceof LockTimeoutError);
        assert.equal(err.attempts, 3);
        assert.equal(
          err.message,
          "gave up on add the shadow column after 3 attempts: each time another session held a conflicting lock longer than the lock_timeout" +
            ' (blocking sessions: pid 42 (idle in transaction, transaction open 00:01:02: "LOCK TABLE t"))' +
            ". Nothing was left half-done; run pulumi up again when the blocking transactions have finished, or raise lockTimeoutMs / lockRetries.",
        );
        return true;
      },
    );
    assert.equal(attempts, 3);
    assert.equal(opts.sleeps.length, 2);
  });

  // after the last attempt withLockRetry throws LockTimeoutError: its last log line must not
  // promise a retry that never comes
  it("does not announce a retry after the last attempt", async () => {
    const { db } = fakeClient();
    const opts = options();
    await assert.rejects(withLockRetry(db, "x", opts, async () => Promise.reject(pgError("55P03"))), LockTimeoutError);
    assert.equal(opts.lines.length, 3);
    assert.doesNotMatch(opts.lines[2], /retrying/);
  });
});

describe("runStep (fake client, no database)", () => {
  it("transaction step: BEGIN, SET LOCAL lock_timeout, statements, COMMIT", async () => {
    const { db, log } = fakeClient();
    await runStep(db, transaction("two statements", "SELECT 1", "SELECT 2"), options());
    assert.deepEqual(log, ["BEGIN", "SET LOCAL lock_timeout = 100", "SELECT 1", "SELECT 2", "COMMIT"]);
  });

  it("transaction step that times out: ROLLBACK, then the whole transaction again with a longer timeout", async () => {
    const { db, log } = fakeClient((sql, n) => (sql === "SELECT 2" && n < 6 ? pgError("55P03") : undefined));
    const stats = { statements: 0, lockRetries: 0 };
    await runStep(db, transaction("two statements", "SELECT 1", "SELECT 2"), options(), stats);
    assert.deepEqual(log, [
      "BEGIN",
      "SET LOCAL lock_timeout = 100",
      "SELECT 1",
      "SELECT 2",
      "ROLLBACK",
      "BEGIN",
      "SET LOCAL lock_timeout = 200",
      "SELECT 1",
      "SELECT 2",
      "COMMIT",
    ]);
    assert.deepEqual(stats, { statements: 2, lockRetries: 1 });
  });

  it("alone step: no lock_timeout (it blocks no application query), onRetry statements after a failed attempt", async () => {
    const { db, log } = fakeClient((sql, n) => (sql.startsWith("CREATE INDEX") && n === 2 ? pgError("55P03") : undefined));
    await runStep(db, alone("build", "CREATE INDEX CONCURRENTLY i ON t (c)", ["DROP INDEX CONCURRENTLY IF EXISTS i"]), options());
    assert.deepEqual(log, [
      "SET lock_timeout = 0",
      "CREATE INDEX CONCURRENTLY i ON t (c)",
      "RESET lock_timeout",
      "DROP INDEX CONCURRENTLY IF EXISTS i",
      "SET lock_timeout = 0",
      "CREATE INDEX CONCURRENTLY i ON t (c)",
      "RESET lock_timeout",
    ]);
  });
});
