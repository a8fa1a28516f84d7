import assert from "node:assert/strict";
import {
  planMirrorTrigger,
  planRemoveMirrorTrigger,
  planRemoveShadowColumn,
  planRemoveShadowIndexes,
  planShadowColumn,
  planShadowIndexes,
  shadowObjects,
} from "../../src/plan/expand";
import { untouched, type LiveState, type PlanContext } from "../../src/plan/facts";
import { alone, statementsOf, transaction, type Step } from "../../src/plan/step";
import { convertFunctionSql, forwardTriggerFunctionSql, forwardTriggersSql } from "../../src/sql/functions";
import { CHECK, COMPOSITE_INDEX, expandedLive, fileContext, fileFacts, PARTIAL_INDEX, PKEY } from "./support/fixtures";

const T = '"public"."contentcuration_file"';

const dropIndex = (name: string) => `DROP INDEX CONCURRENTLY IF EXISTS "public"."${name}"`;
const buildComposite = alone(
  `build index ${COMPOSITE_INDEX}__pgshift (copy of ${COMPOSITE_INDEX})`,
  `CREATE INDEX CONCURRENTLY "${COMPOSITE_INDEX}__pgshift" ON ${T} USING btree ("checksum", "file_size__pgshift_new")`,
  [dropIndex(`${COMPOSITE_INDEX}__pgshift`)],
);
const buildPartial = alone(
  `build index ${PARTIAL_INDEX}__pgshift (copy of ${PARTIAL_INDEX})`,
  `CREATE INDEX CONCURRENTLY "${PARTIAL_INDEX}__pgshift" ON ${T} USING btree ("checksum") WHERE ("file_size__pgshift_new" > 1000000)`,
  [dropIndex(`${PARTIAL_INDEX}__pgshift`)],
);

/** Live state of a table whose expand completed. */
function done(ctx: PlanContext): LiveState {
  return expandedLive(ctx, untouched(ctx.facts));
}

describe("untouched (the live state pulumi preview plans against)", () => {
  it("has the table's own columns, indexes and constraints, and no pgshift object", () => {
    const facts = fileFacts();
    facts.table.indexes[0].valid = false;
    assert.deepEqual(untouched(facts), {
      columns: ["id", "checksum", "file_size"],
      columnTypes: {},
      functions: [],
      triggers: [],
      indexes: { [COMPOSITE_INDEX]: { valid: false }, [PARTIAL_INDEX]: { valid: true }, [PKEY]: { valid: true } },
      constraints: { [PKEY]: { validated: true, type: "p" } },
    });
  });
});

describe("planShadowColumn", () => {
  it("on an untouched table: add the nullable shadow column, then the conversion function", () => {
    const ctx = fileContext();
    assert.deepEqual(planShadowColumn(ctx, untouched(ctx.facts)), [
      transaction("add the shadow column", `ALTER TABLE ${T} ADD COLUMN "file_size__pgshift_new" bigint`),
      transaction("create the conversion function", convertFunctionSql(ctx)),
    ]);
  });

  it("plans nothing when both exist, and only what is missing after a crash", () => {
    const ctx = fileContext();
    const live = done(ctx);
    assert.deepEqual(planShadowColumn(ctx, live), []);
    const noFunction = { ...live, functions: [] };
    assert.deepEqual(planShadowColumn(ctx, noFunction), [transaction("create the conversion function", convertFunctionSql(ctx))]);
  });

  it("planRemoveShadowColumn is its inverse", () => {
    const ctx = fileContext();
    assert.deepEqual(planRemoveShadowColumn(ctx, untouched(ctx.facts)), []);
    assert.deepEqual(planRemoveShadowColumn(ctx, done(ctx)), [
      transaction("drop the shadow column", `ALTER TABLE ${T} DROP COLUMN IF EXISTS "file_size__pgshift_new"`),
      transaction("drop the conversion function", `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_conv"`),
    ]);
  });
});

