import assert from "node:assert/strict";
import type { ConstraintInfo } from "../../src/catalog/types";
import { planContract } from "../../src/plan/contract";
import { planCutover, planRollback, planSteps, type SwapPlan } from "../../src/plan/cutover";
import { planShadowIndexes } from "../../src/plan/expand";
import { untouched, type LiveState, type PlanContext } from "../../src/plan/facts";
import { alone, statementsOf, transaction } from "../../src/plan/step";
import { forwardTriggersSql } from "../../src/sql/functions";
import { moveIdentitySql } from "../../src/sql/identity";
import { reverseTriggerFunctionSql } from "../../src/sql/reverse";
import {
  CHECK,
  COMPOSITE_INDEX,
  expandedLive,
  fileContext,
  ID_SEQUENCE,
  PARTIAL_INDEX,
  PKEY,
  UNIQUE_KEY,
  type FileFactsOptions,
} from "./support/fixtures";
import { applyRenames, applySteps, liveOf, namesOf, simCatalog, type SimCatalog } from "./support/simulate";

const T = '"public"."contentcuration_file"';
const STATE = '"public"."pgshift_migrations"';
/** The migration tag in function names: the first 8 hex digits of sha1(["public","contentcuration_file",column]). */
const TAG: Record<string, string> = { file_size: "7770b426", id: "20477f7c" };
const FN = (name: string) => `"public"."pgshift_contentcuration_file_${name.replace(/^(file_size|id)_/, (_, c: string) => `${c}_${TAG[c]}_`)}"`;

const FKEY: ConstraintInfo = {
  name: "contentcuration_file_file_size_fkey",
  type: "f",
  definition: "FOREIGN KEY (file_size) REFERENCES public.sizes(bytes)",
  columns: ["file_size"],
  validated: true,
  coversColumn: true,
};

const lock = `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`;
const dropTrigger = (name: string) => `DROP TRIGGER IF EXISTS "${name}" ON ${T}`;
const renameIndex = (from: string, to: string) => `ALTER INDEX "public"."${from}" RENAME TO "${to}"`;
const renameColumn = (from: string, to: string) => `ALTER TABLE ${T} RENAME COLUMN "${from}" TO "${to}"`;
const renameConstraint = (from: string, to: string) => `ALTER TABLE ${T} RENAME CONSTRAINT "${from}" TO "${to}"`;
const status = (s: string, column = "file_size") =>
  `UPDATE ${STATE} SET status = '${s}', updated_at = now() WHERE id = 'public.contentcuration_file.${column}'`;
const reverseTriggers = (column = "file_size") => [
  `CREATE TRIGGER "zzz_pgshift_${column}_rev_ins" BEFORE INSERT ON ${T} FOR EACH ROW EXECUTE FUNCTION ${FN(`${column}_rev`)}()`,
  `CREATE TRIGGER "zzz_pgshift_${column}_rev_upd" BEFORE UPDATE OF "${column}" ON ${T} FOR EACH ROW ` +
    `WHEN (OLD."${column}" IS DISTINCT FROM NEW."${column}") EXECUTE FUNCTION ${FN(`${column}_rev`)}()`,
];
const forwardTriggers = (column = "file_size") => [
  `CREATE TRIGGER "zzz_pgshift_${column}_fwd_ins" BEFORE INSERT ON ${T} FOR EACH ROW EXECUTE FUNCTION ${FN(`${column}_fwd`)}()`,
  `CREATE TRIGGER "zzz_pgshift_${column}_fwd_upd" BEFORE UPDATE OF "${column}" ON ${T} FOR EACH ROW ` +
    `WHEN (OLD."${column}" IS DISTINCT FROM NEW."${column}") EXECUTE FUNCTION ${FN(`${column}_fwd`)}()`,
];
/** The four renames that swap the plain indexes (composite, partial) of file_size with their copies. */
const swapPlainIndexes = [
  renameIndex(COMPOSITE_INDEX, `${COMPOSITE_INDEX}__pgshift_old`),
  renameIndex(`${COMPOSITE_INDEX}__pgshift`, COMPOSITE_INDEX),
  renameIndex(PARTIAL_INDEX, `${PARTIAL_INDEX}__pgshift_old`),
  renameIndex(`${PARTIAL_INDEX}__pgshift`, PARTIAL_INDEX),
];
const unswapPlainIndexes = [
  renameIndex(COMPOSITE_INDEX, `${COMPOSITE_INDEX}__pgshift`),
  renameIndex(`${COMPOSITE_INDEX}__pgshift_old`, COMPOSITE_INDEX),
  renameIndex(PARTIAL_INDEX, `${PARTIAL_INDEX}__pgshift`),
  renameIndex(`${PARTIAL_INDEX}__pgshift_old`, PARTIAL_INDEX),
];

