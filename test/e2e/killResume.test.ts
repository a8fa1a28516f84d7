import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange } from "../../index";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

const TABLE = "big_files";
const ROWS = 200_000;

/** Every process whose command line contains `pattern`, except this one. */
/** Every process below this one (the CLI this test's `up` started, and its provider), from `ps`. */
function descendants(): Set<number> {
  const parent = new Map<number, number>();
  for (const line of execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" }).split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid) parent.set(pid, ppid);
  }
  const below = new Set<number>();
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        below.add(pid);
        break;
      }
    }
  }
  return below;
}

/** This test's processes whose command line matches: never another run's on the same machine. */
function pids(pattern: string): number[] {
  const ours = descendants();
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((p) => ours.has(p));
  } catch {
    return [];
  }
}

/**
 * `pulumi up` killed with SIGKILL in the middle of the backfill (the CLI and the provider
 * process with it, as a crashed CI runner would): the next `pulumi up` resumes the backfill
 * from its checkpoint instead of starting over, and the result is complete.
 */
describe("pulumi up killed mid-backfill", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("kill_resume");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, file_size integer)`);
      await c.query(`INSERT INTO ${TABLE} (file_size) SELECT g FROM generate_series(1, $1) g`, [ROWS]);
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("resumes from the checkpoint on the next up", async () => {
    const program = async () => {
      new ColumnTypeChange("file-size", {
        table: TABLE,
        column: "file_size",
        toType: "bigint",
        stage: "expand",
        connection: pulumi.secret(db.url),
        // slow on purpose: ~200 batches of 1000 rows with a pause, so there is time to kill it
        backfill: { batchSize: 1000, maxBatchSize: 1000, pauseMs: 30 },
      });
    };
    const stack = await createStack({ projectName: "pgshift-kill", program });
    const checkpoint = () =>
      withClient(db.url, async (c) => {
        const { rows } = await c.query(`SELECT backfill FROM pgshift_migrations`).catch(() => ({ rows: [] as { backfill: null }[] }));
        return (rows[0]?.backfill ?? null) as { rowsScanned: number; done: boolean } | null;
      });
    const out = collectOutput();
    const first = stack.up({ onOutput: out.onOutput }).then(
      () => "finished",
      () => "failed",
    );
    for (let i = 0; i < 600; i++) {
      const c = await checkpoint();
      if (c && c.rowsScanned >= 20_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await checkpoint();
    assert.ok(before && !before.done && before.rowsScanned > 0, `the backfill did not get going: ${JSON.stringify(before)}`);
    const victims = [...pids("dynamic-provider"), ...pids("pulumi up --yes")];
    assert.ok(victims.length > 0, "no pulumi process to kill");
    for (const pid of victims) process.kill(pid, "SIGKILL");
    assert.equal(await first, "failed");
    const killedAt = (await checkpoint())!.rowsScanned;

    // what an operator does after a crashed run: release the backend's lock, then run again
    await stack.cancel();
    out.clear();
    const second = await stack.up({ onOutput: out.onOutput });
    assert.equal(second.summary.result, "succeeded", out.text());
    assert.match(out.text(), new RegExp(`starting from checkpoint`), "the second up did not resume from the checkpoint");
    const after = await checkpoint();
    assert.ok(after?.done, "backfill not done");
    // resumed, not restarted: every row scanned about once (at most one batch again)
    assert.ok(after!.rowsScanned <= ROWS + 1000, `scanned ${after!.rowsScanned} rows for ${ROWS} (killed at ${killedAt})`);
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE file_size__pgshift_new IS DISTINCT FROM file_size::bigint`);
      assert.equal(rows[0].n, 0);
    });
  });
});
