import assert from "node:assert/strict";
import { backfillStatements, batchBoundSql, batchUpdateSql, physicalPassSql, sampleKeysSql, shareOf, upperKeySql, vacuumSql } from "../../src/backfill/sql";
import { mismatchCountSql } from "../../src/sql/verify";
import { fileContext } from "./support/fixtures";

const T = '"public"."contentcuration_file"';
const CONV = '"public"."pgshift_contentcuration_file_file_size_7770b426_conv"(t."file_size")';
const SHADOW = '"file_size__pgshift_new"';

/**
 * The first statement of a keyset batch: the limit-th key past the lower bound, or (last batch)
 * the count and the largest key (`tail`); with `withPages`, also the tids of the pages the
 * range's first row and the batch's last key are on (the passes' page bounds), the last
 * batch's from the same tail row.
 */
function bound(keys: string, range: string, limit: string, lastKeys: string, lastOrder: string, withPages = true): string {
  const page = "(ctid::text::point)[0]::bigint";
  const nth = `WITH nth AS (SELECT ${keys} FROM ${T} WHERE ${range} ORDER BY ${keys} OFFSET ${limit} - 1 LIMIT 1), `;
  const tail = `tail AS (SELECT json_build_array(${lastKeys}) AS last${withPages ? `, ${page} AS page` : ""} FROM ${T} WHERE ${range} ORDER BY ${lastOrder} LIMIT 1)`;
  const counted =
    `SELECT CASE WHEN EXISTS (SELECT FROM nth) THEN ${limit}::int ELSE (SELECT count(*) FROM ${T} WHERE ${range})::int END AS scanned, ` +
    `coalesce((SELECT json_build_array(${lastKeys}) FROM nth), (SELECT last FROM tail)) AS last`;
  if (!withPages) return `${nth}${tail} ${counted}`;
  return (
    `${nth}${tail}, pages AS (SELECT (SELECT ${page} FROM ${T} WHERE ${range} ORDER BY ${keys} LIMIT 1) AS a, ` +
    `coalesce((SELECT ${page} FROM ${T} WHERE (${keys}) = (SELECT ${keys} FROM nth)), (SELECT page FROM tail)) AS b) ` +
    `${counted}, format('(%s,0)', least(a, b)) AS from_tid, format('(%s,0)', greatest(a, b) + 1) AS to_tid FROM pages`
  );
}

/** The second: a plain range UPDATE of the shadow, no join. */
function update(range: string): string {
  return `WITH updated AS (UPDATE ${T} AS t SET ${SHADOW} = ${CONV} WHERE ${range} AND t.${SHADOW} IS DISTINCT FROM ${CONV} RETURNING 1) SELECT count(*)::int AS updated FROM updated`;
}

