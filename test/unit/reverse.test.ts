import assert from "node:assert/strict";
import type { TypeDescription } from "../../src/conversion";
import { markIrreversibleSql, reverseTriggerFunctionSql, reverseTriggersSql } from "../../src/sql/reverse";
import { fileContext, INT4, INT8 } from "./support/fixtures";

const T = '"public"."contentcuration_file"';
const FN = (name: string) => `"public"."pgshift_contentcuration_file_file_size_7770b426_${name}"`;
const INT2: TypeDescription = { formatted: "smallint", typeName: "int2", typmod: -1 };
const VARCHAR32: TypeDescription = { formatted: "character varying(32)", typeName: "varchar", typmod: 36 };
const UUID: TypeDescription = { formatted: "uuid", typeName: "uuid", typmod: -1 };
const NUMERIC: TypeDescription = { formatted: "numeric", typeName: "numeric", typmod: -1 };

const head = `CREATE OR REPLACE FUNCTION ${FN("rev")}() RETURNS trigger LANGUAGE plpgsql AS $pgshift$\nBEGIN\n`;
const tail = `  RETURN NEW;\nEND\n$pgshift$`;

/** The integer fast path: a range check, no subtransaction. */
function rangeBody(min: string, max: string, oldType: string): string {
  return (
    head +
    `  IF NEW."file_size" IS NULL THEN\n` +
    `    NEW."file_size__pgshift_old" := NULL;\n` +
    `  ELSIF NEW."file_size" BETWEEN ${min} AND ${max} THEN\n` +
    `    NEW."file_size__pgshift_old" := ${FN("rconv")}(NEW."file_size");\n` +
    `  ELSE\n` +
    `    NEW."file_size__pgshift_old" := NULL;\n` +
    `    PERFORM ${FN("irrev")}('a value does not fit ${oldType}: ' || NEW."file_size"::text);\n` +
    `  END IF;\n` +
    tail
  );
}

/** The general path: convert back in an exception block and check the round trip. */
function exceptionBody(oldType: string): string {
  return (
    head +
    `  BEGIN\n` +
    `    NEW."file_size__pgshift_old" := ${FN("rconv")}(NEW."file_size");\n` +
    `    IF ${FN("conv")}(NEW."file_size__pgshift_old") IS DISTINCT FROM NEW."file_size" THEN\n` +
    `      NEW."file_size__pgshift_old" := NULL;\n` +
    `      PERFORM ${FN("irrev")}('a value does not fit ${oldType}: ' || NEW."file_size"::text);\n` +
    `    END IF;\n` +
    `  EXCEPTION WHEN OTHERS THEN\n` +
    `    NEW."file_size__pgshift_old" := NULL;\n` +
    `    PERFORM ${FN("irrev")}(SQLERRM);\n` +
    `  END;\n` +
    tail
  );
}

describe("reverse trigger function", () => {
  it("integer -> bigint: the integer range fast path, no EXCEPTION block", () => {
    const sql = reverseTriggerFunctionSql(fileContext());
    assert.equal(sql, rangeBody("-2147483648", "2147483647", "integer"));
    assert.doesNotMatch(sql, /EXCEPTION/);
  });

  it("smallint -> integer: the smallint range", () => {
    const sql = reverseTriggerFunctionSql(fileContext({ from: INT2, to: INT4 }));
    assert.equal(sql, rangeBody("-32768", "32767", "smallint"));
    assert.doesNotMatch(sql, /EXCEPTION/);
  });

  it("varchar(32) -> uuid with reverseUsing: EXCEPTION block and the round-trip check, message naming the old type", () => {
    const ctx = fileContext({ from: VARCHAR32, to: UUID }, { using: "file_size::uuid", reverseUsing: "replace(file_size::text, '-', '')" });
    const sql = reverseTriggerFunctionSql(ctx);
    assert.equal(sql, exceptionBody("character varying(32)"));
    assert.match(sql, /IS DISTINCT FROM NEW\."file_size" THEN/);
    assert.doesNotMatch(sql, /BETWEEN/);
  });

  it("an integer change with a using or reverseUsing expression, or to a non-integer type, takes the general path", () => {
    for (const [opts, spec] of [
      [{}, { using: "greatest(file_size, 0)" }],
      [{}, { reverseUsing: "least(file_size, 2147483647)" }],
      [{ to: NUMERIC }, {}],
    ] as const) {
      assert.equal(reverseTriggerFunctionSql(fileContext(opts, spec)), exceptionBody("integer"), JSON.stringify({ opts, spec }));
    }
  });

  it("bigint -> integer (allowNarrowing): the bigint range", () => {
    const sql = reverseTriggerFunctionSql(fileContext({ from: INT8, to: INT4 }, { allowNarrowing: true }));
    assert.equal(sql, rangeBody("-9223372036854775808", "9223372036854775807", "bigint"));
  });

  it("a quote in the old type's name is doubled inside the message literal", () => {
    const odd: TypeDescription = { formatted: `"it's"`, typeName: "its", typmod: -1 };
    assert.match(reverseTriggerFunctionSql(fileContext({ from: odd, to: UUID })), /\('a value does not fit "it''s": ' \|\| NEW\."file_size"::text\)/);
  });
});

describe("markIrreversibleSql", () => {
  it("SECURITY DEFINER with a pinned search_path; marks only this migration's row, keeping the first reason", () => {
    assert.equal(
      markIrreversibleSql(fileContext(), "public"),
      `CREATE OR REPLACE FUNCTION ${FN("irrev")}(reason text) RETURNS void ` +
        `LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgshift$ ` +
        `UPDATE "public"."pgshift_migrations" SET reversible = false, irreversible_reason = coalesce(irreversible_reason, reason), updated_at = now() ` +
        `WHERE id = 'public.contentcuration_file.file_size' AND reversible $pgshift$`,
    );
  });

  it("lives in the table's schema, writes the state table of stateSchema, quotes the migration id as a literal", () => {
    const ctx = fileContext();
    ctx.facts.table.schema = "App's";
    ctx.names.id = "App's.contentcuration_file.file_size";
    const sql = markIrreversibleSql(ctx, "pgshift state");
    assert.ok(sql.startsWith(`CREATE OR REPLACE FUNCTION "App's"."pgshift_contentcuration_file_file_size_7770b426_irrev"(reason text) `), sql);
    assert.match(sql, / UPDATE "pgshift state"\."pgshift_migrations" SET /);
    assert.match(sql, / WHERE id = 'App''s\.contentcuration_file\.file_size' AND reversible /);
  });
});

describe("reverseTriggersSql", () => {
  it("every INSERT, and an UPDATE only when the application changes the (new) column", () => {
    assert.deepEqual(reverseTriggersSql(fileContext()), [
      `CREATE TRIGGER "zzz_pgshift_file_size_rev_ins" BEFORE INSERT ON ${T} FOR EACH ROW EXECUTE FUNCTION ${FN("rev")}()`,
      `CREATE TRIGGER "zzz_pgshift_file_size_rev_upd" BEFORE UPDATE OF "file_size" ON ${T} FOR EACH ROW ` +
        `WHEN (OLD."file_size" IS DISTINCT FROM NEW."file_size") EXECUTE FUNCTION ${FN("rev")}()`,
    ]);
  });
});
