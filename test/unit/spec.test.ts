import assert from "node:assert/strict";
import { InvalidSpecError } from "../../src/errors";
import { DEFAULT_BACKFILL, DEFAULT_LOCK_POLICY, parseQualifiedName, parseSpec, type ColumnChangeInput } from "../../src/spec";

/** A valid input; each invalid case overrides one field. */
const BASE: ColumnChangeInput = { table: "contentcuration_file", column: "file_size", toType: "bigint", stage: "expand" };

/** Builds an input with fields a caller could only pass by bypassing the types (JS users, YAML programs). */
function untyped(fields: Record<string, unknown>): ColumnChangeInput {
  return { ...BASE, ...fields } as unknown as ColumnChangeInput;
}

function assertInvalidSpec(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidSpecError, `expected InvalidSpecError, got ${String(err)}`);
    assert.equal(err.name, "InvalidSpecError");
    assert.equal(err.message, message);
    return true;
  });
}

describe("parseSpec", () => {
  it("fills every default and nothing else", () => {
    assert.deepEqual(parseSpec(BASE), {
      table: "contentcuration_file",
      column: "file_size",
      toType: "bigint",
      stage: "expand",
      allowNarrowing: false,
      backfill: { batchSize: 5000, maxBatchSize: 50000, pauseMs: 0, targetBatchMs: 200, maxReplicationLagMs: 10000, maxTransactionAgeMs: 0 },
      lock: { lockTimeoutMs: 100, lockRetries: 10, maxLockTimeoutMs: 5000 },
    });
  });

  it("returns copies, not the shared default objects", () => {
    const spec = parseSpec(BASE);
    assert.notEqual(spec.backfill, DEFAULT_BACKFILL);
    assert.notEqual(spec.lock, DEFAULT_LOCK_POLICY);
  });

  it("keeps given options, trims names and allows zero where zero means 'off'", () => {
    const spec = parseSpec({
      ...BASE,
      table: '  "My Schema"."T" ',
      column: " file_size ",
      toType: " numeric(20,2) ",
      stage: "cutover",
      using: " file_size::numeric ",
      reverseUsing: "round(file_size)::integer",
      allowNarrowing: true,
      backfill: { batchSize: 100, maxBatchSize: 100, pauseMs: 0, targetBatchMs: 50, maxReplicationLagMs: 0, maxTransactionAgeMs: 60000 },
      lockTimeoutMs: 20,
      lockRetries: 1,
      maxLockTimeoutMs: 20,
      stateSchema: "pgshift_state",
    });
    assert.deepEqual(spec, {
      table: '"My Schema"."T"',
      column: "file_size",
      toType: "numeric(20,2)",
      stage: "cutover",
      using: "file_size::numeric",
      reverseUsing: "round(file_size)::integer",
      allowNarrowing: true,
      backfill: { batchSize: 100, maxBatchSize: 100, pauseMs: 0, targetBatchMs: 50, maxReplicationLagMs: 0, maxTransactionAgeMs: 60000 },
      lock: { lockTimeoutMs: 20, lockRetries: 1, maxLockTimeoutMs: 20 },
      stateSchema: "pgshift_state",
    });
  });

  describe("accepts type names as ALTER COLUMN ... TYPE does", () => {
    for (const toType of [
      "bigint",
      "int8",
      "varchar(64)",
      "character varying(64)",
      "numeric(20,2)",
      "numeric( 20 , 2 )",
      "timestamp(3) with time zone",
      "timestamptz",
      "double precision",
      "app.my_enum",
      '"My Type"',
      "text[]",
      "integer[3]",
    ]) {
      it(toType, () => assert.equal(parseSpec({ ...BASE, toType }).toType, toType));
    }
  });

  describe("accepts a ';' or a quote inside a string literal of using", () => {
    for (const using of [
      "coalesce(nullif(file_size::text, ';'), '0')::bigint",
      "replace(file_size::text, 'it''s;', '')::bigint",
      "(';' || ';')::text",
    ]) {
      it(using, () => assert.equal(parseSpec({ ...BASE, using }).using, using));
    }
  });

  const TYPE_HINT = `(expected e.g. "bigint", "varchar(64)", "numeric(20,2)", "timestamp(3) with time zone", "app.my_enum")`;
  const invalid: { name: string; input: ColumnChangeInput; message: string }[] = [
    { name: "null arguments", input: null as unknown as ColumnChangeInput, message: "arguments must be an object" },
    { name: "empty table", input: { ...BASE, table: "" }, message: 'table must be a non-empty string (got "")' },
    { name: "blank table", input: { ...BASE, table: "   " }, message: 'table must be a non-empty string (got "   ")' },
    { name: "table not a string", input: untyped({ table: 42 }), message: "table must be a non-empty string (got 42)" },
    { name: "missing column", input: untyped({ column: undefined }), message: "column must be a non-empty string (got undefined)" },
    { name: "three-part table", input: { ...BASE, table: "db.public.t" }, message: 'table name "db.public.t" must be "table" or "schema.table"' },
    { name: "empty toType", input: { ...BASE, toType: "" }, message: 'toType must be a non-empty string (got "")' },
    {
      name: "toType with a statement after it",
      input: { ...BASE, toType: "bigint; drop table x" },
      message: `toType "bigint; drop table x" is not a type name ${TYPE_HINT}`,
    },
    { name: "toType with a comment", input: { ...BASE, toType: "bigint -- x" }, message: `toType "bigint -- x" is not a type name ${TYPE_HINT}` },
    { name: "toType with a cast", input: { ...BASE, toType: "bigint)::text" }, message: `toType "bigint)::text" is not a type name ${TYPE_HINT}` },
    {
      name: "bad stage",
      input: untyped({ stage: "bogus" }),
      message: 'stage must be one of "expand", "cutover", "contract" (got "bogus")',
    },
    { name: "stage in upper case", input: untyped({ stage: "EXPAND" }), message: 'stage must be one of "expand", "cutover", "contract" (got "EXPAND")' },
    { name: "missing stage", input: untyped({ stage: undefined }), message: 'stage must be one of "expand", "cutover", "contract" (got undefined)' },
    { name: "backfill not an object", input: untyped({ backfill: 5 }), message: "backfill must be an object" },
    { name: "negative batchSize", input: { ...BASE, backfill: { batchSize: -1 } }, message: "backfill.batchSize must be a positive integer (got -1)" },
    { name: "zero batchSize", input: { ...BASE, backfill: { batchSize: 0 } }, message: "backfill.batchSize must be a positive integer (got 0)" },
    { name: "fractional batchSize", input: { ...BASE, backfill: { batchSize: 1.5 } }, message: "backfill.batchSize must be a positive integer (got 1.5)" },
    { name: "batchSize as a string", input: untyped({ backfill: { batchSize: "10" } }), message: 'backfill.batchSize must be a positive integer (got "10")' },
    { name: "NaN targetBatchMs", input: { ...BASE, backfill: { targetBatchMs: NaN } }, message: "backfill.targetBatchMs must be a positive integer (got null)" },
    { name: "negative pauseMs", input: { ...BASE, backfill: { pauseMs: -1 } }, message: "backfill.pauseMs must be a non-negative integer (got -1)" },
    {
      name: "negative maxReplicationLagMs",
      input: { ...BASE, backfill: { maxReplicationLagMs: -5 } },
      message: "backfill.maxReplicationLagMs must be a non-negative integer (got -5)",
    },
    {
      name: "maxBatchSize < batchSize",
      input: { ...BASE, backfill: { batchSize: 1000, maxBatchSize: 100 } },
      message: "backfill.maxBatchSize (100) must be >= backfill.batchSize (1000)",
    },
    {
      name: "batchSize above the default maxBatchSize",
      input: { ...BASE, backfill: { batchSize: 60000 } },
      message: "backfill.maxBatchSize (50000) must be >= backfill.batchSize (60000)",
    },
    { name: "zero lockRetries", input: { ...BASE, lockRetries: 0 }, message: "lockRetries must be a positive integer (got 0)" },
    { name: "zero lockTimeoutMs", input: { ...BASE, lockTimeoutMs: 0 }, message: "lockTimeoutMs must be a positive integer (got 0)" },
    {
      name: "maxLockTimeoutMs < lockTimeoutMs",
      input: { ...BASE, lockTimeoutMs: 200, maxLockTimeoutMs: 50 },
      message: "maxLockTimeoutMs (50) must be >= lockTimeoutMs (200)",
    },
    { name: "empty using", input: { ...BASE, using: "" }, message: 'using must be a non-empty string (got "")' },
    {
      name: "using with a second statement",
      input: { ...BASE, using: "file_size::bigint; drop table x" },
      message: 'using must be a single SQL expression (no ";")',
    },
    {
      name: "using with a ';' after a closed literal",
      input: { ...BASE, using: "'a'; select 1" },
      message: 'using must be a single SQL expression (no ";")',
    },
    {
      name: "reverseUsing with a second statement",
      input: { ...BASE, reverseUsing: "file_size::integer; select 1" },
      message: 'reverseUsing must be a single SQL expression (no ";")',
    },
    {
      name: "using with the body quote tag",
      input: { ...BASE, using: "$pgshift$1$pgshift$::bigint" },
      message: "using must not contain the quote tag $pgshift$",
    },
    {
      name: "reverseUsing with the body quote tag",
      input: { ...BASE, reverseUsing: "file_size::integer $pgshift$" },
      message: "reverseUsing must not contain the quote tag $pgshift$",
    },
    { name: "allowNarrowing not a boolean", input: untyped({ allowNarrowing: "yes" }), message: "allowNarrowing must be a boolean" },
    { name: "blank stateSchema", input: { ...BASE, stateSchema: "  " }, message: 'stateSchema must be a non-empty string (got "  ")' },
  ];

  describe("rejects invalid input with an exact InvalidSpecError", () => {
    for (const c of invalid) {
      it(c.name, () => assertInvalidSpec(() => parseSpec(c.input), c.message));
    }
  });

  // In an E'...' literal a backslash escapes a quote: PostgreSQL ends E'\'') ; drop table x; select (''
  // at the second quote and sees three statements, so the ';' after it must be found (a plain
  // '...' literal reading would take the whole text as one literal).
  it("rejects a ';' hidden behind an E'' literal with a backslash-escaped quote", () => {
    assertInvalidSpec(
      () => parseSpec({ ...BASE, using: String.raw`E'\'') ; drop table x; select (''` }),
      'using must be a single SQL expression (no ";")',
    );
  });
});

