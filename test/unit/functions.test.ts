import assert from "node:assert/strict";
import {
  convertFunctionName,
  convertFunctionSql,
  dropFunctionSql,
  dropTriggerSql,
  forwardTriggerFunctionSql,
  forwardTriggersSql,
  reverseConvertFunctionSql,
} from "../../src/sql/functions";
import { fileContext } from "./support/fixtures";

const T = '"public"."contentcuration_file"';
const CONV = '"public"."pgshift_contentcuration_file_file_size_7770b426_conv"';
const FWD = '"public"."pgshift_contentcuration_file_file_size_7770b426_fwd"';

describe("conversion functions", () => {
  it("default cast: old type -> new type, parameter named after the column", () => {
    assert.equal(
      convertFunctionSql(fileContext()),
      `CREATE OR REPLACE FUNCTION ${CONV}("file_size" integer) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $pgshift$ SELECT "file_size"::bigint $pgshift$`,
    );
  });

  it("a using expression goes into the body as written, on its own line, cast to the new type", () => {
    assert.equal(
      convertFunctionSql(fileContext({}, { using: "greatest(file_size, 0)" })),
      `CREATE OR REPLACE FUNCTION ${CONV}("file_size" integer) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $pgshift$ SELECT (\ngreatest(file_size, 0)\n)::bigint $pgshift$`,
    );
  });

  it("can be created under another name (the pre-flight probe)", () => {
    const sql = convertFunctionSql(fileContext(), "pg_temp.pgshift_probe_conv");
    assert.ok(sql.startsWith('CREATE OR REPLACE FUNCTION pg_temp.pgshift_probe_conv("file_size" integer) RETURNS bigint '), sql);
  });

  it("reverse: new type -> old type, default cast or reverseUsing", () => {
    const rconv = '"public"."pgshift_contentcuration_file_file_size_7770b426_rconv"';
    assert.equal(
      reverseConvertFunctionSql(fileContext()),
      `CREATE OR REPLACE FUNCTION ${rconv}("file_size" bigint) RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $pgshift$ SELECT "file_size"::integer $pgshift$`,
    );
    assert.equal(
      reverseConvertFunctionSql(fileContext({}, { reverseUsing: "least(file_size, 2147483647)" })),
      `CREATE OR REPLACE FUNCTION ${rconv}("file_size" bigint) RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $pgshift$ SELECT (\nleast(file_size, 2147483647)\n)::integer $pgshift$`,
    );
  });

  it("qualifies the function with the table's schema", () => {
    const ctx = fileContext();
    ctx.facts.table.schema = "My App";
    assert.equal(convertFunctionName(ctx), '"My App"."pgshift_contentcuration_file_file_size_7770b426_conv"');
  });
});

describe("mirror trigger", () => {
  it("trigger function: shadow := convert(column)", () => {
    assert.equal(
      forwardTriggerFunctionSql(fileContext()),
      `CREATE OR REPLACE FUNCTION ${FWD}() RETURNS trigger LANGUAGE plpgsql AS $pgshift$\n` +
        `BEGIN\n` +
        `  NEW."file_size__pgshift_new" := ${CONV}(NEW."file_size");\n` +
        `  RETURN NEW;\n` +
        `END\n` +
        `$pgshift$`,
    );
  });

  it("two triggers: every INSERT; an UPDATE only when the application changes the column", () => {
    assert.deepEqual(forwardTriggersSql(fileContext()), [
      `CREATE TRIGGER "zzz_pgshift_file_size_fwd_ins" BEFORE INSERT ON ${T} FOR EACH ROW EXECUTE FUNCTION ${FWD}()`,
      `CREATE TRIGGER "zzz_pgshift_file_size_fwd_upd" BEFORE UPDATE OF "file_size" ON ${T} FOR EACH ROW ` +
        `WHEN (OLD."file_size" IS DISTINCT FROM NEW."file_size") EXECUTE FUNCTION ${FWD}()`,
    ]);
  });

  it("drop statements are idempotent", () => {
    const ctx = fileContext();
    assert.equal(dropTriggerSql(ctx, "zzz_pgshift_file_size_fwd_ins"), `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_ins" ON ${T}`);
    assert.equal(dropFunctionSql(ctx, "pgshift_contentcuration_file_file_size_7770b426_fwd"), `DROP FUNCTION IF EXISTS ${FWD}`);
  });
});
