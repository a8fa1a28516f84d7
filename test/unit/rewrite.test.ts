import assert from "node:assert/strict";
import { UnreadableDefinitionError } from "../../src/errors";
import { replaceColumnReferences, replaceConstraintColumns } from "../../src/sql/rewrite";

/** Expressions as pg_get_expr / pg_get_indexdef deparse them. */
const cases: { name: string; sql: string; from?: string; to?: string; expected: string }[] = [
  { name: "a bare reference", sql: "(file_size > 1000000)", expected: '("file_size__pgshift_new" > 1000000)' },
  { name: "a quoted reference", sql: '("file_size" > 0)', expected: '("file_size__pgshift_new" > 0)' },
  { name: "every reference", sql: "((file_size > 0) AND (file_size < 10))", expected: '(("file_size__pgshift_new" > 0) AND ("file_size__pgshift_new" < 10))' },
  { name: "references next to operators, without spaces", sql: "file_size+1=-file_size", expected: '"file_size__pgshift_new"+1=-"file_size__pgshift_new"' },
  { name: "the whole text", sql: "file_size", expected: '"file_size__pgshift_new"' },
  { name: "a reference before a cast", sql: "(file_size)::bigint", expected: '("file_size__pgshift_new")::bigint' },
  { name: "a reference before a cast, no parentheses", sql: "file_size::text", expected: '"file_size__pgshift_new"::text' },
  { name: "unquoted upper case (the same identifier)", sql: "(FILE_SIZE > 0)", expected: '("file_size__pgshift_new" > 0)' },
  { name: "unquoted mixed case", sql: "(File_Size > 0)", expected: '("file_size__pgshift_new" > 0)' },
  { name: "leaves a quoted identifier of another case alone", sql: '("File_Size" > 0)', expected: '("File_Size" > 0)' },
  { name: "a mixed-case column when quoted", sql: '("FileSize" > 0)', from: "FileSize", to: "FileSize__pgshift_new", expected: '("FileSize__pgshift_new" > 0)' },
  { name: "leaves an unquoted spelling of a mixed-case column alone (it folds to lower case)", sql: "(FileSize > 0)", from: "FileSize", to: "FileSize__pgshift_new", expected: "(FileSize > 0)" },
  { name: "a quoted name with a doubled quote", sql: '("a""b" > 0)', from: 'a"b', to: 'a"b__pgshift_new', expected: '("a""b__pgshift_new" > 0)' },
  { name: "a non-ASCII column", sql: "(größe > 0)", from: "größe", to: "größe__pgshift_new", expected: '("größe__pgshift_new" > 0)' },
  { name: "leaves string literals alone", sql: "(file_size::text <> 'file_size'::text)", expected: "(\"file_size__pgshift_new\"::text <> 'file_size'::text)" },
  {
    name: "leaves a string literal with an escaped quote alone",
    sql: "(note <> 'it''s file_size'::text) AND (file_size > 0)",
    expected: "(note <> 'it''s file_size'::text) AND (\"file_size__pgshift_new\" > 0)",
  },
  { name: "a column named like a function, but not the function name", sql: "lower(lower)", from: "lower", to: "lower__pgshift_new", expected: 'lower("lower__pgshift_new")' },
  { name: "leaves a function name followed by a space alone", sql: "lower (x)", from: "lower", to: "lower__pgshift_new", expected: "lower (x)" },
  { name: "a column cast to a type of the same name, but not the type", sql: "(file_size::file_size)", expected: '("file_size__pgshift_new"::file_size)' },
  { name: "leaves a type name after :: and a space alone", sql: "(x:: file_size)", expected: "(x:: file_size)" },
  { name: "leaves the column part of a qualified name alone", sql: "(t.file_size > 0)", expected: "(t.file_size > 0)" },
  { name: "leaves the column part of a quoted qualified name alone", sql: '("t"."file_size" > 0)', expected: '("t"."file_size" > 0)' },
  { name: "leaves a qualifier (name followed by a dot) alone", sql: "(file_size.x > 0)", expected: "(file_size.x > 0)" },
  { name: "leaves identifiers that extend the name alone (file_size2, file_sizes)", sql: "(file_size2 > file_sizes)", expected: "(file_size2 > file_sizes)" },
  { name: "leaves an identifier that merely contains the name alone", sql: "(old_file_size > 0)", expected: "(old_file_size > 0)" },
  { name: "leaves an identifier with a $ after the name alone", sql: "(file_size$x > 0)", expected: "(file_size$x > 0)" },
  { name: "leaves a quoted identifier that contains the name alone", sql: '("file_size " > 0)', expected: '("file_size " > 0)' },
  { name: "changes nothing in an expression without the column", sql: "(checksum IS NOT NULL)", expected: "(checksum IS NOT NULL)" },
];

