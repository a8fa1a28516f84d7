/** planRollback: golden SQL of the swap back to the old column (and of the steps around it). */
import assert from "node:assert/strict";
import type { LiveState } from "../../src/plan/facts";
import { planRollback } from "../../src/plan/cutover";
import { alone, transaction } from "../../src/plan/step";
import { forwardTriggersSql } from "../../src/sql/functions";
import { moveIdentitySql } from "../../src/sql/identity";
import { CHECK, FKEY, fileContext, ID_SEQUENCE, PKEY, UNIQUE_KEY } from "./support/fixtures";
import {
  alterColumn,
  EMPTY,
  forwardTriggers,
  keyOnIndex,
  notNullByCheck,
  renameConstraint,
  swapSql,
  T,
  unswapPlainIndexes,
} from "./support/swapSql";

describe("planRollback", () => {
  it("nothing to build when no PRIMARY KEY / UNIQUE / NOT NULL covers the column; the swap renames back and re-creates the forward triggers", () => {
    const ctx = fileContext();
    const plan = planRollback(ctx, "public", EMPTY);
    assert.deepEqual(plan.before, []);
    assert.deepEqual(
      plan.swap,
      transaction("swap the columns back (rollback of cutover)", ...swapSql("rollback", "file_size", unswapPlainIndexes)),
    );
    assert.deepEqual(forwardTriggers(), forwardTriggersSql(ctx));
    // the reverse functions are dropped inside the swap (see swapSql), right after their triggers
    assert.deepEqual(plan.swap.sql.slice(-4, -1), [
      `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_rev"`,
      `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_irrev"`,
      `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_rconv"`,
    ]);
    assert.deepEqual(plan.after, [alone("refresh the planner statistics of the column", `ANALYZE ${T} ("file_size")`)]);
  });

  const buildOldPkey = alone(
    `build index ${PKEY}__pgshift_old on the old column (for ${PKEY})`,
    `CREATE UNIQUE INDEX CONCURRENTLY "${PKEY}__pgshift_old" ON ${T} USING btree ("id__pgshift_old")`,
    [`DROP INDEX CONCURRENTLY IF EXISTS "public"."${PKEY}__pgshift_old"`],
  );
  const addOldNotNull = transaction(
    "add id__pgshift_notnull (NOT VALID)",
    `ALTER TABLE ${T} ADD CONSTRAINT "id__pgshift_notnull" CHECK ("id__pgshift_old" IS NOT NULL) NOT VALID`,
  );
  const validateOldNotNull = alone("validate id__pgshift_notnull", `ALTER TABLE ${T} VALIDATE CONSTRAINT "id__pgshift_notnull"`);

  it("serial PRIMARY KEY, empty live state: builds <pkey>__pgshift_old on the old column CONCURRENTLY (drop on retry), then the NOT NULL check (NOT VALID + VALIDATE)", () => {
    const plan = planRollback(fileContext({ changeId: true }), "public", EMPTY);
    assert.deepEqual(plan.before, [buildOldPkey, addOldNotNull, validateOldNotNull]);
    assert.deepEqual(
      plan.before.map((s) => s.mode),
      ["alone", "transaction", "alone"],
    );
  });

  it("skips what exists and is valid; only VALIDATEs a check added NOT VALID; drops and rebuilds an INVALID index", () => {
    const ctx = fileContext({ changeId: true });
    const ready: LiveState = {
      ...EMPTY,
      indexes: { [`${PKEY}__pgshift_old`]: { valid: true } },
      constraints: { id__pgshift_notnull: { validated: true, type: "c" } },
    };
    assert.deepEqual(planRollback(ctx, "public", ready).before, []);
    const half: LiveState = {
      ...EMPTY,
      indexes: { [`${PKEY}__pgshift_old`]: { valid: false } },
      constraints: { id__pgshift_notnull: { validated: false, type: "c" } },
    };
    const steps = planRollback(ctx, "public", half).before;
    assert.deepEqual(steps, [
      alone(`drop the invalid leftover index ${PKEY}__pgshift_old`, `DROP INDEX CONCURRENTLY IF EXISTS "public"."${PKEY}__pgshift_old"`),
      buildOldPkey,
      validateOldNotNull,
    ]);
    assert.equal(steps[0].onRetry, undefined);
  });

  it("serial PRIMARY KEY swap: the mirror image of the cutover (NOT NULL, sequence back AS integer, default, PRIMARY KEY USING INDEX <pkey>__pgshift_old)", () => {
    const plan = planRollback(fileContext({ changeId: true }), "public", EMPTY);
    assert.deepEqual(
      plan.swap.sql,
      swapSql("rollback", "id", [
        ...notNullByCheck("id__pgshift_old", "id"),
        `ALTER SEQUENCE ${ID_SEQUENCE} OWNED BY ${T}."id__pgshift_old"`,
        `ALTER SEQUENCE ${ID_SEQUENCE} AS integer`,
        alterColumn("id", "DROP DEFAULT"),
        alterColumn("id__pgshift_old", "SET DEFAULT nextval('contentcuration_file_id_seq'::regclass)"),
        ...keyOnIndex(PKEY, "PRIMARY KEY", `${PKEY}__pgshift_old`),
        alterColumn("id", "DROP NOT NULL"),
      ]),
    );
  });

  it("identity: SET NOT NULL on the old column, then the identity moves back (from-type bigint) before the PRIMARY KEY swap", () => {
    const plan = planRollback(fileContext({ changeId: true, id: "identity always" }), "public", EMPTY);
    assert.deepEqual(
      plan.swap.sql,
      swapSql("rollback", "id", [
        ...notNullByCheck("id__pgshift_old", "id"),
        moveIdentitySql(T, "id", "id__pgshift_old", "a", "int8"),
        ...keyOnIndex(PKEY, "PRIMARY KEY", `${PKEY}__pgshift_old`),
        alterColumn("id", "DROP NOT NULL"),
      ]),
    );
  });

  it("UNIQUE, CHECK, FOREIGN KEY, comment: UNIQUE USING INDEX <key>__pgshift_old, constraint names back, the shadow's comment cleared", () => {
    const ctx = fileContext({ unique: true, constraints: [CHECK, FKEY], comment: "bytes" });
    const plan = planRollback(ctx, "public", EMPTY);
    assert.deepEqual(plan.before, [
      alone(
        `build index ${UNIQUE_KEY}__pgshift_old on the old column (for ${UNIQUE_KEY})`,
        `CREATE UNIQUE INDEX CONCURRENTLY "${UNIQUE_KEY}__pgshift_old" ON ${T} USING btree ("file_size__pgshift_old")`,
        [`DROP INDEX CONCURRENTLY IF EXISTS "public"."${UNIQUE_KEY}__pgshift_old"`],
      ),
    ]);
    assert.deepEqual(
      plan.swap.sql,
      swapSql(
        "rollback",
        "file_size",
        [
          ...keyOnIndex(UNIQUE_KEY, "UNIQUE", `${UNIQUE_KEY}__pgshift_old`),
          ...unswapPlainIndexes,
          renameConstraint(CHECK.name, `${CHECK.name}__pgshift`),
          renameConstraint(`${CHECK.name}__pgshift_old`, CHECK.name),
          renameConstraint(FKEY.name, `${FKEY.name}__pgshift`),
          renameConstraint(`${FKEY.name}__pgshift_old`, FKEY.name),
        ],
        [`COMMENT ON COLUMN ${T}."file_size__pgshift_new" IS NULL`],
      ),
    );
  });
});
