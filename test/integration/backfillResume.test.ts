// Principle 5: the backfill walks keyset batches (integer, composite and uuid keys), commits
// each batch together with its checkpoint, resumes after a stop or a real kill -9 without
// rescanning committed batches, only writes rows whose shadow differs, and terminates while
// the application keeps inserting.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import type { Client } from "pg";
import { runBackfill, type BackfillRunOptions, type BudgetedCheckpoint } from "../../src/backfill/run";
import type { BackfillCheckpoint } from "../../src/db/state";
import type { PlanContext } from "../../src/plan/facts";
import type { ColumnChangeSpec } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { repoRoot } from "../support/pulumi";
import { startWriter } from "../support/writer";
import { CHILD_APPLICATION_NAME } from "./support/backfillChild";
import { contextFromRow, createStep, expand, migrationRow, namesOf, shadowMismatches, sleep, specOf, waitFor } from "./support/expand";

/** Fixed batch size: a target far above any batch's duration keeps the adaptive size from moving. */
function fixedBatches(batchSize: number, pauseMs = 0) {
  return { batchSize, maxBatchSize: batchSize, pauseMs, targetBatchMs: 600_000, maxReplicationLagMs: 0 };
}

function runOptions(spec: ColumnChangeSpec, table: string, extra: Partial<BackfillRunOptions> = {}): BackfillRunOptions {
  return { lock: spec.lock, table: `public.${table}`, stateSchema: "public", ...extra };
}

async function checkpointOf(url: string, table: string, column: string): Promise<BackfillCheckpoint | null> {
  return (await migrationRow(url, table, column))?.backfill ?? null;
}

/** The single number `sql` selects. */
async function count(c: Client, sql: string): Promise<number> {
  const { rows } = await c.query(sql);
  return Number(Object.values(rows[0])[0]);
}

