/** Key families, the pure part: members, their specs, the moved foreign keys and the one swap over them all. */
import assert from "node:assert/strict";
import { planContract } from "../../src/plan/contract";
import { planCutover, planRollback } from "../../src/plan/cutover";
import { planShadowIndexes, shadowObjects } from "../../src/plan/expand";
import { yieldingLockSql } from "../../src/plan/swapLock";
import { planContext, untouched, type MigrationFacts, type PlanContext } from "../../src/plan/facts";
import { familyContexts, familyKeys, foreignKeyIdentity, isMovedKey, lockOrder, memberSpec, sharedCoverage, withFamily } from "../../src/plan/family";
import { statementsOf, swapSteps } from "../../src/plan/step";
import type { ReferencingForeignKey, TableSnapshot } from "../../src/snapshot";
import { parseSpec, withoutStage } from "../../src/spec";
import { fileContext, fileFacts, index, INT4, INT8, key } from "./support/fixtures";

/** public.orders.file_id integer, referencing contentcuration_file.id (the catalog writes the table unquoted). */
const ORDERS_FK: ReferencingForeignKey = {
  table: "public.orders",
  name: "orders_file_id_fkey",
  definition: "FOREIGN KEY (file_id) REFERENCES public.contentcuration_file(id) DEFERRABLE INITIALLY DEFERRED",
};

function ordersTable(): TableSnapshot {
  const col = (name: string, attnum: number) => ({ name, attnum, type: "integer", typeName: "int4", notNull: name === "id", default: null, identity: "", generated: "", collation: null, comment: null });
  return {
    schema: "public",
    name: "orders",
    qualifiedName: '"public"."orders"',
    columns: [col("id", 1), col("file_id", 2)],
    column: col("file_id", 2),
    keyColumns: [{ name: "id", type: "integer" }],
    indexes: [
      index("orders_file_idx", [key("file_id")], { predicate: "(file_id IS NOT NULL)" }),
      index("orders_pkey", [key("id")], { unique: true, primary: true, constraint: "orders_pkey", coversColumn: false }),
    ],
    constraints: [
      { name: "orders_pkey", type: "p", definition: "PRIMARY KEY (id)", columns: ["id"], validated: true, coversColumn: false },
      { name: ORDERS_FK.name, type: "f", definition: ORDERS_FK.definition, columns: ["file_id"], validated: true, coversColumn: true },
    ],
    referencingForeignKeys: [],
    dependents: [],
    ownedSequence: null,
    triggers: [],
    updateRules: [],
  };
}

/** contentcuration_file.id integer -> bigint, referenced by orders.file_id: a family of two. */
function family(): PlanContext {
  const root = fileContext({ changeId: true });
  root.facts.table.referencingForeignKeys = [ORDERS_FK];
  const mSpec = memberSpec(root.spec, "id", { schema: "public", name: "orders" }, "file_id");
  const member: MigrationFacts = { table: ordersTable(), from: INT4, to: INT8 };
  return planContext(root.spec, withFamily(root.facts, root.names.id, [{ spec: mSpec, facts: member }]));
}

