// Key families (issue #9), the provider's handlers driven directly on real PostgreSQL: a key and
// every column that references it go through expand, cutover, back to expand, cutover and
// contract together, and end with the schema and data of the plain-SQL reference on a twin.
import assert from "node:assert/strict";
import { DependentObjectsError, FamilyForeignKeyNotValidError, FamilyMemberBusyError, FamilyMemberError, LateReferenceError } from "../../src/errors";
import { planMigrationWith } from "../../src/planning/planMigration";
import { preflight } from "../../src/preflight/preflight";
import type { ColumnChangeSpec } from "../../src/spec";
import { describeTableSchema } from "../support/catalog";
import { fingerprint } from "../support/fingerprint";
import { normalizeColumnOrder, tableData } from "../support/differential";
import { FAMILY_SCENARIOS, memberTypes, ORDERS, ORPHANS, STUDIO, type FamilyScenario } from "../support/families";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { createStep, expand, NO_LEFTOVERS, pgshiftLeftovers, readStep, refusesUnchanged, removeStep, specOf } from "./support/expand";

function specFor(s: FamilyScenario): ColumnChangeSpec {
  return specOf({ table: s.table, column: s.column, toType: s.toType, ...(s.using ? { using: s.using } : {}), ...(s.reverseUsing ? { reverseUsing: s.reverseUsing } : {}) });
}

async function orphans(url: string, s: FamilyScenario): Promise<number> {
  return withClient(url, async (c) => Number((await c.query<{ n: string }>(ORPHANS[s.name])).rows[0].n));
}

/** Every foreign key of the scenario's tables, with whether it is validated. */
async function foreignKeys(url: string): Promise<string[]> {
  return withClient(url, async (c) =>
    (
      await c.query<{ l: string }>(
        `SELECT conrelid::regclass || ' ' || conname || ' ' || convalidated || ' ' || pg_get_constraintdef(oid) AS l FROM pg_constraint WHERE contype = 'f' ORDER BY 1`,
      )
    ).rows.map((r) => r.l),
  );
}

