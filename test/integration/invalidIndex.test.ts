// Principle 4: a CREATE INDEX CONCURRENTLY that fails leaves an INVALID index behind. Refresh
// (read) reports it, the plan drops it (DROP INDEX CONCURRENTLY) before building it again, and
// the next run leaves a VALID index.
import assert from "node:assert/strict";
import type { Client } from "pg";
import { runSteps } from "../../src/db/executor";
import { readLiveState } from "../../src/db/live";
import { planShadowIndexes } from "../../src/plan/expand";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { contextFromRow, createStep, expand, namesOf, readStep, shadowMismatches, specOf } from "./support/expand";

interface IndexRow {
  valid: boolean;
  ready: boolean;
  def: string;
}

async function indexRow(c: Client, name: string): Promise<IndexRow | undefined> {
  const { rows } = await c.query<IndexRow>(
    `SELECT indisvalid AS valid, indisready AS ready, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indexrelid = to_regclass($1)`,
    [`public.${name}`],
  );
  return rows[0];
}

describe("INVALID shadow index left by a failed build", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("invalid_index");
  });

  after(async () => {
    await db?.drop();
  });

  describe("a UNIQUE copy that fails on duplicates only the new type sees", function () {
    // varchar -> uuid: 'ABC…' and 'abc…' are different strings but the same uuid, so the
    // original UNIQUE holds while its copy on the shadow column cannot be built. Pre-flight
    // refuses such a table (preflight.test.ts); here the duplicate arrives after it, during
    // expand, as an application write would
    const spec = specOf({ table: "tickets", column: "ref", toType: "uuid", backfill: { batchSize: 500 } });
    const names = namesOf("tickets", "ref");
    const shadowIndex = "tickets_ref_key__pgshift";

    before(async () => {
      await withClient(db.url, async (c) => {
        await c.query(`CREATE TABLE tickets (id serial PRIMARY KEY, ref varchar(36) NOT NULL CONSTRAINT tickets_ref_key UNIQUE, note text)`);
        await c.query(`INSERT INTO tickets (ref) SELECT gen_random_uuid()::text FROM generate_series(1, 3000)`);
      });
      await expand(db.url, spec, ["shadow-column"]);
      await withClient(db.url, (c) => c.query(`UPDATE tickets SET ref = upper((SELECT ref FROM tickets WHERE id = 3)) WHERE id = 2500`));
      await expand(db.url, spec, ["mirror-trigger", "backfill"]);
    });

    it("fails the ShadowIndexes step with the unique violation and leaves an INVALID index", async () => {
      await assert.rejects(createStep(db.url, "shadow-indexes", spec), (err: Error) => {
        assert.match(err.message, new RegExp(`^pgshift: could not create unique index "${shadowIndex}"`));
        assert.equal((err.cause as { code?: string } | undefined)?.code, "23505");
        return true;
      });
      await withClient(db.url, async (c) => {
        const idx = await indexRow(c, shadowIndex);
        assert.ok(idx, "the failed build left its index behind");
        assert.equal(idx.valid, false);
        // the duplicate stopped the build's first pass, before the index was marked ready, so
        // it is not maintained (nor enforced) on the application's writes
        assert.equal(idx.ready, false);
        assert.equal(idx.def, `CREATE UNIQUE INDEX ${shadowIndex} ON public.tickets USING btree (${names.shadowColumn})`);
      });
    });

    it("is reported by refresh (read): invalid, and the NOT NULL check it never got to is missing", async () => {
      const result = await readStep(db.url, "shadow-indexes", spec);
      assert.deepEqual(result, {
        stage: "expand",
        objects: [shadowIndex, names.notNullCheck],
        missing: [names.notNullCheck],
        invalid: [shadowIndex],
        drift: [`${names.notNullCheck} is missing`, `${shadowIndex} is not valid`],
      });
    });

    it("does not break the application's writes while it is there", async () => {
      await withClient(db.url, async (c) => {
        // a write whose new-type value duplicates another row's is still accepted (the original
        // column is what the application uses; it is unique as text)
        const { rows } = await c.query(`SELECT ref FROM tickets WHERE id = 10`);
        await c.query(`INSERT INTO tickets (ref) VALUES ($1)`, [String(rows[0].ref).toUpperCase()]);
        await c.query(`DELETE FROM tickets WHERE ref = $1`, [String(rows[0].ref).toUpperCase()]);
        await c.query(`INSERT INTO tickets (ref) VALUES (gen_random_uuid()::text)`);
      });
    });

    it("is planned as drop-then-rebuild from the live catalog", async () => {
      const ctx = await contextFromRow(db.url, spec, "tickets", "ref");
      const live = await withClient(db.url, (c) => readLiveState(c, "public", "tickets", []));
      assert.deepEqual(live.indexes[shadowIndex], { valid: false });
      const steps = planShadowIndexes(ctx, live);
      assert.deepEqual(
        steps.map((s) => [s.mode, s.description, s.sql]),
        [
          ["alone", `drop the invalid leftover index ${shadowIndex}`, [`DROP INDEX CONCURRENTLY IF EXISTS "public"."${shadowIndex}"`]],
          ["alone", `build index ${shadowIndex} (copy of tickets_ref_key)`, [`CREATE UNIQUE INDEX CONCURRENTLY "${shadowIndex}" ON "public"."tickets" USING btree ("${names.shadowColumn}")`]],
          ["transaction", `add not null constraint ${names.notNullCheck} (NOT VALID)`, [`ALTER TABLE "public"."tickets" ADD CONSTRAINT "${names.notNullCheck}" CHECK ("${names.shadowColumn}" IS NOT NULL) NOT VALID`]],
          ["alone", `validate ${names.notNullCheck}`, [`ALTER TABLE "public"."tickets" VALIDATE CONSTRAINT "${names.notNullCheck}"`]],
        ],
      );
    });

    it("after the data is fixed, the next ShadowIndexes run drops the leftover and builds it VALID", async () => {
      // the application fixes the duplicate; the mirror trigger carries the fix to the shadow
      await withClient(db.url, (c) => c.query(`UPDATE tickets SET ref = gen_random_uuid()::text WHERE id = 2500`));
      const out = await createStep(db.url, "shadow-indexes", spec);
      assert.equal(out.result.statements, 4);
      await withClient(db.url, async (c) => {
        const idx = await indexRow(c, shadowIndex);
        assert.deepEqual(idx, { valid: true, ready: true, def: `CREATE UNIQUE INDEX ${shadowIndex} ON public.tickets USING btree (${names.shadowColumn})` });
        const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'tickets_ref_key%'`);
        assert.equal(rows[0].n, 2, "the original and exactly one copy");
        assert.deepEqual(await shadowMismatches(c, "tickets", names.shadowColumn, "ref::uuid"), []);
      });
      assert.deepEqual(await readStep(db.url, "shadow-indexes", spec), {
        stage: "expand",
        objects: [shadowIndex, names.notNullCheck],
        missing: [],
        invalid: [],
        drift: [],
      });
      // and a further run has nothing left to do
      const again = await createStep(db.url, "shadow-indexes", spec);
      assert.equal(again.result.statements, 0);
    });
  });

  describe("a copy whose build was cut short (lock_timeout while waiting for an old snapshot)", function () {
    const spec = specOf({ table: "sizes", column: "size", toType: "bigint", backfill: { batchSize: 1000 } });
    const names = namesOf("sizes", "size");
    const shadowIndex = "sizes_size_idx__pgshift";

    before(async () => {
      await withClient(db.url, async (c) => {
        await c.query(`CREATE TABLE sizes (id serial PRIMARY KEY, size integer, label text)`);
        await c.query(`CREATE INDEX sizes_size_idx ON sizes (size DESC) WHERE size > 10`);
        await c.query(`INSERT INTO sizes (size, label) SELECT g % 1000, 'l' || g FROM generate_series(1, 5000) g`);
      });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger", "backfill"]);
      // what an interrupted `pulumi up` leaves: the CREATE INDEX CONCURRENTLY of the copy got
      // its catalog entry committed, then was cancelled while waiting for an older transaction
      const holder = await withClient(db.url, async (old) => {
        await old.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
        await old.query("SELECT count(*) FROM sizes");
        await withClient(db.url, async (c) => {
          await c.query("SET lock_timeout = 200");
          await assert.rejects(
            c.query(`CREATE INDEX CONCURRENTLY ${shadowIndex} ON sizes (${names.shadowColumn} DESC) WHERE ${names.shadowColumn} > 10`),
            (err: Error & { code?: string }) => err.code === "55P03",
          );
        });
        await old.query("COMMIT");
        return true;
      });
      assert.ok(holder);
    });

    it("planShadowIndexes + runSteps drop the INVALID leftover and rebuild it VALID", async () => {
      await withClient(db.url, async (c) => {
        // cancelled after both passes: ready (maintained on every write) but never valid
        assert.deepEqual(await indexRow(c, shadowIndex).then((r) => r && { valid: r.valid, ready: r.ready }), { valid: false, ready: true });
      });
      assert.deepEqual((await readStep(db.url, "shadow-indexes", spec))?.invalid, [shadowIndex]);

      const ctx = await contextFromRow(db.url, spec, "sizes", "size");
      await withClient(db.url, async (c) => {
        const steps = planShadowIndexes(ctx, await readLiveState(c, "public", "sizes", []));
        assert.deepEqual(
          steps.map((s) => s.description),
          [`drop the invalid leftover index ${shadowIndex}`, `build index ${shadowIndex} (copy of sizes_size_idx)`],
        );
        const stats = await runSteps(c, steps, { lock: spec.lock, table: "public.sizes" });
        assert.deepEqual(stats, { statements: 2, lockRetries: 0 });
        assert.deepEqual(await indexRow(c, shadowIndex), {
          valid: true,
          ready: true,
          def: `CREATE INDEX ${shadowIndex} ON public.sizes USING btree (${names.shadowColumn} DESC) WHERE (${names.shadowColumn} > 10)`,
        });
        // the plan from the new live state is empty: converged
        assert.deepEqual(planShadowIndexes(ctx, await readLiveState(c, "public", "sizes", [])), []);
      });
      assert.deepEqual(await readStep(db.url, "shadow-indexes", spec), { stage: "expand", objects: [shadowIndex], missing: [], invalid: [], drift: [] });
    });
  });
});