const EMPTY: LiveState = { columns: [], columnTypes: {}, functions: [], triggers: [], indexes: {}, constraints: {} };

/** Position of the one statement of `sql` that equals / starts with `prefix`. */
function position(sql: string[], prefix: string): number {
  const found = sql.filter((s) => s.startsWith(prefix));
  assert.equal(found.length, 1, `expected exactly one statement starting with ${prefix}, got ${JSON.stringify(found)}`);
  return sql.indexOf(found[0]);
}

describe("planCutover", () => {
  it("before: one transaction creating the reverse conversion, the mark-irreversible function and the reverse trigger function", () => {
    const ctx = fileContext();
    const plan = planCutover(ctx, "public");
    assert.deepEqual(plan.before, [
      transaction(
        "create the reverse conversion and trigger functions",
        `CREATE OR REPLACE FUNCTION ${FN("file_size_rconv")}("file_size" bigint) RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $pgshift$ SELECT "file_size"::integer $pgshift$`,
        `CREATE OR REPLACE FUNCTION ${FN("file_size_irrev")}(reason text) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgshift$ ` +
          `UPDATE ${STATE} SET reversible = false, irreversible_reason = coalesce(irreversible_reason, reason), updated_at = now() ` +
          `WHERE id = 'public.contentcuration_file.file_size' AND reversible $pgshift$`,
        reverseTriggerFunctionSql(ctx),
      ),
    ]);
    assert.equal(plan.before[0].mode, "transaction");
  });

  it("swap: ONE transaction, LOCK first, forward triggers dropped, index and column renames, reverse triggers, state row last", () => {
    const plan = planCutover(fileContext(), "public");
    assert.deepEqual(
      plan.swap,
      transaction(
        "swap the columns (cutover)",
        lock,
        dropTrigger("zzz_pgshift_file_size_fwd_ins"),
        dropTrigger("zzz_pgshift_file_size_fwd_upd"),
        ...swapPlainIndexes,
        renameColumn("file_size", "file_size__pgshift_old"),
        renameColumn("file_size__pgshift_new", "file_size"),
        ...reverseTriggers(),
        status("cutover"),
      ),
    );
    assert.equal(plan.swap.mode, "transaction");
    assert.equal(plan.swap.onRetry, undefined);
  });

  it("after: ANALYZE of the column, alone", () => {
    assert.deepEqual(planCutover(fileContext(), "public").after, [
      alone("refresh the planner statistics of the column", `ANALYZE ${T} ("file_size")`),
    ]);
  });

  it("planSteps runs before, swap, after in that order; the state row lives in stateSchema", () => {
    const plan = planCutover(fileContext(), "pgshift state");
    assert.deepEqual(planSteps(plan), [...plan.before, plan.swap, ...plan.after]);
    assert.equal(
      plan.swap.sql.at(-1),
      `UPDATE "pgshift state"."pgshift_migrations" SET status = 'cutover', updated_at = now() WHERE id = 'public.contentcuration_file.file_size'`,
    );
    assert.ok(plan.before[0].sql[1].includes(`UPDATE "pgshift state"."pgshift_migrations" SET reversible = false`));
  });

  it("NOT NULL column: SET NOT NULL on the shadow (proved by the validated CHECK), drop that CHECK, DROP NOT NULL on the old column", () => {
    const plan = planCutover(fileContext({ notNull: true }), "public");
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_file_size_fwd_ins"),
      dropTrigger("zzz_pgshift_file_size_fwd_upd"),
      `ALTER TABLE ${T} ALTER COLUMN "file_size__pgshift_new" SET NOT NULL`,
      `ALTER TABLE ${T} DROP CONSTRAINT "file_size__pgshift_notnull"`,
      `ALTER TABLE ${T} ALTER COLUMN "file_size" DROP NOT NULL`,
      ...swapPlainIndexes,
      renameColumn("file_size", "file_size__pgshift_old"),
      renameColumn("file_size__pgshift_new", "file_size"),
      ...reverseTriggers(),
      status("cutover"),
    ]);
  });

  it("UNIQUE constraint: DROP CONSTRAINT, then UNIQUE USING INDEX of the copy; a NOT NULL old column loses NOT NULL only after that", () => {
    const plan = planCutover(fileContext({ notNull: true, unique: true }), "public");
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_file_size_fwd_ins"),
      dropTrigger("zzz_pgshift_file_size_fwd_upd"),
      `ALTER TABLE ${T} ALTER COLUMN "file_size__pgshift_new" SET NOT NULL`,
      `ALTER TABLE ${T} DROP CONSTRAINT "file_size__pgshift_notnull"`,
      `ALTER TABLE ${T} DROP CONSTRAINT "${UNIQUE_KEY}"`,
      `ALTER TABLE ${T} ADD CONSTRAINT "${UNIQUE_KEY}" UNIQUE USING INDEX "${UNIQUE_KEY}__pgshift"`,
      `ALTER TABLE ${T} ALTER COLUMN "file_size" DROP NOT NULL`,
      ...swapPlainIndexes,
      renameColumn("file_size", "file_size__pgshift_old"),
      renameColumn("file_size__pgshift_new", "file_size"),
      ...reverseTriggers(),
      status("cutover"),
    ]);
  });

  it("serial PRIMARY KEY: sequence OWNED BY the shadow and AS bigint, DROP DEFAULT before the renames, PRIMARY KEY USING INDEX, SET DEFAULT after", () => {
    const plan = planCutover(fileContext({ changeId: true }), "public");
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_id_fwd_ins"),
      dropTrigger("zzz_pgshift_id_fwd_upd"),
      `ALTER SEQUENCE ${ID_SEQUENCE} OWNED BY ${T}."id__pgshift_new"`,
      `ALTER SEQUENCE ${ID_SEQUENCE} AS bigint`,
      `ALTER TABLE ${T} ALTER COLUMN "id" DROP DEFAULT`,
      `ALTER TABLE ${T} ALTER COLUMN "id__pgshift_new" SET NOT NULL`,
      `ALTER TABLE ${T} DROP CONSTRAINT "id__pgshift_notnull"`,
      `ALTER TABLE ${T} DROP CONSTRAINT "${PKEY}"`,
      `ALTER TABLE ${T} ADD CONSTRAINT "${PKEY}" PRIMARY KEY USING INDEX "${PKEY}__pgshift"`,
      `ALTER TABLE ${T} ALTER COLUMN "id" DROP NOT NULL`,
      renameColumn("id", "id__pgshift_old"),
      renameColumn("id__pgshift_new", "id"),
      `ALTER TABLE ${T} ALTER COLUMN "id" SET DEFAULT nextval('contentcuration_file_id_seq'::regclass)`,
      ...reverseTriggers("id"),
      status("cutover", "id"),
    ]);
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
      assert.deepEqual(plan.swap.sql, [
        lock,
        dropTrigger("zzz_pgshift_id_fwd_ins"),
        dropTrigger("zzz_pgshift_id_fwd_upd"),
        `ALTER TABLE ${T} ALTER COLUMN "id__pgshift_new" SET NOT NULL`,
        `ALTER TABLE ${T} DROP CONSTRAINT "id__pgshift_notnull"`,
        `ALTER TABLE ${T} DROP CONSTRAINT "${PKEY}"`,
        `ALTER TABLE ${T} ADD CONSTRAINT "${PKEY}" PRIMARY KEY USING INDEX "${PKEY}__pgshift"`,
        renameColumn("id", "id__pgshift_old"),
        renameColumn("id__pgshift_new", "id"),
        moveIdentitySql(T, "id__pgshift_old", "id", code, "int4"),
        `ALTER TABLE ${T} ALTER COLUMN "id__pgshift_old" DROP NOT NULL`,
        ...reverseTriggers("id"),
        status("cutover", "id"),
      ]);
      assert.ok(!plan.swap.sql.some((s) => s.startsWith("ALTER SEQUENCE") || /(SET|DROP) DEFAULT/.test(s)));
    });
  }

  it("CHECK and FOREIGN KEY: the original becomes <name>__pgshift_old, the copy takes the original name (after the index renames)", () => {
    const plan = planCutover(fileContext({ constraints: [CHECK, FKEY] }), "public");
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_file_size_fwd_ins"),
      dropTrigger("zzz_pgshift_file_size_fwd_upd"),
      ...swapPlainIndexes,
      renameConstraint(CHECK.name, `${CHECK.name}__pgshift_old`),
      renameConstraint(`${CHECK.name}__pgshift`, CHECK.name),
      renameConstraint(FKEY.name, `${FKEY.name}__pgshift_old`),
      renameConstraint(`${FKEY.name}__pgshift`, FKEY.name),
      renameColumn("file_size", "file_size__pgshift_old"),
      renameColumn("file_size__pgshift_new", "file_size"),
      ...reverseTriggers(),
      status("cutover"),
    ]);
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
    const drop = sql.indexOf(`ALTER TABLE ${T} ALTER COLUMN "file_size" DROP DEFAULT`);
    const set = sql.indexOf(`ALTER TABLE ${T} ALTER COLUMN "file_size" SET DEFAULT 0`);
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
      assert.equal(swap.sql[0], lock);
      assert.deepEqual(swap.sql.slice(1, 3), [dropTrigger(`zzz_pgshift_${col}_fwd_ins`), dropTrigger(`zzz_pgshift_${col}_fwd_upd`)]);
      assert.equal(swap.sql.at(-1), status("cutover", col));
      assert.deepEqual(swap.sql.slice(-3, -1), reverseTriggers(col));
      assert.ok(!statementsOf([...before, swap, ...after]).some((s) => s.includes("CONCURRENTLY")));
    }
  });
});

