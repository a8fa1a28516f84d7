import assert from "node:assert/strict";
import { planContract } from "../../src/plan/contract";
import { swapSteps } from "../../src/plan/step";
import { untouched, type LiveState } from "../../src/plan/facts";
import { alone, transaction } from "../../src/plan/step";
import { yieldingLockSql } from "../../src/plan/swapLock";
import { COMPOSITE_INDEX, fileContext, PARTIAL_INDEX, PKEY, UNIQUE_KEY } from "./support/fixtures";

const T = '"public"."contentcuration_file"';
/** The migration tag in function names: the first 8 hex digits of sha1(["public","contentcuration_file",column]). */
const TAG: Record<string, string> = { file_size: "7770b426", id: "20477f7c" };
const FN = (name: string) => `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_${name.replace(/^(file_size|id)_/, (_, c: string) => `${c}_${TAG[c]}_`)}"`;
const dropOld = (index: string) =>
  alone(`drop the old column's index ${index}__pgshift_old`, `DROP INDEX CONCURRENTLY IF EXISTS "public"."${index}__pgshift_old"`);

/** The live state right after a cutover of the fixture: originals renamed to __pgshift_old, copies renamed to the originals. */
function afterCutover(extra: Record<string, { valid: boolean }> = {}): LiveState {
  const ctx = fileContext();
  const base = untouched(ctx.facts);
  return {
    ...base,
    columns: [...base.columns, "file_size__pgshift_old"],
    functions: ["conv", "rconv", "fwd", "rev", "irrev"].map((f) => `pgshift_contentcuration_file_file_size_${f}`),
    triggers: ["zzz_pgshift_file_size_rev_ins", "zzz_pgshift_file_size_rev_upd"],
    indexes: { ...base.indexes, [`${COMPOSITE_INDEX}__pgshift_old`]: { valid: true }, [`${PARTIAL_INDEX}__pgshift_old`]: { valid: true }, ...extra },
  };
}

describe("planContract", () => {
  it("before: DROP INDEX CONCURRENTLY of each __pgshift_old index, each alone, no retry cleanup", () => {
    const plan = planContract(fileContext(), "public", afterCutover());
    assert.deepEqual(plan.before, [dropOld(COMPOSITE_INDEX), dropOld(PARTIAL_INDEX)]);
    for (const step of plan.before) {
      assert.equal(step.mode, "alone");
      assert.equal(step.onRetry, undefined);
    }
  });

  it("before: only the __pgshift_old indexes the live state has (an INVALID one too); none on a re-run after they are gone", () => {
    const ctx = fileContext();
    const live = afterCutover();
    delete live.indexes[`${COMPOSITE_INDEX}__pgshift_old`];
    live.indexes[`${PARTIAL_INDEX}__pgshift_old`] = { valid: false };
    assert.deepEqual(planContract(ctx, "public", live).before, [dropOld(PARTIAL_INDEX)]);
    assert.deepEqual(planContract(ctx, "public", untouched(ctx.facts)).before, []);
  });

  it("before: never an index whose name is not <index>__pgshift_old (the originals' names, UNIQUE / PRIMARY KEY indexes)", () => {
    const ctx = fileContext({ unique: true });
    const plan = planContract(ctx, "public", afterCutover({ [UNIQUE_KEY]: { valid: true }, [`${UNIQUE_KEY}__pgshift`]: { valid: true } }));
    assert.deepEqual(plan.before, [dropOld(COMPOSITE_INDEX), dropOld(PARTIAL_INDEX)]);
    const id = fileContext({ changeId: true });
    assert.deepEqual(planContract(id, "public", { ...untouched(id.facts), indexes: { [PKEY]: { valid: true } } }).before, []);
  });

  it("swap: one transaction: LOCK, drop both reverse triggers, DROP COLUMN IF EXISTS the old column, the five functions (reverse trigger function first), stage 'contract' last; nothing after", () => {
    const plan = planContract(fileContext(), "public", afterCutover());
    assert.deepEqual(
      plan.swap,
      transaction(
        "drop the old column and pgshift's functions (contract)",
        yieldingLockSql([T]),
        `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`,
        `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_rev_ins" ON ${T}`,
        `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_rev_upd" ON ${T}`,
        `ALTER TABLE ${T} DROP COLUMN IF EXISTS "file_size__pgshift_old"`,
        FN("file_size_rev"),
        FN("file_size_irrev"),
        FN("file_size_fwd"),
        FN("file_size_rconv"),
        FN("file_size_conv"),
        `UPDATE "public"."pgshift_migrations" SET stage = 'contract', updated_at = now() WHERE id = 'public.contentcuration_file.file_size'`,
      ),
    );
    assert.deepEqual(plan.after, []);
  });

  it("is the same whatever the live state says about functions and triggers (all statements are IF EXISTS)", () => {
    const ctx = fileContext();
    const full = planContract(ctx, "public", afterCutover());
    const bare = planContract(ctx, "public", { ...afterCutover(), functions: [], triggers: [], columns: [] });
    assert.deepEqual(bare, full);
    for (const sql of swapSteps(full).flatMap((s) => s.sql)) {
      if (/^(DROP|ALTER TABLE .* DROP)/.test(sql)) assert.match(sql, /IF EXISTS/, sql);
    }
  });

  it("a serial PRIMARY KEY column: the old column's triggers and column by its own names, state row of id, stateSchema honoured", () => {
    const plan = planContract(fileContext({ changeId: true }), "pgshift", untouched(fileContext({ changeId: true }).facts));
    assert.deepEqual(plan.swap.sql, [
      yieldingLockSql([T]),
      `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`,
      `DROP TRIGGER IF EXISTS "zzz_pgshift_id_rev_ins" ON ${T}`,
      `DROP TRIGGER IF EXISTS "zzz_pgshift_id_rev_upd" ON ${T}`,
      `ALTER TABLE ${T} DROP COLUMN IF EXISTS "id__pgshift_old"`,
      FN("id_rev"),
      FN("id_irrev"),
      FN("id_fwd"),
      FN("id_rconv"),
      FN("id_conv"),
      `UPDATE "pgshift"."pgshift_migrations" SET stage = 'contract', updated_at = now() WHERE id = 'public.contentcuration_file.id'`,
    ]);
  });
});