describe("replaceColumnReferences", () => {
  for (const c of cases) {
    const title = /^(leaves|changes) /.test(c.name) ? c.name : `replaces ${c.name}`;
    it(title, () => {
      assert.equal(replaceColumnReferences(c.sql, c.from ?? "file_size", c.to ?? "file_size__pgshift_new"), c.expected);
    });
  }

  it("is the identity when the column is not mentioned (idempotent on its own output)", () => {
    const once = replaceColumnReferences("(file_size > 0) AND (lower(checksum) <> 'x')", "file_size", "file_size__pgshift_new");
    assert.equal(replaceColumnReferences(once, "file_size", "file_size__pgshift_new"), once);
  });

  // PostgreSQL deparses multi-word syntax with bare keywords that are also legal column names:
  // "AT TIME ZONE" (PG 14+), "timestamp with time zone", "character varying",
  // "EXTRACT(year FROM ...)". For a column named zone (an unreserved keyword, so pg never
  // quotes it) only the column is a reference; the ZONE of AT TIME ZONE is not.
  it("leaves keywords of AT TIME ZONE and of multi-word type names alone", () => {
    assert.equal(
      replaceColumnReferences("(created_at AT TIME ZONE zone)", "zone", "zone__pgshift_new"),
      '(created_at AT TIME ZONE "zone__pgshift_new")',
    );
    assert.equal(
      replaceColumnReferences("((zone IS NOT NULL) AND ((created_at)::timestamp with time zone > now()))", "zone", "zone__pgshift_new"),
      '(("zone__pgshift_new" IS NOT NULL) AND ((created_at)::timestamp with time zone > now()))',
    );
  });
});

describe("replaceColumnReferences, as PostgreSQL's parser reads the text", () => {
  const files = { schema: "public", name: "files" };
  const to = "file_size__pgshift_new";

  it("replaces references qualified with the table (or schema and table) when the table is given", () => {
    assert.equal(replaceColumnReferences("(files.file_size > public.files.file_size)", "file_size", to, files), '(files."file_size__pgshift_new" > public.files."file_size__pgshift_new")');
    assert.equal(replaceColumnReferences('("files"."file_size" > 0)', "file_size", to, files), '("files"."file_size__pgshift_new" > 0)');
  });

  it("leaves references qualified with another table or schema alone", () => {
    const sql = "((other.file_size > 0) AND (other.files.file_size > 0))";
    assert.equal(replaceColumnReferences(sql, "file_size", to, files), sql);
  });

  it("leaves a field of a composite column alone, but not the composite column", () => {
    assert.equal(replaceColumnReferences("((file_size).file_size > 0)", "file_size", to), '(("file_size__pgshift_new").file_size > 0)');
  });

  it("leaves the field of EXTRACT and the words of type names alone, for columns named like them", () => {
    assert.equal(replaceColumnReferences("EXTRACT(year FROM year)", "year", "year__pgshift_new"), 'EXTRACT(year FROM "year__pgshift_new")');
    assert.equal(
      replaceColumnReferences("((varying)::character varying(10) <> (precision)::double precision)", "varying", "varying__pgshift_new"),
      '(("varying__pgshift_new")::character varying(10) <> (precision)::double precision)',
    );
  });

  it("replaces a quoted reserved word used as a column name", () => {
    assert.equal(replaceColumnReferences('(("select" + 1) > 0)', "select", "select__pgshift_new"), '(("select__pgshift_new" + 1) > 0)');
  });

  it("leaves escape strings and dollar quotes that mention the column alone", () => {
    const sql = "((file_size)::text <> E'\\' file_size' AND $x$ file_size $x$ <> 'a')";
    assert.equal(replaceColumnReferences(sql, "file_size", to), sql.replace("(file_size)", '("file_size__pgshift_new")'));
  });

  it("refuses text that is not one expression", () => {
    assert.throws(() => replaceColumnReferences("file_size > 0; DROP TABLE files", "file_size", to), /not one SQL expression/);
    assert.throws(() => replaceColumnReferences("file_size, 1", "file_size", to), /not one SQL expression/);
    assert.throws(() => replaceColumnReferences("(file_size > ", "file_size", to), UnreadableDefinitionError);
  });
});

describe("replaceConstraintColumns", () => {
  const to = "file_size__pgshift_new";
  it("replaces the references of a CHECK", () => {
    assert.equal(
      replaceConstraintColumns("CHECK (((file_size >= 0) AND (lower((file_size)::text) <> 'file_size'::text))) NO INHERIT", "file_size", to),
      'CHECK ((("file_size__pgshift_new" >= 0) AND (lower(("file_size__pgshift_new")::text) <> \'file_size\'::text))) NO INHERIT',
    );
  });

  it("replaces only the FOREIGN KEY's own columns, quoted or not, never the referenced ones", () => {
    assert.equal(
      replaceConstraintColumns('FOREIGN KEY (tenant, "file_size") REFERENCES sizes(tenant, file_size) MATCH FULL ON DELETE CASCADE', "file_size", to),
      'FOREIGN KEY (tenant, "file_size__pgshift_new") REFERENCES sizes(tenant, file_size) MATCH FULL ON DELETE CASCADE',
    );
    assert.equal(
      replaceConstraintColumns("FOREIGN KEY (file_size, tenant) REFERENCES file_size(file_size)", "file_size", to),
      'FOREIGN KEY ("file_size__pgshift_new", tenant) REFERENCES file_size(file_size)',
    );
  });

  it("refuses other constraints, and what PostgreSQL's parser cannot read", () => {
    assert.throws(() => replaceConstraintColumns("UNIQUE (file_size)", "file_size", to), /not a CHECK or FOREIGN KEY/);
    assert.throws(() => replaceConstraintColumns("CHECK (file_size >)", "file_size", to), (e: Error) => e instanceof UnreadableDefinitionError && /CHECK \(file_size >\) to the new column: PostgreSQL's parser .* rejects it \(syntax error/.test(e.message));
  });
});