describe("planRollback", () => {
  it("nothing to build when no PRIMARY KEY / UNIQUE / NOT NULL covers the column; the swap renames back and re-creates the forward triggers", () => {
    const ctx = fileContext();
    const plan = planRollback(ctx, "public", EMPTY);
    assert.deepEqual(plan.before, []);
    assert.deepEqual(
      plan.swap,
      transaction(
        "swap the columns back (rollback of cutover)",
        lock,
        dropTrigger("zzz_pgshift_file_size_rev_ins"),
        dropTrigger("zzz_pgshift_file_size_rev_upd"),
        ...unswapPlainIndexes,
        renameColumn("file_size", "file_size__pgshift_new"),
        renameColumn("file_size__pgshift_old", "file_size"),
        ...forwardTriggers(),
        status("expand"),
      ),
    );
    assert.deepEqual(forwardTriggers(), forwardTriggersSql(ctx));
    assert.deepEqual(plan.after, [
      transaction(
        "drop the reverse functions",
        `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_rev"`,
        `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_irrev"`,
        `DROP FUNCTION IF EXISTS "public"."pgshift_contentcuration_file_file_size_7770b426_rconv"`,
      ),
      alone("refresh the planner statistics of the column", `ANALYZE ${T} ("file_size")`),
    ]);
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
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_id_rev_ins"),
      dropTrigger("zzz_pgshift_id_rev_upd"),
      `ALTER TABLE ${T} ALTER COLUMN "id__pgshift_old" SET NOT NULL`,
      `ALTER TABLE ${T} DROP CONSTRAINT "id__pgshift_notnull"`,
      `ALTER SEQUENCE ${ID_SEQUENCE} OWNED BY ${T}."id__pgshift_old"`,
      `ALTER SEQUENCE ${ID_SEQUENCE} AS integer`,
      `ALTER TABLE ${T} ALTER COLUMN "id" DROP DEFAULT`,
      `ALTER TABLE ${T} ALTER COLUMN "id__pgshift_old" SET DEFAULT nextval('contentcuration_file_id_seq'::regclass)`,
      `ALTER TABLE ${T} DROP CONSTRAINT "${PKEY}"`,
      `ALTER TABLE ${T} ADD CONSTRAINT "${PKEY}" PRIMARY KEY USING INDEX "${PKEY}__pgshift_old"`,
      `ALTER TABLE ${T} ALTER COLUMN "id" DROP NOT NULL`,
      renameColumn("id", "id__pgshift_new"),
      renameColumn("id__pgshift_old", "id"),
      ...forwardTriggers("id"),
      status("expand", "id"),
    ]);
  });

  it("identity: SET NOT NULL on the old column, then the identity moves back (from-type bigint) before the PRIMARY KEY swap", () => {
    const plan = planRollback(fileContext({ changeId: true, id: "identity always" }), "public", EMPTY);
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_id_rev_ins"),
      dropTrigger("zzz_pgshift_id_rev_upd"),
      `ALTER TABLE ${T} ALTER COLUMN "id__pgshift_old" SET NOT NULL`,
      `ALTER TABLE ${T} DROP CONSTRAINT "id__pgshift_notnull"`,
      moveIdentitySql(T, "id", "id__pgshift_old", "a", "int8"),
      `ALTER TABLE ${T} DROP CONSTRAINT "${PKEY}"`,
      `ALTER TABLE ${T} ADD CONSTRAINT "${PKEY}" PRIMARY KEY USING INDEX "${PKEY}__pgshift_old"`,
      `ALTER TABLE ${T} ALTER COLUMN "id" DROP NOT NULL`,
      renameColumn("id", "id__pgshift_new"),
      renameColumn("id__pgshift_old", "id"),
      ...forwardTriggers("id"),
      status("expand", "id"),
    ]);
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
    assert.deepEqual(plan.swap.sql, [
      lock,
      dropTrigger("zzz_pgshift_file_size_rev_ins"),
      dropTrigger("zzz_pgshift_file_size_rev_upd"),
      `ALTER TABLE ${T} DROP CONSTRAINT "${UNIQUE_KEY}"`,
      `ALTER TABLE ${T} ADD CONSTRAINT "${UNIQUE_KEY}" UNIQUE USING INDEX "${UNIQUE_KEY}__pgshift_old"`,
      ...unswapPlainIndexes,
      renameConstraint(CHECK.name, `${CHECK.name}__pgshift`),
      renameConstraint(`${CHECK.name}__pgshift_old`, CHECK.name),
      renameConstraint(FKEY.name, `${FKEY.name}__pgshift`),
      renameConstraint(`${FKEY.name}__pgshift_old`, FKEY.name),
      renameColumn("file_size", "file_size__pgshift_new"),
      renameColumn("file_size__pgshift_old", "file_size"),
      `COMMENT ON COLUMN ${T}."file_size__pgshift_new" IS NULL`,
      ...forwardTriggers(),
      status("expand"),
    ]);
  });
});

/** Every fixture variant the property tests run over. */
const VARIANTS: { name: string; opts: FileFactsOptions }[] = [
  { name: "nullable file_size, plain + partial index", opts: {} },
  { name: "NOT NULL", opts: { notNull: true } },
  { name: "UNIQUE + NOT NULL", opts: { unique: true, notNull: true } },
  { name: "CHECK + FOREIGN KEY", opts: { constraints: [CHECK, FKEY] } },
  { name: "comment + DEFAULT", opts: { comment: "bytes", default: "0" } },
  { name: "everything on file_size", opts: { notNull: true, unique: true, constraints: [CHECK, FKEY], comment: "bytes", default: "0" } },
  { name: "serial PRIMARY KEY", opts: { changeId: true } },
  { name: "identity BY DEFAULT PRIMARY KEY", opts: { changeId: true, id: "identity by default" } },
  { name: "identity ALWAYS PRIMARY KEY", opts: { changeId: true, id: "identity always" } },
];

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
  applySteps(cat, ctx.facts.table.qualifiedName, Array.isArray(steps) ? steps : planSteps(steps), interesting(ctx));
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
      assert.equal(p.swap.sql.indexOf(drop), 3, "drop right after LOCK and the two trigger drops");
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