describe("planMirrorTrigger", () => {
  const create = (ctx: PlanContext) =>
    transaction(
      "create the mirror trigger",
      forwardTriggerFunctionSql(ctx),
      `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_ins" ON ${T}`,
      `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_upd" ON ${T}`,
      ...forwardTriggersSql(ctx),
    );

  it("on an untouched table: function and both triggers in one transaction", () => {
    const ctx = fileContext();
    const steps = planMirrorTrigger(ctx, untouched(ctx.facts));
    assert.deepEqual(steps, [create(ctx)]);
    assert.equal(steps[0].mode, "transaction");
  });

  it("the UPDATE trigger is column-specific and change-guarded (the backfill's UPDATEs never fire it)", () => {
    const ctx = fileContext();
    const sql = statementsOf(planMirrorTrigger(ctx, untouched(ctx.facts)));
    const update = sql.find((s) => s.startsWith('CREATE TRIGGER "zzz_pgshift_file_size_fwd_upd"'));
    assert.ok(update);
    assert.match(update, /^CREATE TRIGGER "zzz_pgshift_file_size_fwd_upd" BEFORE UPDATE OF "file_size" ON /);
    assert.match(update, / WHEN \(OLD\."file_size" IS DISTINCT FROM NEW\."file_size"\) /);
  });

  it("plans nothing when function and triggers exist; recreates all of it when one trigger is missing", () => {
    const ctx = fileContext();
    const live = done(ctx);
    assert.deepEqual(planMirrorTrigger(ctx, live), []);
    assert.deepEqual(planMirrorTrigger(ctx, { ...live, triggers: [ctx.names.forwardInsertTrigger] }), [create(ctx)]);
    assert.deepEqual(planMirrorTrigger(ctx, { ...live, functions: [ctx.names.convertFunction] }), [create(ctx)]);
  });

  it("planRemoveMirrorTrigger is its inverse, dropping only what exists", () => {
    const ctx = fileContext();
    assert.deepEqual(planRemoveMirrorTrigger(ctx, untouched(ctx.facts)), []);
    assert.deepEqual(planRemoveMirrorTrigger(ctx, done(ctx)), [
      transaction(
        "drop the mirror trigger",
        `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_ins" ON ${T}`,
        `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_upd" ON ${T}`,
      ),
      transaction("drop the mirror trigger function", `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_fwd"`),
    ]);
    const onlyUpdate = { ...done(ctx), triggers: [ctx.names.forwardUpdateTrigger], functions: [] };
    assert.deepEqual(planRemoveMirrorTrigger(ctx, onlyUpdate), [
      transaction("drop the mirror trigger", `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_upd" ON ${T}`),
    ]);
  });
});

