// backfill.workers: the keys (pages) left are split into parts, each walked by its own worker
// on its own connection at once; every row is scanned once in total, a stop and a resume go on
// in every part, a failed worker fails the run without losing what committed, and the
// in-database runner takes a split checkpoint back to one range without missing a row.
import assert from "node:assert/strict";
import type { Client } from "pg";
import { prepareCheckpoint, type BudgetedCheckpoint } from "../../src/backfill/checkpoint";
import { runBackfill, type BackfillRunOptions } from "../../src/backfill/run";
import type { PlanContext } from "../../src/plan/facts";
import type { ColumnChangeSpec } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { startWriter } from "../support/writer";
import { contextFromRow, expand, migrationRow, namesOf, shadowMismatches, specOf } from "./support/expand";

function fixedBatches(batchSize: number, workers: number) {
  return { batchSize, maxBatchSize: batchSize, targetBatchMs: 600_000, maxReplicationLagMs: 0, workers };
}

async function checkpointOf(url: string, table: string, column: string): Promise<BudgetedCheckpoint | null> {
  return ((await migrationRow(url, table, column))?.backfill ?? null) as BudgetedCheckpoint | null;
}

describe("backfill: workers on parts of the table at once", function () {
  let db: TestDatabase;
  /** Connections the workers opened and that are still open at the end of a run. */
  let open: Client[];

  function options(spec: ColumnChangeSpec, table: string, extra: Partial<BackfillRunOptions> = {}): BackfillRunOptions {
    return {
      lock: spec.lock,
      table: `public.${table}`,
      stateSchema: "public",
      connect: async () => {
        const { Client: PgClient } = await import("pg");
        const c = new PgClient({ connectionString: db.url, application_name: "pgshift-test-worker" });
        await c.connect();
        open.push(c);
        const end = c.end.bind(c);
        c.end = (async () => {
          open = open.filter((o) => o !== c);
          await end();
        }) as typeof c.end;
        return c;
      },
      ...extra,
    };
  }

  /** The most backfill batch transactions open at one instant while `during` ran (sessions in this database with a transaction id, but the writer's). */
  async function mostAtOnce(during: Promise<unknown>): Promise<number> {
    let most = 0;
    let running = true;
    const watch = withClient(db.url, async (c) => {
      while (running) {
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL AND application_name <> 'test-writer' AND pid <> pg_backend_pid()`,
        );
        most = Math.max(most, rows[0].n);
      }
    });
    try {
      await during;
    } finally {
      running = false;
      await watch;
    }
    return most;
  }

  /** A table (id serial, v integer) of `rows` rows, expanded up to the backfill, and its context. */
  async function integerTable(table: string, rows: number, batch: number, workers: number): Promise<{ spec: ColumnChangeSpec; ctx: PlanContext }> {
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, v integer NOT NULL);
               INSERT INTO ${table} (v) SELECT g * 3 FROM generate_series(1, ${rows}) g; ANALYZE ${table};`),
    );
    const spec = specOf({ table, column: "v", toType: "bigint", backfill: fixedBatches(batch, workers) });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    return { spec, ctx: await contextFromRow(db.url, spec, table, "v") };
  }

  before(async () => {
    db = await createTestDatabase("backfill_workers");
    open = [];
  });

  afterEach(() => {
    assert.deepEqual(open.length, 0, "every connection a worker opened is closed");
  });

  after(async () => {
    await db?.drop();
  });

  describe("an integer key, three workers, under a writer", function () {
    const ROWS = 30_000;
    const shadow = namesOf("w_int", "v").shadowColumn;
    let spec: ColumnChangeSpec;
    let ctx: PlanContext;

    before(async () => {
      ({ spec, ctx } = await integerTable("w_int", ROWS, 500, 3));
    });

    it("stops after maxBatches with every part's progress in the checkpoint", async () => {
      const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, options(spec, "w_int", { maxBatches: 6 })));
      assert.equal(first.stoppedBy, "maxBatches");
      const cp = (await checkpointOf(db.url, "w_int", "v"))!;
      assert.equal(cp.done, false);
      assert.equal(cp.ranges?.length, 3, JSON.stringify(cp.ranges));
      // the parts meet: each starts where the one before ends, the first at the start, the last at the largest key
      assert.deepEqual(cp.ranges![2].upperKey, [String(ROWS)]);
      const ends = cp.ranges!.map((r) => Number(r.upperKey![0]));
      // a table of fewer than 100,000 rows is sampled whole: the exact thirds (a sample of 44 of its 133 pages missed them by more than a sixth one time in a hundred)
      assert.deepEqual(ends, [10_001, 20_001, ROWS], `split at the thirds: ${ends}`);
      // batches ran in more than one part, 500 rows each, and were counted once each
      assert.equal(cp.rowsScanned, 6 * 500);
      assert.equal(cp.batches, 6);
      const moved = cp.ranges!.filter((r, i) => JSON.stringify(r.lastKey) !== JSON.stringify(i === 0 ? null : cp.ranges![i - 1].upperKey));
      assert.ok(moved.length >= 2, `batches ran in ${moved.length} parts`);
      await withClient(db.url, async (c) => {
        const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM w_int WHERE ${shadow} IS NOT NULL`);
        assert.equal(Number(rows[0].n), 6 * 500);
      });
    });

    it("resumes every part while a writer inserts and updates, runs them at once, and scans every row once in total", async () => {
      const start = await checkpointOf(db.url, "w_int", "v");
      const lines: string[] = [];
      const writer = startWriter({ url: db.url, table: "w_int", column: "v", maxId: ROWS, pauseMs: 1 });
      let rest: Awaited<ReturnType<typeof runBackfill>>;
      let seen: number;
      try {
        const run = withClient(db.url, (c) => runBackfill(c, ctx, start, options(spec, "w_int", { log: (l) => lines.push(l) })));
        seen = await mostAtOnce(run);
        rest = await run;
      } finally {
        await writer.stop();
      }
      assert.deepEqual(writer.stats.failures, []);
      assert.match(lines[0], /: starting from checkpoint, 3 of 3 parts left, on 3 workers \(backfill\.workers 3\), about/);
      assert.equal(rest.checkpoint.done, true);
      assert.ok(seen >= 2, `batches ran on ${seen} connections at once`);
      assert.equal(rest.checkpoint.rowsScanned, ROWS, "the parts cover the keys once: no row scanned twice, none left out");
      assert.ok(rest.checkpoint.ranges!.every((r) => r.done));
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "w_int", shadow, "v::bigint"), []));
    });
  });

  it("splits a composite key and finishes it", async () => {
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE w_items (tenant integer, code text, qty integer NOT NULL, PRIMARY KEY (tenant, code));
               INSERT INTO w_items SELECT t, 'c' || n, t * 1000 + n FROM generate_series(1, 50) t, generate_series(1, 200) n; ANALYZE w_items;`),
    );
    const spec = specOf({ table: "w_items", column: "qty", toType: "bigint", backfill: fixedBatches(300, 4) });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, spec, "w_items", "qty");
    const r = await withClient(db.url, (c) => runBackfill(c, ctx, null, options(spec, "w_items")));
    assert.equal(r.checkpoint.done, true);
    assert.equal(r.checkpoint.ranges?.length, 4);
    assert.ok(r.checkpoint.ranges!.every((p) => p.upperKey?.length === 2));
    assert.equal(r.checkpoint.rowsScanned, 50 * 200);
    const shadow = namesOf("w_items", "qty").shadowColumn;
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "w_items", shadow, "qty::bigint", "tenant, code"), []));
  });

  it("splits the pages of a physical-order backfill (uuid key) and finishes it", async () => {
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE w_docs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), size integer);
               INSERT INTO w_docs (size) SELECT g FROM generate_series(1, 20000) g; ANALYZE w_docs;`),
    );
    const spec = specOf({ table: "w_docs", column: "size", toType: "bigint", backfill: fixedBatches(1000, 2) });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, spec, "w_docs", "size");
    const r = await withClient(db.url, (c) => runBackfill(c, ctx, null, options(spec, "w_docs")));
    assert.equal(r.checkpoint.done, true);
    assert.equal(r.checkpoint.order, "physical");
    assert.equal(r.checkpoint.ranges?.length, 2);
    const [a, b] = r.checkpoint.ranges!;
    assert.deepEqual([a.page, b.page, b.end], [a.end, b.end, r.checkpoint.pages], "each part walked its pages to its end, the last to the table's");
    assert.equal(a.end, Math.floor(r.checkpoint.pages! / 2), "the page runs meet half way");
    // a row one worker's UPDATE moves into the other's pages not yet scanned is read there again (and skipped: its shadow is equal)
    assert.equal(r.checkpoint.rowsUpdated, 20000, "every row written once");
    assert.ok(r.checkpoint.rowsScanned >= 20000 && r.checkpoint.rowsScanned < 21000, `rows scanned ${r.checkpoint.rowsScanned}`);
    const shadow = namesOf("w_docs", "size").shadowColumn;
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "w_docs", shadow, "size::bigint"), []));
  });

  it("fails the run when a worker cannot connect, keeping what committed, and a later run finishes", async () => {
    const { spec, ctx } = await integerTable("w_fail", 10000, 200, 2);
    const refused = options(spec, "w_fail", { connect: () => Promise.reject(new Error("too many connections for role")) });
    await assert.rejects(withClient(db.url, (c) => runBackfill(c, ctx, null, refused)), /too many connections for role/);
    const cp = (await checkpointOf(db.url, "w_fail", "v"))!;
    assert.equal(cp.done, false);
    await withClient(db.url, async (c) => {
      const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM w_fail WHERE ${namesOf("w_fail", "v").shadowColumn} IS NOT NULL`);
      assert.equal(Number(rows[0].n), cp.rowsScanned, "the checkpoint counts exactly the rows that committed");
    });
    const r = await withClient(db.url, (c) => runBackfill(c, ctx, cp, options(spec, "w_fail")));
    assert.equal(r.checkpoint.done, true);
    assert.equal(r.checkpoint.rowsScanned, 10000);
  });

  it("comes back to one range for the in-database runner: from the first part not done, nothing missed", async () => {
    const { spec, ctx } = await integerTable("w_hand", 12000, 500, 3);
    const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, options(spec, "w_hand", { maxBatches: 5 })));
    const split = first.checkpoint;
    assert.ok(split.ranges && split.ranges.length === 3);
    const one = await withClient(db.url, (c) => prepareCheckpoint(c, ctx, split, { lock: spec.lock, stateSchema: "public", runner: "database" }));
    assert.equal(one.ranges, undefined);
    assert.deepEqual(one.lastKey, split.ranges.find((p) => !p.done)!.lastKey ?? null);
    assert.deepEqual(one.upperKey, split.upperKey);
    // the one-range walk (as the procedure does it) finishes every row
    const rest = await withClient(db.url, (c) => runBackfill(c, ctx, { ...one, runner: "client" }, options(spec, "w_hand", { connect: undefined })));
    assert.equal(rest.checkpoint.done, true);
    const shadow = namesOf("w_hand", "v").shadowColumn;
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "w_hand", shadow, "v::bigint"), []));
  });
});
