/**
 * Property tests over every fixture variant: cutover and rollback undo each other, and cutover
 * then contract ends at the untouched table, on the name-level model of support/simulate.ts.
 */
import assert from "node:assert/strict";
import { planContract } from "../../src/plan/contract";
import { planCutover, planRollback } from "../../src/plan/cutover";
import { swapSteps, type SwapPlan } from "../../src/plan/step";
import { planShadowIndexes } from "../../src/plan/expand";
import { untouched, type PlanContext } from "../../src/plan/facts";
import { expandedLive, fileContext, VARIANTS } from "./support/fixtures";
import { applyRenames, applySteps, liveOf, namesOf, simCatalog, type SimCatalog } from "./support/simulate";
import { EMPTY } from "./support/swapSql";

/** The model of the catalog after a complete expand, each covering object tied to the changed column or its shadow. */
function expandedCatalog(ctx: PlanContext): SimCatalog {
  const t = ctx.facts.table;
  const covering = new Set([...t.indexes.filter((i) => i.coversColumn).map((i) => i.name), ...t.constraints.filter((c) => c.coversColumn).map((c) => c.name)]);
  return simCatalog(expandedLive(ctx, untouched(ctx.facts)), (name) => {
    if (covering.has(name)) return t.column.name;
    if (name === ctx.names.notNullCheck || (name.endsWith("__pgshift") && covering.has(name.slice(0, -"__pgshift".length)))) return ctx.names.shadowColumn;
    return null;
  });
}

function interesting(ctx: PlanContext): string[] {
  return [ctx.names.shadowColumn, ctx.names.oldColumn, ctx.facts.table.column.name];
}

function apply(cat: SimCatalog, ctx: PlanContext, steps: SwapPlan | ReturnType<typeof planShadowIndexes>): void {
  applySteps(cat, ctx.facts.table.qualifiedName, Array.isArray(steps) ? steps : swapSteps(steps), interesting(ctx));
}

/** Which column of interest every index and constraint is on. */
function placement(cat: SimCatalog): Record<string, string | null> {
  return Object.fromEntries([...[...cat.indexes].map(([n, i]) => [`index ${n}`, i.column]), ...[...cat.constraints].map(([n, c]) => [`constraint ${n}`, c.column])].sort());
}

describe("cutover and rollback are inverses (property over every fixture variant)", () => {
  for (const v of VARIANTS) {
    it(`${v.name}: the renames of planCutover then planRollback give back the original names`, () => {
      const ctx = fileContext(v.opts);
      const table = ctx.facts.table.qualifiedName;
      const cat = simCatalog(expandedLive(ctx, untouched(ctx.facts)), () => null);
      const original = namesOf(cat);
      const forward = applyRenames(cat, table, planCutover(ctx, "public").swap.sql);
      assert.ok(forward >= 2);
      assert.notDeepEqual(namesOf(cat), original);
      const back = applyRenames(cat, table, planRollback(ctx, "public", EMPTY).swap.sql);
      assert.equal(back, forward);
      assert.deepEqual(namesOf(cat), original);
    });

    it(`${v.name}: cutover, rollback and the expand rebuild give back the expanded catalog (names and which column each object is on)`, () => {
      const ctx = fileContext(v.opts);
      const cat = expandedCatalog(ctx);
      const expanded = { names: namesOf(cat), placement: placement(cat) };

      apply(cat, ctx, planCutover(ctx, "public"));
      // after cutover: the real column name is the new column, every original name is on it
      assert.ok(cat.columns.includes(ctx.names.oldColumn) && !cat.columns.includes(ctx.names.shadowColumn));
      for (const [name, column] of Object.entries(expanded.placement)) {
        if (column === ctx.facts.table.column.name) assert.equal(placement(cat)[name], ctx.facts.table.column.name, `${name} after cutover`);
      }
      assert.deepEqual(namesOf(cat).triggers, [ctx.names.reverseInsertTrigger, ctx.names.reverseUpdateTrigger].sort());
      const cutOver = { names: namesOf(cat), placement: placement(cat) };

      apply(cat, ctx, planRollback(ctx, "public", liveOf(cat)));
      // handlers/cutover.ts: the swap consumed the shadow's PRIMARY KEY / UNIQUE index and NOT NULL check
      apply(cat, ctx, planShadowIndexes(ctx, liveOf(cat)));
      const back = namesOf(cat);
      assert.deepEqual({ ...back, functions: [] }, { ...expanded.names, functions: [] });
      assert.deepEqual(placement(cat), expanded.placement);

      // and a second cutover ends where the first one did
      apply(cat, ctx, planCutover(ctx, "public"));
      assert.deepEqual({ names: namesOf(cat), placement: placement(cat) }, cutOver);
    });

    it(`${v.name}: cutover then contract leaves the untouched table's names, all on the (new) column, and no pgshift object`, () => {
      const ctx = fileContext(v.opts);
      const cat = expandedCatalog(ctx);
      const base = untouched(ctx.facts);
      apply(cat, ctx, planCutover(ctx, "public"));
      apply(cat, ctx, planContract(ctx, "public", liveOf(cat)));
      assert.deepEqual(namesOf(cat), {
        columns: [...base.columns].sort(),
        indexes: Object.keys(base.indexes).sort(),
        constraints: Object.keys(base.constraints).sort(),
        triggers: [],
        functions: [],
      });
      const col = ctx.facts.table.column.name;
      for (const [name, column] of Object.entries(placement(cat))) assert.ok(column === null || column === col, `${name} is on ${column}`);
    });
  }

  // the reverse functions cutover created must not outlive the step back (removing the component
  // in expand then leaves nothing behind)
  it("after cutover and rollback only the expand functions exist", () => {
    const ctx = fileContext();
    const cat = expandedCatalog(ctx);
    const functions = namesOf(cat).functions;
    apply(cat, ctx, planCutover(ctx, "public"));
    apply(cat, ctx, planRollback(ctx, "public", liveOf(cat)));
    apply(cat, ctx, planShadowIndexes(ctx, liveOf(cat)));
    assert.deepEqual(namesOf(cat).functions, functions);
  });
});