describe("planShadowIndexes", () => {
  it("copies every index that covers the column (not the primary key), built CONCURRENTLY, each alone with a drop on retry", () => {
    const ctx = fileContext();
    assert.deepEqual(planShadowIndexes(ctx, untouched(ctx.facts)), [buildComposite, buildPartial]);
  });

  it("plans nothing when every copy exists and is valid", () => {
    const ctx = fileContext({ notNull: true, constraints: [CHECK] });
    assert.deepEqual(planShadowIndexes(ctx, done(ctx)), []);
  });

  it("drops and rebuilds an INVALID leftover of a failed CREATE INDEX CONCURRENTLY", () => {
    const ctx = fileContext();
    const live = done(ctx);
    live.indexes[`${COMPOSITE_INDEX}__pgshift`] = { valid: false };
    const steps = planShadowIndexes(ctx, live);
    assert.deepEqual(steps, [alone(`drop the invalid leftover index ${COMPOSITE_INDEX}__pgshift`, dropIndex(`${COMPOSITE_INDEX}__pgshift`)), buildComposite]);
    assert.equal(steps[0].onRetry, undefined);
    assert.deepEqual(steps[1].onRetry, [dropIndex(`${COMPOSITE_INDEX}__pgshift`)]);
  });

  it("NOT NULL column: CHECK (shadow IS NOT NULL) NOT VALID, then VALIDATE outside the transaction", () => {
    const ctx = fileContext({ notNull: true });
    const steps = planShadowIndexes(ctx, untouched(ctx.facts));
    assert.deepEqual(steps.slice(2), [
      transaction(
        "add not null constraint file_size__pgshift_notnull (NOT VALID)",
        `ALTER TABLE ${T} ADD CONSTRAINT "file_size__pgshift_notnull" CHECK ("file_size__pgshift_new" IS NOT NULL) NOT VALID`,
      ),
      alone("validate file_size__pgshift_notnull", `ALTER TABLE ${T} VALIDATE CONSTRAINT "file_size__pgshift_notnull"`),
    ]);
  });

  it("a constraint added but not yet validated (crash in between) only gets the VALIDATE", () => {
    const ctx = fileContext({ notNull: true });
    const live = done(ctx);
    live.constraints[ctx.names.notNullCheck] = { validated: false, type: "c" };
    assert.deepEqual(planShadowIndexes(ctx, live), [
      alone("validate file_size__pgshift_notnull", `ALTER TABLE ${T} VALIDATE CONSTRAINT "file_size__pgshift_notnull"`),
    ]);
  });

  it("copies a CHECK on the column (NOT VALID + VALIDATE), after the indexes and before NOT NULL", () => {
    const ctx = fileContext({ notNull: true, constraints: [CHECK] });
    const steps = planShadowIndexes(ctx, untouched(ctx.facts));
    assert.deepEqual(
      steps.map((s) => s.description),
      [
        buildComposite.description,
        buildPartial.description,
        `add check constraint ${CHECK.name}__pgshift (NOT VALID)`,
        `validate ${CHECK.name}__pgshift`,
        "add not null constraint file_size__pgshift_notnull (NOT VALID)",
        "validate file_size__pgshift_notnull",
      ],
    );
    assert.deepEqual(steps[2].sql, [
      `ALTER TABLE ${T} ADD CONSTRAINT "${CHECK.name}__pgshift" CHECK (("file_size__pgshift_new" >= 0)) NOT VALID`,
    ]);
    assert.deepEqual(
      shadowObjects(ctx).map((o) => o.kind),
      ["index", "index", "check", "not null"],
    );
  });

  it("planRemoveShadowIndexes drops exactly the copies that exist, indexes CONCURRENTLY", () => {
    const ctx = fileContext({ notNull: true, constraints: [CHECK] });
    assert.deepEqual(planRemoveShadowIndexes(ctx, untouched(ctx.facts)), []);
    assert.deepEqual(planRemoveShadowIndexes(ctx, done(ctx)), [
      alone(`drop index ${COMPOSITE_INDEX}__pgshift`, dropIndex(`${COMPOSITE_INDEX}__pgshift`)),
      alone(`drop index ${PARTIAL_INDEX}__pgshift`, dropIndex(`${PARTIAL_INDEX}__pgshift`)),
      transaction(`drop constraint ${CHECK.name}__pgshift`, `ALTER TABLE ${T} DROP CONSTRAINT IF EXISTS "${CHECK.name}__pgshift"`),
      transaction("drop constraint file_size__pgshift_notnull", `ALTER TABLE ${T} DROP CONSTRAINT IF EXISTS "file_size__pgshift_notnull"`),
    ]);
  });
});

describe("expand plans and their inverses", () => {
  const pairs: [string, (ctx: PlanContext, live: LiveState) => Step[], (ctx: PlanContext, live: LiveState) => Step[]][] = [
    ["shadow column", planShadowColumn, planRemoveShadowColumn],
    ["mirror trigger", planMirrorTrigger, planRemoveMirrorTrigger],
    ["shadow indexes", planShadowIndexes, planRemoveShadowIndexes],
  ];
  for (const [name, plan, remove] of pairs) {
    it(`${name}: everything to do on an untouched table, nothing to undo; the reverse once expanded`, () => {
      const ctx = fileContext({ notNull: true, constraints: [CHECK] });
      assert.ok(plan(ctx, untouched(ctx.facts)).length > 0);
      assert.deepEqual(remove(ctx, untouched(ctx.facts)), []);
      assert.deepEqual(plan(ctx, done(ctx)), []);
      assert.ok(remove(ctx, done(ctx)).length > 0);
    });
  }

  it("CONCURRENTLY appears only in steps that run alone (outside a transaction), one statement each", () => {
    const ctx = fileContext({ notNull: true, constraints: [CHECK] });
    const fresh = untouched(ctx.facts);
    const steps = [
      ...planShadowColumn(ctx, fresh),
      ...planMirrorTrigger(ctx, fresh),
      ...planShadowIndexes(ctx, fresh),
      ...planRemoveShadowIndexes(ctx, done(ctx)),
    ];
    assert.ok(steps.some((s) => s.mode === "alone"));
    for (const s of steps) {
      if (s.sql.some((q) => q.includes("CONCURRENTLY"))) assert.equal(s.mode, "alone", s.description);
      if (s.mode === "alone") assert.equal(s.sql.length, 1, s.description);
    }
  });
});
