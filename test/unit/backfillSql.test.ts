import assert from "node:assert/strict";
import { backfillStatements, batchSql, upperKeySql } from "../../src/backfill/sql";
import { mismatchCountSql } from "../../src/sql/verify";
import { fileContext } from "./support/fixtures";

const T = '"public"."contentcuration_file"';
const CONV = '"public"."pgshift_contentcuration_file_file_size_7770b426_conv"(t."file_size")';
const SHADOW = '"file_size__pgshift_new"';

/** The part after the batch CTE: the UPDATE of the shadow and the result row (counts and the batch's last key). */
function rest(tEqBatch: string, tRange: string, lastKeys: string, lastOrder: string): string {
  return (
    `updated AS (UPDATE ${T} AS t SET ${SHADOW} = ${CONV} FROM batch WHERE ${tEqBatch} ` +
    `AND ${tRange} AND t.${SHADOW} IS DISTINCT FROM ${CONV} RETURNING 1) ` +
    `SELECT (SELECT count(*) FROM batch)::int AS scanned, (SELECT count(*) FROM updated)::int AS updated, ` +
    `(SELECT json_build_array(${lastKeys}) FROM batch ORDER BY ${lastOrder} LIMIT 1) AS last`
  );
}

describe("backfill SQL", () => {
  describe("single-column integer key", () => {
    const ctx = fileContext();
    const tail = (range: string) => rest('(t."id") = (batch."id")', range, '"id"::text', '"id" DESC');

    it("first batch: $1 upper bound, $2 limit, no lower bound (the range repeated on the UPDATE side)", () => {
      assert.equal(
        batchSql(ctx, true),
        `WITH batch AS MATERIALIZED (SELECT "id" FROM ${T} WHERE ("id") <= ($1::integer) ORDER BY "id" LIMIT $2), ${tail('(t."id") <= ($1::integer)')}`,
      );
    });

    it("next batches: $3 lower bound (the checkpoint), exclusive", () => {
      assert.equal(
        batchSql(ctx, false),
        `WITH batch AS MATERIALIZED (SELECT "id" FROM ${T} WHERE ("id") > ($3::integer) AND ("id") <= ($1::integer) ORDER BY "id" LIMIT $2), ` +
          tail('(t."id") > ($3::integer) AND (t."id") <= ($1::integer)'),
      );
    });
  });

  describe("composite key (integer, text)", () => {
    const ctx = fileContext({
      keyColumns: [
        { name: "a", type: "integer" },
        { name: "b", type: "text" },
      ],
    });
    const tail = (range: string) => rest('(t."a", t."b") = (batch."a", batch."b")', range, '"a"::text, "b"::text', '"a" DESC, "b" DESC');

    it("first batch: row comparison with $1, $2 upper bound, $3 limit", () => {
      assert.equal(
        batchSql(ctx, true),
        `WITH batch AS MATERIALIZED (SELECT "a", "b" FROM ${T} WHERE ("a", "b") <= ($1::integer, $2::text) ORDER BY "a", "b" LIMIT $3), ` +
          tail('(t."a", t."b") <= ($1::integer, $2::text)'),
      );
    });

    it("next batches: row comparison with $4, $5 lower bound", () => {
      assert.equal(
        batchSql(ctx, false),
        `WITH batch AS MATERIALIZED (SELECT "a", "b" FROM ${T} WHERE ("a", "b") > ($4::integer, $5::text) AND ("a", "b") <= ($1::integer, $2::text) ORDER BY "a", "b" LIMIT $3), ` +
          tail('(t."a", t."b") > ($4::integer, $5::text) AND (t."a", t."b") <= ($1::integer, $2::text)'),
      );
    });
  });

  it("casts parameters to the key's full type (varchar with length, uuid)", () => {
    const ctx = fileContext({ keyColumns: [{ name: "Code", type: "character varying(32)" }, { name: "uid", type: "uuid" }] });
    assert.match(batchSql(ctx, false), /WHERE \("Code", "uid"\) > \(\$4::character varying\(32\), \$5::uuid\) AND \("Code", "uid"\) <= \(\$1::character varying\(32\), \$2::uuid\) /);
  });

  it("the UPDATE sets only the shadow column, so the column-specific mirror trigger never fires for it", () => {
    const sql = batchSql(fileContext(), false);
    const set = /UPDATE \S+ AS t SET (.*?) FROM batch/.exec(sql);
    assert.ok(set);
    assert.equal(set[1], `${SHADOW} = ${CONV}`);
  });

  it("upper key, mismatch count, and what preview shows", () => {
    const ctx = fileContext();
    assert.equal(upperKeySql(ctx), `SELECT json_build_array("id"::text) AS key FROM ${T} ORDER BY "id" DESC LIMIT 1`);
    assert.equal(
      mismatchCountSql(ctx),
      `SELECT count(*)::bigint AS n FROM ${T} WHERE ${SHADOW} IS DISTINCT FROM "public"."pgshift_contentcuration_file_file_size_7770b426_conv"("file_size")`,
    );
    assert.deepEqual(backfillStatements(ctx), [upperKeySql(ctx), batchSql(ctx, true), batchSql(ctx, false)]);
  });
});
