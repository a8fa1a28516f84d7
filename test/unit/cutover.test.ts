/** planCutover: golden SQL of the swap to the new column (and of the steps around it). */
import assert from "node:assert/strict";
import { planCutover, planRollback } from "../../src/plan/cutover";
import { swapSteps } from "../../src/plan/step";
import { untouched, type PlanContext } from "../../src/plan/facts";
import { alone, statementsOf, transaction } from "../../src/plan/step";
import { moveIdentitySql } from "../../src/sql/identity";
import { reverseTriggerFunctionSql } from "../../src/sql/reverse";
import { CHECK, FKEY, fileContext, ID_SEQUENCE, PKEY, UNIQUE_KEY, VARIANTS } from "./support/fixtures";
import {
  alterColumn,
  dropTrigger,
  FN,
  keyOnIndex,
  lock,
  yieldingLock,
  notNullByCheck,
  position,
  renameColumn,
  renameConstraint,
  reverseTriggers,
  STATE,
  stage,
  swapPlainIndexes,
  swapSql,
  T,
} from "./support/swapSql";

describe("planCutover", () => {
  it("swap opens with the reverse conversion, the mark-irreversible function and the reverse trigger function, before the LOCK (nothing before it: a crash in between left them behind)", () => {
    const ctx = fileContext();
    const plan = planCutover(ctx, "public");
    assert.deepEqual(plan.before, []);
    assert.deepEqual(plan.swap.sql.slice(0, 5), [
      `CREATE OR REPLACE FUNCTION ${FN("file_size_rconv")}("file_size" bigint) RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $pgshift$ SELECT "file_size"::integer $pgshift$`,
      `CREATE OR REPLACE FUNCTION ${FN("file_size_irrev")}(reason text) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgshift$ ` +
        `UPDATE ${STATE} SET reversible = false, irreversible_reason = coalesce(irreversible_reason, reason), updated_at = now() ` +
        `WHERE id = 'public.contentcuration_file.file_size' AND reversible $pgshift$`,
      reverseTriggerFunctionSql(ctx),
      yieldingLock,
      lock,
    ]);
  });

  it("swap: ONE transaction, LOCK first, forward triggers dropped, index and column renames, reverse triggers, state row last", () => {
    const plan = planCutover(fileContext(), "public");
    assert.deepEqual(
      plan.swap,
      transaction("swap the columns (cutover)", ...swapSql("cutover", "file_size", swapPlainIndexes)),
    );
    assert.equal(plan.swap.mode, "transaction");
    assert.equal(plan.swap.onRetry, undefined);
  });

  it("after: ANALYZE of the column, alone", () => {
    assert.deepEqual(planCutover(fileContext(), "public").after, [
      alone("refresh the planner statistics of the column", `ANALYZE ${T} ("file_size")`),
    ]);
  });

  it("swapSteps runs before, swap, after in that order; the state row lives in stateSchema", () => {
    const plan = planCutover(fileContext(), "pgshift state");
    assert.deepEqual(swapSteps(plan), [...plan.before, plan.swap, ...plan.after]);
    assert.equal(
      plan.swap.sql.at(-1),
      `UPDATE "pgshift state"."pgshift_migrations" SET stage = 'cutover', updated_at = now() WHERE id = 'public.contentcuration_file.file_size'`,
    );
    assert.ok(plan.swap.sql[1].includes(`UPDATE "pgshift state"."pgshift_migrations" SET reversible = false`));
  });

  it("NOT NULL column: SET NOT NULL on the shadow (proved by the validated CHECK), drop that CHECK, DROP NOT NULL on the old column", () => {
    const plan = planCutover(fileContext({ notNull: true }), "public");
    assert.deepEqual(
      plan.swap.sql,
      swapSql("cutover", "file_size", [
        ...notNullByCheck("file_size__pgshift_new", "file_size"),
        alterColumn("file_size", "DROP NOT NULL"),
        ...swapPlainIndexes,
      ]),
    );
  });

  it("UNIQUE constraint: DROP CONSTRAINT, then UNIQUE USING INDEX of the copy; a NOT NULL old column loses NOT NULL only after that", () => {
    const plan = planCutover(fileContext({ notNull: true, unique: true }), "public");
    assert.deepEqual(
      plan.swap.sql,
      swapSql("cutover", "file_size", [
        ...notNullByCheck("file_size__pgshift_new", "file_size"),
        ...keyOnIndex(UNIQUE_KEY, "UNIQUE", `${UNIQUE_KEY}__pgshift`),
        alterColumn("file_size", "DROP NOT NULL"),
        ...swapPlainIndexes,
      ]),
    );
  });

  it("serial PRIMARY KEY: sequence OWNED BY the shadow and AS bigint, DROP DEFAULT before the renames, PRIMARY KEY USING INDEX, SET DEFAULT after", () => {
    const plan = planCutover(fileContext({ changeId: true }), "public");
    assert.deepEqual(
      plan.swap.sql,
      swapSql(
        "cutover",
        "id",
        [
          `ALTER SEQUENCE ${ID_SEQUENCE} OWNED BY ${T}."id__pgshift_new"`,
          `ALTER SEQUENCE ${ID_SEQUENCE} AS bigint`,
          alterColumn("id", "DROP DEFAULT"),
          ...notNullByCheck("id__pgshift_new", "id"),
          ...keyOnIndex(PKEY, "PRIMARY KEY", `${PKEY}__pgshift`),
          alterColumn("id", "DROP NOT NULL"),
        ],
        [alterColumn("id", "SET DEFAULT nextval('contentcuration_file_id_seq'::regclass)")],
      ),
    );
    // the plain indexes on (checksum, file_size) do not cover id: not renamed
    assert.ok(!plan.swap.sql.some((s) => s.startsWith("ALTER INDEX")));
    assert.deepEqual(plan.after, [alone("refresh the planner statistics of the column", `ANALYZE ${T} ("id")`)]);
  });

  it("serial: a sequence is not retyped when the new type is not an integer type (it still moves with the column)", () => {
    const ctx = fileContext({ changeId: true, to: { formatted: "numeric(20,0)", typeName: "numeric", typmod: 1310724 } });
    const sql = planCutover(ctx, "public").swap.sql;
    assert.ok(sql.includes(`ALTER SEQUENCE ${ID_SEQUENCE} OWNED BY ${T}."id__pgshift_new"`));
    assert.ok(!sql.some((s) => / AS /.test(s) && s.startsWith("ALTER SEQUENCE")), sql.join("\n"));
  });

  for (const [kind, code] of [
    ["identity by default", "d"],
    ["identity always", "a"],
  ] as const) {
    it(`${kind} column: no sequence / default statements; the identity moves (DO block) after the renames, then DROP NOT NULL on the old column`, () => {
      const plan = planCutover(fileContext({ changeId: true, id: kind }), "public");
      assert.deepEqual(
        plan.swap.sql,
        swapSql(
          "cutover",
          "id",
          [...notNullByCheck("id__pgshift_new", "id"), ...keyOnIndex(PKEY, "PRIMARY KEY", `${PKEY}__pgshift`)],
          [moveIdentitySql(T, "id__pgshift_old", "id", code, "int4"), alterColumn("id__pgshift_old", "DROP NOT NULL")],
        ),
      );
      assert.ok(!plan.swap.sql.some((s) => s.startsWith("ALTER SEQUENCE") || /(SET|DROP) DEFAULT/.test(s)));
    });
  }

  it("CHECK and FOREIGN KEY: the original becomes <name>__pgshift_old, the copy takes the original name (after the index renames)", () => {
    const plan = planCutover(fileContext({ constraints: [CHECK, FKEY] }), "public");
    assert.deepEqual(
      plan.swap.sql,
      swapSql("cutover", "file_size", [
        ...swapPlainIndexes,
        renameConstraint(CHECK.name, `${CHECK.name}__pgshift_old`),
        renameConstraint(`${CHECK.name}__pgshift`, CHECK.name),
        renameConstraint(FKEY.name, `${FKEY.name}__pgshift_old`),
        renameConstraint(`${FKEY.name}__pgshift`, FKEY.name),
      ]),
    );
  });

  it("commented column: COMMENT ON COLUMN (quoted literal) after the renames, before the reverse triggers", () => {
    const sql = planCutover(fileContext({ comment: "Size in bytes (it's big)" }), "public").swap.sql;
    const comment = position(sql, "COMMENT ON COLUMN");
    assert.equal(sql[comment], `COMMENT ON COLUMN ${T}."file_size" IS 'Size in bytes (it''s big)'`);
    assert.ok(comment > sql.indexOf(renameColumn("file_size__pgshift_new", "file_size")));
    assert.ok(comment < position(sql, 'CREATE TRIGGER "zzz_pgshift_file_size_rev_ins"'));
  });

  it("plain DEFAULT (no sequence): DROP DEFAULT on the old column before the renames, SET DEFAULT on the new one after", () => {
    const sql = planCutover(fileContext({ default: "0" }), "public").swap.sql;
    const drop = sql.indexOf(alterColumn("file_size", "DROP DEFAULT"));
    const set = sql.indexOf(alterColumn("file_size", "SET DEFAULT 0"));
    const renameOld = sql.indexOf(renameColumn("file_size", "file_size__pgshift_old"));
    const renameNew = sql.indexOf(renameColumn("file_size__pgshift_new", "file_size"));
    assert.ok(drop > 0 && drop < renameOld, sql.join("\n"));
    assert.ok(set > renameNew, sql.join("\n"));
    assert.ok(!sql.some((s) => s.startsWith("ALTER SEQUENCE")));
  });

  it("every variant: LOCK first, the state row last, both forward triggers dropped before anything else, no CONCURRENTLY inside the swap", () => {
    for (const opts of VARIANTS.map((v) => v.opts)) {
      const ctx = fileContext(opts);
      const { swap, before, after } = planCutover(ctx, "public");
      const col = ctx.facts.table.column.name;
      assert.deepEqual(swap.sql.slice(3, 5), [yieldingLock, lock]);
      assert.deepEqual(swap.sql.slice(5, 7), [dropTrigger(`zzz_pgshift_${col}_fwd_ins`), dropTrigger(`zzz_pgshift_${col}_fwd_upd`)]);
      assert.equal(swap.sql.at(-1), stage("cutover", col));
      assert.deepEqual(swap.sql.slice(-3, -1), reverseTriggers(col));
      assert.ok(!statementsOf([...before, swap, ...after]).some((s) => s.includes("CONCURRENTLY")));
    }
  });
});