describe("backfill: keyset batches, checkpoint, resume", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("backfill_resume");
  });

  after(async () => {
    await db?.drop();
  });

  describe("stop after a few batches, then resume", function () {
    const ROWS = 20_000;
    const spec = specOf({ table: "resume_a", column: "v", toType: "bigint", backfill: fixedBatches(1000) });
    const shadow = namesOf("resume_a", "v").shadowColumn;
    let ctx: PlanContext;

    before(async () => {
      await withClient(db.url, (c) =>
        c.query(`CREATE TABLE resume_a (id serial PRIMARY KEY, v integer NOT NULL);
                 INSERT INTO resume_a (v) SELECT g * 3 FROM generate_series(1, ${ROWS}) g;`),
      );
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
      ctx = await contextFromRow(db.url, spec, "resume_a", "v");
    });

    it("stops after maxBatches with the checkpoint of the last committed batch", async () => {
      const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, "resume_a", { maxBatches: 3 })));
      assert.equal(first.batches, 3);
      assert.equal(first.checkpoint.done, false);
      const stored = await checkpointOf(db.url, "resume_a", "v");
      const { tableBytesBefore, ...rest } = stored as BudgetedCheckpoint;
      assert.ok(tableBytesBefore! > 0, `the table's size at the start is recorded (${tableBytesBefore})`);
      // one pass: a table never analyzed has no pg_stats.correlation to show its key follows the pages (passesOf)
      assert.deepEqual(rest, { lastKey: ["3000"], upperKey: [String(ROWS)], rowsScanned: 3000, rowsUpdated: 3000, done: false, order: "keyset", keyFollowsPages: false, runner: "client", batches: 3, batchSize: 1000 });
      assert.deepEqual(first.checkpoint, stored);
      await withClient(db.url, async (c) => {
        assert.equal(await count(c, `SELECT count(*) FROM resume_a WHERE ${shadow} IS NOT NULL`), 3000);
        assert.equal(await count(c, `SELECT max(id) FROM resume_a WHERE ${shadow} IS NOT NULL`), 3000);
      });
    });

    it("resumes from the stored checkpoint, finishes, and scans every row exactly once in total", async () => {
      const start = await checkpointOf(db.url, "resume_a", "v");
      const second = await withClient(db.url, (c) => runBackfill(c, ctx, start, runOptions(spec, "resume_a")));
      assert.equal(second.checkpoint.done, true);
      assert.equal(second.checkpoint.rowsScanned, ROWS, "3000 before + the rest now: no row scanned twice");
      assert.equal(second.checkpoint.rowsUpdated, ROWS);
      // 17 full batches, the last ending on the upper key: it marks the backfill done, with no
      // empty batch after it (under a time budget that one could take a whole pulumi up)
      assert.equal(second.batches, 17);
      assert.deepEqual(await checkpointOf(db.url, "resume_a", "v"), second.checkpoint);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "resume_a", shadow, "v::bigint"), []));
    });

    it("is a no-op once done, and idempotent from scratch: a complete shadow gets no UPDATE", async () => {
      const done = await checkpointOf(db.url, "resume_a", "v");
      const again = await withClient(db.url, (c) => runBackfill(c, ctx, done, runOptions(spec, "resume_a")));
      assert.equal(again.batches, 0);
      const xminBefore = await withClient(db.url, (c) => c.query(`SELECT sum(xmin::text::bigint)::text AS s FROM resume_a`));
      const fresh = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, "resume_a")));
      assert.equal(fresh.checkpoint.done, true);
      assert.equal(fresh.checkpoint.rowsScanned, ROWS);
      assert.equal(fresh.checkpoint.rowsUpdated, 0, "only rows whose shadow differs are written");
      const xminAfter = await withClient(db.url, (c) => c.query(`SELECT sum(xmin::text::bigint)::text AS s FROM resume_a`));
      assert.deepEqual(xminAfter.rows, xminBefore.rows, "no row got a new version");
    });

    it("only rewrites the rows that were damaged", async () => {
      await withClient(db.url, (c) => c.query(`UPDATE resume_a SET ${shadow} = NULL WHERE id % 1000 = 7`));
      const fresh = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, "resume_a")));
      assert.equal(fresh.checkpoint.rowsUpdated, ROWS / 1000);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "resume_a", shadow, "v::bigint"), []));
    });
  });

  describe("kill -9 of the process running the backfill", function () {
    const ROWS = 20_000;
    const BATCH = 200;
    const spec = specOf({ table: "resume_b", column: "v", toType: "bigint", backfill: fixedBatches(BATCH, 5) });
    const shadow = namesOf("resume_b", "v").shadowColumn;
    let child: ChildProcess | undefined;

    before(async () => {
      await withClient(db.url, (c) =>
        // analyzed: the serial key follows the pages, so the batches make their passes (passesOf)
        c.query(`CREATE TABLE resume_b (id bigserial PRIMARY KEY, v integer NOT NULL);
                 INSERT INTO resume_b (v) SELECT g FROM generate_series(1, ${ROWS}) g;
                 ANALYZE resume_b;`),
      );
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    });

    after(() => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });

    it("loses nothing and redoes nothing: the resumed run completes with every row right and each row scanned once", async () => {
      const script = path.join(__dirname, "support", "backfillChild.ts");
      let output = "";
      child = spawn(process.execPath, ["--require", "ts-node/register/transpile-only", script], {
        cwd: repoRoot,
        env: { ...process.env, PGSHIFT_CHILD_URL: db.url, PGSHIFT_CHILD_SPEC: JSON.stringify(spec) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (d) => (output += String(d)));
      child.stderr?.on("data", (d) => (output += String(d)));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child!.once("exit", (code, signal) => resolve({ code, signal })),
      );

      // kill it once the checkpoint shows real progress, mid-way through the table
      await waitFor(
        `the child's checkpoint to pass 3000 rows (child output so far: ${output})`,
        async () => {
          if (child!.exitCode !== null) throw new Error(`the child exited early (${child!.exitCode}): ${output}`);
          const cp = await checkpointOf(db.url, "resume_b", "v");
          return cp && cp.rowsScanned >= 3000;
        },
        30_000,
        10,
      );
      child.kill("SIGKILL");
      const { signal } = await exited;
      assert.equal(signal, "SIGKILL", output);

      // its server backend notices the closed socket and rolls back the batch in flight
      await waitFor("the child's backend to end", () =>
        withClient(db.url, async (c) => (await count(c, `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${CHILD_APPLICATION_NAME}'`)) === 0),
      );
      const killedAt = await checkpointOf(db.url, "resume_b", "v");
      assert.ok(killedAt && !killedAt.done && killedAt.rowsScanned < ROWS, `killed mid-way: ${JSON.stringify(killedAt)}`);
      assert.equal(killedAt.rowsScanned % BATCH, 0, "the checkpoint counts whole batches only");
      const lastKey = Number(killedAt.lastKey![0]);
      // the batch's last pass and its checkpoint commit together: every row up to the checkpoint's key is filled, and past
      // it only what the passes before the last of the batch in flight committed (backfill.passes), within that batch
      const ahead = await withClient(db.url, async (c) => {
        assert.equal(await count(c, `SELECT count(*) FROM resume_b WHERE id <= ${lastKey} AND ${shadow} IS NOT NULL`), lastKey);
        assert.equal(await count(c, `SELECT count(*) FROM resume_b WHERE id <= ${lastKey}`), killedAt.rowsUpdated);
        assert.equal(await count(c, `SELECT count(*) FROM resume_b WHERE id > ${lastKey + BATCH} AND ${shadow} IS NOT NULL`), 0);
        return count(c, `SELECT count(*) FROM resume_b WHERE id > ${lastKey} AND ${shadow} IS NOT NULL`);
      });
      assert.ok(ahead < BATCH, `the passes of one batch at most (${ahead})`);
      assert.equal((killedAt as BudgetedCheckpoint).keyFollowsPages, true, "the batches made their passes");

      const ctx = await contextFromRow(db.url, spec, "resume_b", "v");
      const resumed = await withClient(db.url, (c) => runBackfill(c, ctx, killedAt, runOptions(spec, "resume_b")));
      assert.equal(resumed.checkpoint.done, true);
      assert.equal(resumed.checkpoint.rowsScanned, ROWS, "no row scanned twice across the kill");
      // the rows those passes filled were already right: the resumed run left them alone
      assert.equal(resumed.checkpoint.rowsUpdated, ROWS - ahead);
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "resume_b", shadow, "v::bigint"), []));
    });
  });

  describe("key types", function () {
    it("walks a composite (integer, text) primary key, across a stop and a resume", async () => {
      const codes = ["", " ", "0", "10", "9", "A", "B", "a", "a b", "a'b", "b", "z", "Z", "ä", "ß", "€", "zz", "aa", "ab", "ba"];
      await withClient(db.url, async (c) => {
        await c.query(`CREATE TABLE items (tenant integer, code text, qty integer NOT NULL, PRIMARY KEY (tenant, code))`);
        await c.query(
          `INSERT INTO items SELECT t, c || suffix, t * 1000 + n
             FROM generate_series(1, 40) t, unnest($1::text[]) WITH ORDINALITY AS u(c, n), unnest(ARRAY['', '-1', '-2', 'x']) AS s(suffix)`,
          [codes],
        );
      });
      const total = 40 * codes.length * 4;
      const spec = specOf({ table: "items", column: "qty", toType: "bigint", backfill: fixedBatches(137) });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
      const ctx = await contextFromRow(db.url, spec, "items", "qty");
      assert.deepEqual(ctx.facts.table.keyColumns, [{ name: "tenant", type: "integer" }, { name: "code", type: "text" }]);
      const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, "items", { maxBatches: 5 })));
      assert.equal(first.checkpoint.rowsScanned, 5 * 137);
      assert.equal(first.checkpoint.lastKey?.length, 2);
      const rest = await withClient(db.url, (c) => runBackfill(c, ctx, first.checkpoint, runOptions(spec, "items")));
      assert.equal(rest.checkpoint.done, true);
      assert.equal(rest.checkpoint.rowsScanned, total);
      assert.equal(rest.checkpoint.rowsUpdated, total);
      const shadow = namesOf("items", "qty").shadowColumn;
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "items", shadow, "qty::bigint", "tenant, code"), []));
    });

    it("walks a uuid primary key", async () => {
      await withClient(db.url, async (c) => {
        await c.query(`CREATE TABLE docs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), size integer)`);
        await c.query(`INSERT INTO docs (size) SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END FROM generate_series(1, 5000) g`);
      });
      // keyset explicitly: "auto" walks a uuid key in physical order (backfillPhysical.test.ts)
      const spec = specOf({ table: "docs", column: "size", toType: "bigint", backfill: { ...fixedBatches(300), order: "keyset" as const } });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
      const ctx = await contextFromRow(db.url, spec, "docs", "size");
      assert.deepEqual(ctx.facts.table.keyColumns, [{ name: "id", type: "uuid" }]);
      const first = await withClient(db.url, (c) => runBackfill(c, ctx, null, runOptions(spec, "docs", { maxBatches: 4 })));
      assert.equal(first.checkpoint.rowsScanned, 1200);
      const rest = await withClient(db.url, (c) => runBackfill(c, ctx, first.checkpoint, runOptions(spec, "docs")));
      assert.equal(rest.checkpoint.done, true);
      assert.equal(rest.checkpoint.rowsScanned, 5000);
      assert.equal(rest.checkpoint.rowsUpdated, 4500, "NULL stays NULL: nothing to write for those rows");
      const shadow = namesOf("docs", "size").shadowColumn;
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "docs", shadow, "size::bigint"), []));
    });

    it("walks a varchar primary key while changing another varchar column to uuid", async () => {
      await withClient(db.url, async (c) => {
        await c.query(`CREATE TABLE refs (slug varchar(40) PRIMARY KEY, ref varchar(36))`);
        await c.query(`INSERT INTO refs SELECT 'slug-' || g, gen_random_uuid()::text FROM generate_series(1, 2000) g`);
      });
      const spec = specOf({ table: "refs", column: "ref", toType: "uuid", backfill: fixedBatches(250) });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger", "backfill"]);
      const row = await migrationRow(db.url, "refs", "ref");
      assert.equal(row?.backfill?.rowsScanned, 2000);
      const shadow = namesOf("refs", "ref").shadowColumn;
      await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "refs", shadow, "ref::uuid", "slug"), []));
    });
  });

  describe("under a steady insert load", function () {
    const ROWS = 20_000;
    const spec = specOf({ table: "busy", column: "file_size", toType: "bigint", backfill: fixedBatches(500, 5) });
    const shadow = namesOf("busy", "file_size").shadowColumn;

    before(async () => {
      await withClient(db.url, (c) =>
        c.query(`CREATE TABLE busy (id serial PRIMARY KEY, checksum text NOT NULL DEFAULT md5(random()::text), file_size integer);
                 INSERT INTO busy (file_size) SELECT g FROM generate_series(1, ${ROWS}) g;`),
      );
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    });

    it("terminates while a writer keeps inserting and updating, and every row written meanwhile has the right shadow", async () => {
      const writer = startWriter({ url: db.url, table: "busy", column: "file_size", maxId: ROWS });
      let out: Awaited<ReturnType<typeof createStep>>;
      try {
        await waitFor("the writer to get going", async () => writer.stats.inserts >= 20);
        const insertsBefore = writer.stats.inserts;
        const timeout = sleep(60_000).then(() => {
          throw new Error("the backfill did not terminate within 60 s under the insert load");
        });
        out = await Promise.race([createStep(db.url, "backfill", spec), timeout]);
        assert.ok(writer.stats.inserts > insertsBefore + 10, `the writer kept inserting during the backfill (${writer.stats.inserts - insertsBefore} inserts)`);
      } finally {
        await writer.stop();
      }
      const stats = writer.stats;
      assert.deepEqual(stats.failures, []);
      assert.equal(out.result.done, true);
      const cp = (await checkpointOf(db.url, "busy", "file_size"))!;
      await withClient(db.url, async (c) => {
        // the walk stopped at the largest key when it started: later rows were left to the trigger
        assert.equal(out.result.rowsScanned, await count(c, `SELECT count(*) FROM busy WHERE id <= ${Number(cp.upperKey![0])}`));
        assert.ok(await count(c, `SELECT count(*) FROM busy WHERE id > ${Number(cp.upperKey![0])}`) > 0, "rows were inserted after the walk began");
        assert.deepEqual(await shadowMismatches(c, "busy", shadow, "file_size::bigint"), []);
        // every write of the writer survived, with its shadow
        const { rows } = await c.query<{ id: number; file_size: number; s: string }>(
          `SELECT id, file_size, ${shadow}::text AS s FROM busy WHERE id = ANY ($1::int[])`,
          [[...stats.ledger.keys()]],
        );
        assert.equal(rows.length, stats.ledger.size);
        for (const r of rows) {
          assert.equal(r.file_size, stats.ledger.get(r.id), `row ${r.id}`);
          assert.equal(r.s, String(r.file_size), `shadow of row ${r.id}`);
        }
      });
    });
  });
});