describe("key families (pure)", () => {
  it("a member's spec: its table and column, the root's using / reverseUsing reading the member's column", () => {
    const root = withoutStage(parseSpec({ table: "app.nodes", column: "id", toType: "uuid", stage: "expand", using: "id::uuid", reverseUsing: "replace(id::text, '-', '')" }));
    const m = memberSpec(root, "id", { schema: "app", name: "files" }, "node_id");
    assert.equal(m.table, '"app"."files"');
    assert.equal(m.column, "node_id");
    assert.equal(m.using, `"node_id"::uuid`);
    assert.equal(m.reverseUsing, `replace("node_id"::text, '-', '')`);
    assert.deepEqual(m.backfill, root.backfill);
    const plain = memberSpec(withoutStage(parseSpec({ table: "t", column: "id", toType: "bigint", stage: "expand" })), "id", { schema: "public", name: "c" }, "t_id");
    assert.ok(!("using" in plain) && !("reverseUsing" in plain));
  });

  it("the family: the root first, each member with the family's moved keys and the root's id; members follow the root's current settings", () => {
    const ctx = family();
    const members = familyContexts(ctx);
    assert.deepEqual(members.map((m) => m.names.id), ["public.contentcuration_file.id", "public.orders.file_id"]);
    assert.equal(members[1].facts.familyRoot, "public.contentcuration_file.id");
    assert.deepEqual(members[1].facts.familyKeys, [ORDERS_FK]);
    const tuned = planContext({ ...ctx.spec, backfill: { ...ctx.spec.backfill, batchSize: 7 } }, ctx.facts);
    assert.equal(familyContexts(tuned)[1].spec.backfill.batchSize, 7);
    // a change without referencing keys is a family of one, its facts untouched
    const single = fileContext();
    assert.deepEqual(familyContexts(single), [single]);
    assert.equal(withFamily(single.facts, single.names.id, []), single.facts);
  });

  it("foreign keys are one whichever way the table is written; each once, in table then name order", () => {
    assert.equal(foreignKeyIdentity("public.orders", "k"), foreignKeyIdentity('"public"."orders"', "k"));
    assert.notEqual(foreignKeyIdentity('"public"."Orders"', "k"), foreignKeyIdentity("public.orders", "k"));
    const a = { ...ORDERS_FK, table: "public.a" };
    const t = (fks: ReferencingForeignKey[]) => ({ ...ordersTable(), referencingForeignKeys: fks });
    assert.deepEqual(familyKeys([t([ORDERS_FK, a]), t([{ ...ORDERS_FK, table: '"public"."orders"' }])]).map((k) => k.table), ["public.a", '"public"."orders"']);
  });

  it("expand does not copy a moved foreign key onto the member's shadow, but copies its partial index", () => {
    const member = familyContexts(family())[1];
    assert.ok(isMovedKey(member, '"public"."orders"', ORDERS_FK.name));
    assert.deepEqual(shadowObjects(member).map((o) => `${o.kind} ${o.original}`), ["index orders_file_idx"]);
    const sql = statementsOf(planShadowIndexes(member, untouched(member.facts)));
    assert.ok(!sql.some((s) => /FOREIGN KEY/.test(s)), sql.join("\n"));
    assert.ok(sql.some((s) => /CREATE INDEX CONCURRENTLY "orders_file_idx__pgshift" .*\("file_id__pgshift_new"\) WHERE \("file_id__pgshift_new" IS NOT NULL\)/.test(s)), sql.join("\n"));
  });

  it("cutover: ONE swap locks every table in sorted order, moves the key after every member swapped, sets every member's stage", () => {
    const plan = planCutover(family(), "public");
    const sql = plan.swap.sql;
    // every member's reverse functions first (created in the swap, so a crash leaves none), then the one LOCK (after the yielding one)
    const lockAt = sql.indexOf(`LOCK TABLE "public"."contentcuration_file", "public"."orders" IN ACCESS EXCLUSIVE MODE`);
    assert.equal(lockAt, 7, sql.slice(0, 8).join("\n"));
    assert.ok(sql.slice(0, lockAt - 1).every((s) => s.startsWith("CREATE OR REPLACE FUNCTION")));
    assert.equal(sql[lockAt - 1], yieldingLockSql(['"public"."contentcuration_file"', '"public"."orders"']));
    assert.equal(sql.filter((s) => s.startsWith("LOCK")).length, 1);
    const drop = sql.indexOf(`ALTER TABLE public.orders DROP CONSTRAINT "orders_file_id_fkey"`);
    const add = sql.indexOf(`ALTER TABLE public.orders ADD CONSTRAINT "orders_file_id_fkey" ${ORDERS_FK.definition} NOT VALID`);
    assert.ok(drop > 0 && drop < sql.findIndex((s) => s.includes("DROP CONSTRAINT \"contentcuration_file_pkey\"")), "dropped before the key it depends on");
    const lastRename = sql.map((s, i) => (s.includes("RENAME COLUMN") ? i : -1)).reduce((a, b) => Math.max(a, b));
    assert.ok(add > lastRename, "re-added once every member's columns swapped");
    assert.ok(sql.some((s) => s.includes(`"public"."orders" RENAME COLUMN "file_id__pgshift_new" TO "file_id"`)));
    assert.ok(!sql.some((s) => s.includes("orders_file_id_fkey__pgshift")), "no copy of the moved key is renamed");
    assert.deepEqual(sql.filter((s) => /SET stage = 'cutover'/.test(s)).length, 2);
    assert.equal(plan.before.length, 0);
    assert.equal(plan.after[0].sql[0], `ALTER TABLE public.orders VALIDATE CONSTRAINT "orders_file_id_fkey"`);
    assert.deepEqual(plan.after.slice(1).map((s) => s.sql[0]), [`ANALYZE "public"."contentcuration_file" ("id")`, `ANALYZE "public"."orders" ("file_id")`]);
  });

  it("rollback and contract cover every member in one swap too", () => {
    const ctx = family();
    const back = planRollback(ctx, "public", (m) => untouched(m.facts));
    assert.ok(back.swap.sql[1].startsWith(`LOCK TABLE "public"."contentcuration_file", "public"."orders"`));
    assert.equal(back.swap.sql.filter((s) => /SET stage = 'expand'/.test(s)).length, 2);
    assert.ok(back.swap.sql.some((s) => s.includes(`"public"."orders" RENAME COLUMN "file_id" TO "file_id__pgshift_new"`)));
    const contract = planContract(ctx, "public", (m) => untouched(m.facts));
    assert.equal(contract.swap.sql[1], `LOCK TABLE "public"."contentcuration_file", "public"."orders" IN ACCESS EXCLUSIVE MODE`);
    assert.ok(contract.swap.sql.some((s) => s === `ALTER TABLE "public"."orders" DROP COLUMN IF EXISTS "file_id__pgshift_old"`));
    assert.ok(contract.swap.sql.some((s) => s === `ALTER TABLE "public"."contentcuration_file" DROP COLUMN IF EXISTS "id__pgshift_old"`));
    assert.equal(contract.after.length, 0, "pgshift's functions go in the swap, with the stage");
    assert.equal(contract.swap.sql.filter((s) => s.startsWith("DROP FUNCTION")).length, 10);
    assert.ok(statementsOf(swapSteps(contract)).every((s) => !s.includes("orders_file_id_fkey")));
  });

  it("lock order: each table once, sorted, whichever way it was written", () => {
    assert.deepEqual(lockOrder(familyContexts(family())), ['"public"."contentcuration_file"', '"public"."orders"']);
  });

  it("refuses an index that covers two members of one table (each would build its own copy)", () => {
    const a = fileContext({ changeId: true });
    const both = index("contentcuration_file_id_file_size_idx", [key("id"), key("file_size")]);
    a.facts.table.indexes.push(both);
    const b = planContext(memberSpec(a.spec, "id", { schema: "public", name: "contentcuration_file" }, "file_size"), fileFacts());
    b.facts.table.indexes.push(both);
    assert.deepEqual(sharedCoverage([a, b]), [{ table: '"public"."contentcuration_file"', object: "contentcuration_file_id_file_size_idx", columns: ["id", "file_size"] }]);
    assert.deepEqual(sharedCoverage([fileContext({ changeId: true }), familyContexts(family())[1]]), []);
  });
});