describe("foreign keys of other tables that reference the column", () => {
  const FK = { table: '"public"."orders"', name: "orders_file_fkey", definition: "FOREIGN KEY (file_id) REFERENCES public.contentcuration_file(id) ON DELETE CASCADE" };
  const withFk = (): PlanContext => {
    const ctx = fileContext({ changeId: true });
    ctx.facts.table.referencingForeignKeys = [FK];
    return ctx;
  };
  const drop = `ALTER TABLE "public"."orders" DROP CONSTRAINT "orders_file_fkey"`;
  const add = `ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_file_fkey" ${FK.definition} NOT VALID`;
  const validate = alone(`validate foreign key orders_file_fkey on "public"."orders"`, `ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_file_fkey"`);

  for (const [name, plan] of [
    ["cutover", () => planCutover(withFk(), "public")],
    ["rollback", () => planRollback(withFk(), "public", untouched(withFk().facts))],
  ] as const) {
    it(`${name}: dropped right after the lock, re-added NOT VALID before the triggers, validated after the swap`, () => {
      const p = plan();
      // the key's table is locked with the family's (one LOCK, sorted), after the cutover's reverse functions
      const familyLock = p.swap.sql.indexOf(`LOCK TABLE "public"."contentcuration_file", "public"."orders" IN ACCESS EXCLUSIVE MODE`);
      assert.ok(familyLock >= 0, p.swap.sql.join("\n"));
      assert.equal(p.swap.sql.indexOf(drop), familyLock + 3, "drop right after LOCK and the two trigger drops");
      const addAt = p.swap.sql.indexOf(add);
      assert.ok(addAt > p.swap.sql.findIndex((s) => s.includes("RENAME COLUMN")), "re-added after the columns swapped");
      assert.ok(addAt < p.swap.sql.findIndex((s) => s.startsWith("CREATE TRIGGER")), "re-added before the triggers");
      assert.deepEqual(p.after[0], validate);
    });
  }

  it("a definition that was NOT VALID is not doubled", () => {
    const ctx = withFk();
    ctx.facts.table.referencingForeignKeys = [{ ...FK, definition: `${FK.definition} NOT VALID` }];
    assert.ok(planCutover(ctx, "public").swap.sql.includes(add));
  });
});