describe("backfill SQL", () => {
  describe("single-column integer key", () => {
    const ctx = fileContext();

    it("first batch: the bound takes $1 upper bound, $2 limit; the UPDATE $1 the batch's last key; no lower bound", () => {
      assert.equal(batchBoundSql(ctx, true, true), bound('"id"', '("id") <= ($1::integer)', "$2", '"id"::text', '"id" DESC'));
      // a one-pass backfill asks for no page bounds: no probe for them
      assert.equal(batchBoundSql(ctx, true, false), bound('"id"', '("id") <= ($1::integer)', "$2", '"id"::text', '"id" DESC', false));
      assert.equal(batchUpdateSql(ctx, true), update('(t."id") <= ($1::integer)'));
    });

    it("next batches: the checkpoint is the exclusive lower bound ($3 for the bound, $2 for the UPDATE)", () => {
      assert.equal(batchBoundSql(ctx, false, true), bound('"id"', '("id") > ($3::integer) AND ("id") <= ($1::integer)', "$2", '"id"::text', '"id" DESC'));
      assert.equal(batchBoundSql(ctx, false, false), bound('"id"', '("id") > ($3::integer) AND ("id") <= ($1::integer)', "$2", '"id"::text', '"id" DESC', false));
      assert.equal(batchUpdateSql(ctx, false), update('(t."id") > ($2::integer) AND (t."id") <= ($1::integer)'));
    });
  });

  describe("composite key (integer, text)", () => {
    const ctx = fileContext({
      keyColumns: [
        { name: "a", type: "integer" },
        { name: "b", type: "text" },
      ],
    });

    it("first batch: row comparison with $1, $2 upper bound, $3 limit", () => {
      assert.equal(batchBoundSql(ctx, true, true), bound('"a", "b"', '("a", "b") <= ($1::integer, $2::text)', "$3", '"a"::text, "b"::text', '"a" DESC, "b" DESC'));
      assert.equal(batchUpdateSql(ctx, true), update('(t."a", t."b") <= ($1::integer, $2::text)'));
    });

    it("next batches: row comparison with the lower bound after the limit ($4, $5) or after the last key ($3, $4)", () => {
      assert.equal(
        batchBoundSql(ctx, false, true),
        bound('"a", "b"', '("a", "b") > ($4::integer, $5::text) AND ("a", "b") <= ($1::integer, $2::text)', "$3", '"a"::text, "b"::text', '"a" DESC, "b" DESC'),
      );
      assert.equal(batchUpdateSql(ctx, false), update('(t."a", t."b") > ($3::integer, $4::text) AND (t."a", t."b") <= ($1::integer, $2::text)'));
    });
  });

  it("casts parameters to the key's full type (varchar with length, uuid)", () => {
    const ctx = fileContext({ keyColumns: [{ name: "Code", type: "character varying(32)" }, { name: "uid", type: "uuid" }] });
    assert.match(batchBoundSql(ctx, false, true), /WHERE \("Code", "uid"\) > \(\$4::character varying\(32\), \$5::uuid\) AND \("Code", "uid"\) <= \(\$1::character varying\(32\), \$2::uuid\) /);
  });

  it("the UPDATE sets only the shadow column, so the column-specific mirror trigger never fires for it", () => {
    const set = /UPDATE \S+ AS t SET (.*?) WHERE/.exec(batchUpdateSql(fileContext(), false));
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
    // each batch's passes before its last (backfill.passes, default 8) update the share of each page's rows, in keyset order where the key follows the pages
    const note = "/* passes 1 to 7 of each batch, where the key's order on disk follows the key (pg_stats.correlation of its first column at least 0.9; otherwise one pass) */ ";
    const batches = [
      "SET LOCAL synchronous_commit = off",
      ...[true, false].flatMap((fromStart) => [batchBoundSql(ctx, fromStart, true), (fromStart ? note : "") + batchUpdateSql(ctx, fromStart, 8), batchUpdateSql(ctx, fromStart)]),
    ];
    // preview shows the VACUUM between ranges too (vacuumEveryRows, default "auto")
    const vacuum = `VACUUM ${T}`;
    assert.equal(vacuumSql(ctx), vacuum);
    assert.deepEqual(backfillStatements(ctx), [upperKeySql(ctx), ...batches, vacuum]);
    // with workers the keys are sampled to split them first
    const two = fileContext({}, { backfill: { workers: 2 } });
    assert.deepEqual(backfillStatements(two), [upperKeySql(two), sampleKeysSql(two, true), ...batches, vacuum]);
    const noVacuum = fileContext({}, { backfill: { workers: 1, vacuumEveryRows: 0 } });
    assert.deepEqual(backfillStatements(noVacuum), [upperKeySql(noVacuum), ...batches]);
    const onePass = fileContext({}, { backfill: { workers: 1, vacuumEveryRows: 0, passes: 1 } });
    assert.deepEqual(backfillStatements(onePass), [upperKeySql(onePass), "SET LOCAL synchronous_commit = off", batchBoundSql(onePass, true, false), batchUpdateSql(onePass, true), batchBoundSql(onePass, false, false), batchUpdateSql(onePass, false)]);
  });

  it("a pass before a batch's last updates the rows of the range on the batch's pages whose integer key (else line pointer number) is the pass modulo passes", () => {
    const ctx = fileContext();
    const update = (where: string) =>
      `WITH updated AS (UPDATE ${T} AS t SET ${SHADOW} = "public"."pgshift_contentcuration_file_file_size_7770b426_conv"(t."file_size") WHERE ${where} ` +
      `AND t.${SHADOW} IS DISTINCT FROM "public"."pgshift_contentcuration_file_file_size_7770b426_conv"(t."file_size") RETURNING 1) SELECT count(*)::int AS updated FROM updated`;
    // the page bounds follow the keys, the pass comes last
    assert.equal(batchUpdateSql(ctx, true, 4), update('t.ctid >= $2::tid AND t.ctid < $3::tid AND (t."id") <= ($1::integer) AND abs(t."id" % 4) = $4'));
    assert.equal(batchUpdateSql(ctx, false, 4), update('t.ctid >= $3::tid AND t.ctid < $4::tid AND (t."id") > ($2::integer) AND (t."id") <= ($1::integer) AND abs(t."id" % 4) = $5'));
    const composite = fileContext({ keyColumns: [{ name: "a", type: "integer" }, { name: "b", type: "text" }] });
    assert.ok(batchUpdateSql(composite, false, 4).includes('t.ctid >= $5::tid AND t.ctid < $6::tid AND (t."a", t."b") > ($3::integer, $4::text) AND (t."a", t."b") <= ($1::integer, $2::text) AND abs(t."a" % 4) = $7'));
    // the other integer types by their value too
    for (const type of ["bigint", "smallint"]) assert.ok(batchUpdateSql(fileContext({ keyColumns: [{ name: "id", type }] }), true, 8).includes(`(t."id") <= ($1::${type}) AND abs(t."id" % 8) = $4`));
    // a key that is no integer: the line pointer's number, read through the ctid's text
    for (const type of ["text", "numeric", "timestamp with time zone"]) {
      assert.ok(batchUpdateSql(fileContext({ keyColumns: [{ name: "k", type }] }), true, 8).includes(`(t."k") <= ($1::${type}) AND (t.ctid::text::point)[1]::int % 8 = $4`));
    }
    const textFirst = fileContext({ keyColumns: [{ name: "b", type: "text" }, { name: "a", type: "integer" }] });
    assert.equal(shareOf(textFirst, false), "line pointer");
    assert.equal(shareOf(ctx, false), "key");
    // physical: by the line pointer whatever the key (a page holds keys in any order), counted like the batch (the first pass's count is the batch's)
    assert.equal(shareOf(ctx, true), "line pointer");
    const pages = "t.ctid >= $1::tid AND t.ctid < $2::tid";
    assert.equal(
      physicalPassSql(ctx, 4),
      update(`${pages} AND (t.ctid::text::point)[1]::int % 4 = $3`).replace(
        "SELECT count(*)::int AS updated FROM updated",
        `SELECT (SELECT count(*) FROM ${T} AS s WHERE s.ctid >= $1::tid AND s.ctid < $2::tid)::int AS scanned, (SELECT count(*) FROM updated)::int AS updated`,
      ),
    );
  });

  it("samples the keys left to split them among workers: whole random pages, in key order", () => {
    const ctx = fileContext({ keyColumns: [{ name: "tenant", type: "integer" }, { name: "code", type: "text" }] });
    assert.equal(
      sampleKeysSql(ctx, false),
      `SELECT json_build_array("tenant"::text, "code"::text) AS key FROM (SELECT "tenant", "code" FROM ${T} TABLESAMPLE SYSTEM ($1) ` +
        `WHERE ("tenant", "code") > ($4::integer, $5::text) AND ("tenant", "code") <= ($2::integer, $3::text)) s ORDER BY "tenant", "code"`,
    );
    assert.match(sampleKeysSql(ctx, true), /TABLESAMPLE SYSTEM \(\$1\) WHERE \("tenant", "code"\) <= \(\$2::integer, \$3::text\)\) s/);
  });
});