describe("parseQualifiedName", () => {
  const valid: { text: string; expected: { schema?: string; name: string } }[] = [
    { text: "t", expected: { name: "t" } },
    { text: "contentcuration_file", expected: { name: "contentcuration_file" } },
    { text: "T", expected: { name: "t" } },
    { text: "Public.T", expected: { schema: "public", name: "t" } },
    { text: "  app.file  ", expected: { schema: "app", name: "file" } },
    { text: "app.file$1", expected: { schema: "app", name: "file$1" } },
    { text: '"My Schema"."T"', expected: { schema: "My Schema", name: "T" } },
    { text: 'public."Mixed Case"', expected: { schema: "public", name: "Mixed Case" } },
    { text: '"App".file', expected: { schema: "App", name: "file" } },
    { text: '"a""b"', expected: { name: 'a"b' } },
    { text: '"a.b"', expected: { name: "a.b" } },
    { text: '"größe"', expected: { name: "größe" } },
  ];
  for (const c of valid) {
    it(`parses ${c.text}`, () => assert.deepEqual(parseQualifiedName(c.text), c.expected));
  }

  const invalid: { text: string; message: string }[] = [
    { text: "a.b.c", message: 'table name "a.b.c" must be "table" or "schema.table"' },
    { text: "", message: 'table name "" must be "table" or "schema.table"' },
    { text: "a.", message: 'table name "a." ends with a dot' },
    { text: '"a".', message: 'table name "\\"a\\"." ends with a dot' },
    { text: ".a", message: 'table name ".a" is not a valid (optionally schema-qualified) name; quote unusual names like "My Table"' },
    { text: "a..b", message: 'table name "a..b" is not a valid (optionally schema-qualified) name; quote unusual names like "My Table"' },
    { text: "1abc", message: 'table name "1abc" is not a valid (optionally schema-qualified) name; quote unusual names like "My Table"' },
    { text: "my table", message: 'table name "my table" is not a valid (optionally schema-qualified) name; quote unusual names like "My Table"' },
    { text: '"abc', message: 'table name "\\"abc" has an unterminated quoted identifier' },
    { text: 'public."abc', message: 'table name "public.\\"abc" has an unterminated quoted identifier' },
    { text: '"a""', message: 'table name "\\"a\\"\\"" has an unterminated quoted identifier' },
    { text: '"a"b', message: 'table name "\\"a\\"b" is not a valid (optionally schema-qualified) name' },
  ];
  for (const c of invalid) {
    it(`rejects ${JSON.stringify(c.text)}`, () => assertInvalidSpec(() => parseQualifiedName(c.text), c.message));
  }

  // PostgreSQL rejects the zero-length quoted identifier ("zero-length delimited identifier"):
  // parseQualifiedName refuses it up front, as an InvalidSpecError, not a raw database error later.
  it('rejects the zero-length quoted identifier ""', () => {
    assert.throws(() => parseQualifiedName('""'), InvalidSpecError);
    assert.throws(() => parseQualifiedName('public.""'), InvalidSpecError);
  });
});