describe("key families: a key and every column that references it change together (real PostgreSQL)", function () {
  for (const s of FAMILY_SCENARIOS) {
    describe(s.name, function () {
      let shifted: TestDatabase;
      let reference: TestDatabase;
      let originalTypes: string[];
      const spec = specFor(s);
      const at = (stage: ColumnChangeSpec["stage"]) => ({ ...spec, stage });

      before(async () => {
        shifted = await createTestDatabase(`family_${s.name}`);
        reference = await createTestDatabase(`family_${s.name}_ref`);
        await withClient(shifted.url, (c) => c.query(s.setup));
        await withClient(reference.url, async (c) => {
          await c.query(s.setup);
          await c.query(s.reference);
        });
        originalTypes = await memberTypes(shifted.url, s);
      });

      after(async () => {
        await shifted?.drop();
        await reference?.drop();
      });

      it("preview shows every member's statements under a comment naming it", async () => {
        const plan = await withClient(shifted.url, (c) => planMigrationWith(c, spec));
        assert.deepEqual([...plan.family].sort(), s.members.slice(1).sort());
        for (const key of ["shadowColumn", "mirrorTrigger", "backfill", "shadowIndexes"] as const) {
          assert.deepEqual(
            plan.statements[key].filter((l) => l.startsWith("-- ")),
            [plan.id, ...plan.family].map((m) => `-- key family member ${m}`),
            key,
          );
        }
        assert.equal(plan.id, s.members[0]);
        // one swap: every table locked in one statement, in sorted order
        const lock = plan.statements.cutover.find((l) => l.startsWith("LOCK TABLE"))!;
        const tables = lock.replace(/^LOCK TABLE /, "").replace(/ IN ACCESS EXCLUSIVE MODE$/, "").split(", ");
        assert.deepEqual(tables, [...tables].sort());
        assert.equal(plan.statements.cutover.filter((l) => l.startsWith("LOCK TABLE")).length, 1);
      });

      it("expand gives every member its shadow column, trigger, backfill and state row", async () => {
        await expand(shifted.url, spec);
        await withClient(shifted.url, async (c) => {
          const { rows } = await c.query<{ id: string; done: boolean; root: string | null }>(
            `SELECT id, (backfill ->> 'done')::boolean AS done, facts ->> 'familyRoot' AS root FROM public.pgshift_migrations ORDER BY id`,
          );
          assert.deepEqual(rows.map((r) => r.id).sort(), [...s.members].sort());
          assert.ok(rows.every((r) => r.done));
          assert.ok(rows.every((r) => r.root === (r.id === s.members[0] ? null : s.members[0])));
        });
        assert.equal(await orphans(shifted.url, s), 0);
      });

      it("cutover swaps every member in one transaction and moves every foreign key (validated)", async () => {
        await createStep(shifted.url, "cutover", at("cutover"));
        assert.deepEqual(await memberTypes(shifted.url, s), await memberTypes(reference.url, s));
        const fks = await foreignKeys(shifted.url);
        assert.ok(fks.every((l) => / true /.test(l)), fks.join("\n"));
        assert.deepEqual(fks, await foreignKeys(reference.url));
        assert.equal(await orphans(shifted.url, s), 0);
      });

      it("back to expand swaps every member back (lossless), then cutover again", async () => {
        await removeStep(shifted.url, "cutover", at("cutover"));
        const original = await withClient(shifted.url, async (c) => c.query(`SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND NOT convalidated`));
        assert.equal(Number(original.rows[0].n), 0);
        assert.deepEqual(await memberTypes(shifted.url, s), originalTypes);
        assert.equal(await orphans(shifted.url, s), 0);
        await createStep(shifted.url, "cutover", at("cutover"));
        assert.deepEqual(await memberTypes(shifted.url, s), await memberTypes(reference.url, s));
      });

      it("contract: the same schema and data as the plain-SQL reference, nothing of pgshift's left", async () => {
        await createStep(shifted.url, "contract", at("contract"));
        for (const t of s.tables) {
          assert.equal(normalizeColumnOrder(await describeTableSchema(shifted.url, t.name)), normalizeColumnOrder(await describeTableSchema(reference.url, t.name)), t.name);
          assert.deepEqual(await tableData(shifted.url, t.name, t.orderBy), await tableData(reference.url, t.name, t.orderBy), t.name);
        }
        await withClient(shifted.url, async (c) => {
          // (an index keeps the column name it was built on, the shadow's, and PostgreSQL 18's NOT
          // NULL constraint the shadow's name, as after any pgshift change: README "Limits")
          const left = await pgshiftLeftovers(c);
          const known = { columns: left.columns.filter((col) => !/_idx\.|_pkey\./.test(col)), constraints: left.constraints.filter((n) => !/__pgshift_new_not_null$/.test(n)) };
          assert.deepEqual({ ...left, stateTables: [], ...known }, NO_LEFTOVERS);
          const rows = await c.query<{ id: string; stage: string }>(`SELECT id, stage FROM public.pgshift_migrations ORDER BY id`);
          assert.deepEqual(rows.rows.map((r) => `${r.id} ${r.stage}`), [...s.members].sort().map((m) => `${m} contract`));
        });
      });
    });
  }

  describe("after the int -> bigint family's cutover", function () {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase("family_ceiling");
      await withClient(db.url, (c) => c.query(ORDERS.setup));
    });
    after(async () => db?.drop());

    it("a child row referencing a parent id above 2^31 is accepted", async () => {
      const spec = specFor(ORDERS);
      await expand(db.url, spec);
      await createStep(db.url, "cutover", { ...spec, stage: "cutover" });
      await withClient(db.url, async (c) => {
        await c.query(`INSERT INTO orders (id, note) VALUES (2147483653, 'big')`);
        await c.query(`INSERT INTO order_items (order_id, qty) VALUES (2147483653, 1)`);
        await c.query(`INSERT INTO billing.invoices (order_id, total) VALUES (2147483653, 1)`);
        await assert.rejects(c.query(`INSERT INTO order_items (order_id, qty) VALUES (2147483654, 1)`), /violates foreign key constraint "order_items_order_id_fkey"/);
      });
    });
  });

  describe('referencingColumns "keep"', function () {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase("family_keep");
      await withClient(db.url, (c) => c.query(ORDERS.setup));
    });
    after(async () => db?.drop());

    it("only the key changes; its foreign keys move with every swap and stay valid; the children keep integer", async () => {
      const spec = specOf({ table: "orders", column: "id", toType: "bigint", referencingColumns: "keep" });
      const plan = await withClient(db.url, (c) => planMigrationWith(c, spec));
      assert.deepEqual(plan.family, []);
      assert.equal(plan.warnings.length, 2);
      await expand(db.url, spec);
      const rows = await withClient(db.url, (c) => c.query(`SELECT id FROM public.pgshift_migrations`));
      assert.deepEqual(rows.rows.map((r) => r.id), ["public.orders.id"]);
      const kept = ["public.orders.id bigint", "public.order_items.order_id integer", "billing.invoices.order_id integer"];
      await createStep(db.url, "cutover", { ...spec, stage: "cutover" });
      assert.deepEqual(await memberTypes(db.url, ORDERS), kept);
      await removeStep(db.url, "cutover", { ...spec, stage: "cutover" });
      assert.deepEqual(await memberTypes(db.url, ORDERS), ORDERS.members.map((m) => `${m} integer`));
      await createStep(db.url, "cutover", { ...spec, stage: "cutover" });
      await createStep(db.url, "contract", { ...spec, stage: "contract" });
      assert.deepEqual(await memberTypes(db.url, ORDERS), kept);
      const fks = await foreignKeys(db.url);
      assert.equal(fks.length, 2);
      assert.ok(fks.every((l) => / true FOREIGN KEY \(order_id\) REFERENCES orders\(id\)/.test(l)), fks.join("\n"));
      assert.equal(await orphans(db.url, ORDERS), 0);
    });
  });

  describe("a backfill over several deploys", function () {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase("family_budget");
      await withClient(db.url, (c) => c.query(ORDERS.setup));
    });
    after(async () => db?.drop());

    it("each member resumes from its own checkpoint; copies and cutover wait for the last member", async () => {
      const spec = specOf({ table: "orders", column: "id", toType: "bigint", backfill: { batchSize: 100, maxBatchSize: 100, maxDurationMs: 1 } });
      let runs = 0;
      let waited = false;
      for (;;) {
        runs++;
        const outs = await expand(db.url, spec);
        if (outs.backfill.result && (outs.backfill.result as { done?: boolean }).done) break;
        const copies = outs["shadow-indexes"].result as { built?: boolean; waiting?: string };
        assert.equal(copies.built, false);
        waited ||= / of public\.order_items\.order_id\)$| of billing\.invoices\.order_id\)$/.test(copies.waiting ?? "");
        if (runs === 2) {
          const err = await createStep(db.url, "cutover", { ...spec, stage: "cutover" }).then(() => null, (e: unknown) => e);
          assert.match(String(err), /cutover of public\.(orders\.id|order_items\.order_id) refused: the backfill has not finished/);
        }
        assert.ok(runs < 100, "the backfill does not finish");
      }
      assert.ok(runs > 3, `${runs} runs`);
      assert.ok(waited, "the index copies never said which member they waited for");
      await withClient(db.url, async (c) => {
        const { rows } = await c.query<{ id: string; scanned: number }>(`SELECT id, (backfill ->> 'rowsScanned')::int AS scanned FROM public.pgshift_migrations ORDER BY id`);
        assert.deepEqual(rows.map((r) => `${r.id} ${r.scanned}`), ["billing.invoices.order_id 400", "public.order_items.order_id 1500", "public.orders.id 500"]);
      });
      await expand(db.url, { ...spec, backfill: { ...spec.backfill, maxDurationMs: undefined } });
      await createStep(db.url, "cutover", { ...spec, stage: "cutover" });
      assert.deepEqual(await memberTypes(db.url, ORDERS), ORDERS.members.map((m) => `${m} bigint`));
    });
  });

  describe("refusals before any DDL", function () {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase("family_refused");
      await withClient(db.url, (c) => c.query(STUDIO.setup));
    });
    afterEach(async () => db?.drop());

    it("a member with a dependent view: refused naming the member, nothing changed", async () => {
      await withClient(db.url, (c) => c.query(`CREATE VIEW file_sizes AS SELECT contentnode_id, sum(file_size) AS total FROM file GROUP BY 1`));
      const err = await refusesUnchanged(db.url, (c) => preflight(c, specFor(STUDIO)));
      assert.ok(err instanceof FamilyMemberError, String(err));
      assert.ok(err.refusal instanceof DependentObjectsError);
      assert.match(err.message, /^public\.file\.contentnode_id references the changed key \(foreign key "file_contentnode_id_fkey" on "public"\."file" references public\.contentnode\.id\)/);
      assert.match(err.message, /is used by view file_sizes/);
      const viaCreate = await refusesUnchanged(db.url, () => createStep(db.url, "shadow-column", specFor(STUDIO)));
      assert.ok(viaCreate instanceof FamilyMemberError, String(viaCreate));
    });

    it("an orphan row behind a NOT VALID foreign key: refused with the VALIDATE to run", async () => {
      await withClient(db.url, (c) =>
        c.query(`ALTER TABLE file DROP CONSTRAINT file_contentnode_id_fkey;
                 INSERT INTO file (contentnode_id, file_size) VALUES (md5('nobody'), 1);
                 ALTER TABLE file ADD CONSTRAINT file_contentnode_id_fkey FOREIGN KEY (contentnode_id) REFERENCES contentnode (id) NOT VALID`),
      );
      const err = await refusesUnchanged(db.url, (c) => preflight(c, specFor(STUDIO)));
      assert.ok(err instanceof FamilyForeignKeyNotValidError, String(err));
      assert.match(err.message, /ALTER TABLE "public"\."file" VALIDATE CONSTRAINT "file_contentnode_id_fkey"/);
    });

    it("a change of a member on its own, while the family is under way: refused naming the root", async () => {
      await expand(db.url, specFor(STUDIO));
      const err = await withClient(db.url, (c) => planMigrationWith(c, specOf({ table: "file", column: "contentnode_id", toType: "text" }))).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof FamilyMemberBusyError, String(err));
      assert.match(err.message, /^public\.file\.contentnode_id is changing type as a member of the key family of public\.contentnode\.id/);
    });

    it("a table created after expand that references the key: the cutover refuses, naming it, and changes nothing", async () => {
      await expand(db.url, specFor(STUDIO));
      await withClient(db.url, (c) => c.query(`CREATE TABLE late_refs (id integer PRIMARY KEY, node_id varchar(32) REFERENCES contentnode (id))`));
      // pulumi refresh reports it (the ShadowIndexes child's result)
      const refreshed = await readStep(db.url, "shadow-indexes", specFor(STUDIO));
      assert.deepEqual(refreshed?.lateReferences, [`foreign key "late_refs_node_id_fkey" on "public"."late_refs" references public.contentnode.id`]);
      const before = await withClient(db.url, fingerprint);
      const err = await createStep(db.url, "cutover", { ...specFor(STUDIO), stage: "cutover" }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof LateReferenceError, String(err));
      assert.deepEqual(await withClient(db.url, fingerprint), before);
      assert.match(err.message, /foreign key "late_refs_node_id_fkey" on "public"\."late_refs" references public\.contentnode\.id/);
    });
  });
});
