import assert from "node:assert/strict";
import { InvalidSpecError } from "../../src/errors";
import { parseQualifiedName, parseSchemaName, resolveStateSchema } from "../../src/identifiers";
import { DEFAULT_BACKFILL, DEFAULT_LOCK_POLICY, got, parseSpec, type ColumnChangeInput } from "../../src/spec";

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
      backfill: { batchSize: 5000, maxBatchSize: 50000, pauseMs: 0, targetBatchMs: 50, maxReplicationLagMs: 10000, maxTransactionAgeMs: 0, maxCommitLatencyMs: 50, runner: "client", order: "auto", vacuumEveryRows: "auto", workers: 1, passes: 8 },
      lock: { lockTimeoutMs: 100, lockRetries: 10, maxLockTimeoutMs: 5000 },
    });
  });

  it("returns copies, not the shared default objects", () => {
    const spec = parseSpec(BASE);
    assert.notEqual(spec.backfill, DEFAULT_BACKFILL);
    assert.notEqual(spec.lock, DEFAULT_LOCK_POLICY);
  });

  it('takes backfill.vacuumEveryRows "auto" as written, as the default is', () => {
    assert.equal(parseSpec({ ...BASE, backfill: { vacuumEveryRows: "auto" } }).backfill.vacuumEveryRows, "auto");
    assert.equal(parseSpec({ ...BASE, backfill: { vacuumEveryRows: 250_000 } }).backfill.vacuumEveryRows, 250_000);
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
      backfill: { batchSize: 100, maxBatchSize: 100, pauseMs: 0, targetBatchMs: 50, maxReplicationLagMs: 0, maxTransactionAgeMs: 60000, maxCommitLatencyMs: 0, runner: "database", order: "physical", vacuumEveryRows: 0, workers: 1, passes: 1 },
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
      backfill: { batchSize: 100, maxBatchSize: 100, pauseMs: 0, targetBatchMs: 50, maxReplicationLagMs: 0, maxTransactionAgeMs: 60000, maxCommitLatencyMs: 0, runner: "database", order: "physical", vacuumEveryRows: 0, workers: 1, passes: 1 },
      lock: { lockTimeoutMs: 20, lockRetries: 1, maxLockTimeoutMs: 20 },
      stateSchema: "pgshift_state",
    });
  });

  it("accepts every numeric option at its upper bound", () => {
    const spec = parseSpec({
      ...BASE,
      backfill: {
        batchSize: 10_000_000,
        maxBatchSize: 10_000_000,
        pauseMs: 2_147_483_647,
        targetBatchMs: 2_147_483_647,
        maxReplicationLagMs: 2_147_483_647,
        maxTransactionAgeMs: 2_147_483_647,
        maxCommitLatencyMs: 2_147_483_647,
        vacuumEveryRows: Number.MAX_SAFE_INTEGER,
        workers: 16,
        passes: 32,
      },
      lockTimeoutMs: 2_147_483_647,
      lockRetries: 1000,
      maxLockTimeoutMs: 2_147_483_647,
    });
    assert.deepEqual(spec.backfill, {
      batchSize: 10_000_000,
      maxBatchSize: 10_000_000,
      pauseMs: 2_147_483_647,
      targetBatchMs: 2_147_483_647,
      maxReplicationLagMs: 2_147_483_647,
      maxTransactionAgeMs: 2_147_483_647,
      maxCommitLatencyMs: 2_147_483_647,
      runner: "client",
      order: "auto",
      vacuumEveryRows: Number.MAX_SAFE_INTEGER,
      workers: 16,
      passes: 32,
    });
    assert.deepEqual(spec.lock, { lockTimeoutMs: 2_147_483_647, lockRetries: 1000, maxLockTimeoutMs: 2_147_483_647 });
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
      "DOUBLE PRECISION",
      "double precision[]",
      "character varying",
      "char varying(10)",
      "national character varying(10)",
      "bit varying(8)",
      "bit(3)",
      "timestamp with time zone",
      "timestamp without time zone",
      "TIME(6) WITHOUT TIME ZONE",
      "interval",
      "interval(3)",
      "interval year to month",
      "interval day to second(3)",
      "interval minute",
      "numeric(5, -2)",
      "varchar(64)[][]",
      "integer array",
      "integer ARRAY[4]",
      'pg_catalog."char"',
      '"My Schema"."My ""Quoted"" Type"',
      "public.citext",
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

  // function bodies pick a dollar-quote tag that does not occur in them (src/sql/dollarQuote.ts)
  describe("accepts the $pgshift$ tag inside using / reverseUsing", () => {
    it("using", () => assert.equal(parseSpec({ ...BASE, using: "$pgshift$1$pgshift$::bigint" }).using, "$pgshift$1$pgshift$::bigint"));
    it("reverseUsing", () => assert.equal(parseSpec({ ...BASE, reverseUsing: "file_size::integer -- $pgshift$" }).reverseUsing, "file_size::integer -- $pgshift$"));
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
    ...(
      [
        ["bigint primary key", "bigint", "primary key"],
        ["bigint not null", "bigint", "not null"],
        ["integer default 1", "integer", "default 1"],
        ['text collate "C"', "text", 'collate "C"'],
        ["varchar(64) unique", "varchar(64)", "unique"],
        ["timestamp(3) with time zone not null", "timestamp(3) with time zone", "not null"],
        ["double precision references t (id)", "double precision", "references t (id)"],
        ["interval year to month check (true)", "interval year to month", "check (true)"],
        ["text[] generated always as (x) stored", "text[]", "generated always as (x) stored"],
        ["bigint with time zone", "bigint", "with time zone"],
      ] as const
    ).map(([toType, type, rest]) => ({
      name: `toType ${toType}`,
      input: { ...BASE, toType },
      message:
        `toType ${JSON.stringify(toType)} takes a type only: ${JSON.stringify(rest)} after ${JSON.stringify(type)} is not part of a type name ` +
        `(constraints, defaults and collations cannot be changed through toType)`,
    })),
    { name: "toType with a half phrase", input: { ...BASE, toType: "timestamp with time" }, message: `toType "timestamp with time" is not a type name ${TYPE_HINT}` },
    { name: "toType national alone", input: { ...BASE, toType: "national varying" }, message: `toType "national varying" is not a type name ${TYPE_HINT}` },
    { name: "toType interval year to day", input: { ...BASE, toType: "interval year to day" }, message: `toType "interval year to day" is not a type name ${TYPE_HINT}` },
    { name: "toType with an unclosed modifier", input: { ...BASE, toType: "numeric(20" }, message: `toType "numeric(20" is not a type name ${TYPE_HINT}` },
    { name: "toType with a word modifier", input: { ...BASE, toType: "numeric(x)" }, message: `toType "numeric(x)" is not a type name ${TYPE_HINT}` },
    { name: "toType with a block comment", input: { ...BASE, toType: "bigint /* x */" }, message: `toType "bigint /* x */" is not a type name ${TYPE_HINT}` },
    { name: "toType three-part name", input: { ...BASE, toType: "a.b.c" }, message: `toType "a.b.c" is not a type name ${TYPE_HINT}` },
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
    { name: "zero workers", input: { ...BASE, backfill: { workers: 0 } }, message: "backfill.workers must be a positive integer (got 0)" },
    { name: "17 workers", input: { ...BASE, backfill: { workers: 17 } }, message: "backfill.workers must be at most 16 (got 17)" },
    { name: "zero passes", input: { ...BASE, backfill: { passes: 0 } }, message: "backfill.passes must be a positive integer (got 0)" },
    { name: "33 passes", input: { ...BASE, backfill: { passes: 33 } }, message: "backfill.passes must be at most 32 (got 33)" },
    { name: "half a pass", input: { ...BASE, backfill: { passes: 2.5 } }, message: "backfill.passes must be a positive integer (got 2.5)" },
    { name: "fractional batchSize", input: { ...BASE, backfill: { batchSize: 1.5 } }, message: "backfill.batchSize must be a positive integer (got 1.5)" },
    { name: "batchSize as a string", input: untyped({ backfill: { batchSize: "10" } }), message: 'backfill.batchSize must be a positive integer (got "10")' },
    // as written, not as JSON.stringify prints them (null)
    { name: "unknown runner", input: { ...BASE, backfill: { runner: "server" as "client" } }, message: 'backfill.runner must be one of "client", "database", "auto" (got "server")' },
    { name: "unknown order", input: { ...BASE, backfill: { order: 1 as unknown as "keyset" } }, message: 'backfill.order must be one of "keyset", "physical", "auto" (got 1)' },
    { name: "negative vacuumEveryRows", input: { ...BASE, backfill: { vacuumEveryRows: -1 } }, message: "backfill.vacuumEveryRows must be a non-negative integer (got -1)" },
    { name: "vacuumEveryRows a word other than auto", input: { ...BASE, backfill: { vacuumEveryRows: "often" as "auto" } }, message: 'backfill.vacuumEveryRows must be a non-negative integer or "auto" (got "often")' },
    { name: "NaN targetBatchMs", input: { ...BASE, backfill: { targetBatchMs: NaN } }, message: "backfill.targetBatchMs must be a positive integer (got NaN)" },
    { name: "Infinity batchSize", input: { ...BASE, backfill: { batchSize: Infinity } }, message: "backfill.batchSize must be a positive integer (got Infinity)" },
    { name: "-Infinity pauseMs", input: { ...BASE, backfill: { pauseMs: -Infinity } }, message: "backfill.pauseMs must be a non-negative integer (got -Infinity)" },
    { name: "Infinity lockRetries", input: { ...BASE, lockRetries: Infinity }, message: "lockRetries must be a positive integer (got Infinity)" },
    { name: "bigint lockRetries", input: untyped({ lockRetries: 10n }), message: "lockRetries must be a positive integer (got 10n)" },
    { name: "NaN stage", input: untyped({ stage: NaN }), message: 'stage must be one of "expand", "cutover", "contract" (got NaN)' },
    // upper bounds: each names the field, the bound and the value
    { name: "batchSize 1e20", input: { ...BASE, backfill: { batchSize: 1e20 } }, message: "backfill.batchSize must be at most 10000000 (got 100000000000000000000)" },
    {
      name: "maxBatchSize above 10,000,000",
      input: { ...BASE, backfill: { maxBatchSize: 10_000_001 } },
      message: "backfill.maxBatchSize must be at most 10000000 (got 10000001)",
    },
    { name: "pauseMs 2^31", input: { ...BASE, backfill: { pauseMs: 2 ** 31 } }, message: "backfill.pauseMs must be at most 2147483647 (got 2147483648)" },
    { name: "targetBatchMs 1e12", input: { ...BASE, backfill: { targetBatchMs: 1e12 } }, message: "backfill.targetBatchMs must be at most 2147483647 (got 1000000000000)" },
    {
      name: "maxReplicationLagMs 2^31",
      input: { ...BASE, backfill: { maxReplicationLagMs: 2 ** 31 } },
      message: "backfill.maxReplicationLagMs must be at most 2147483647 (got 2147483648)",
    },
    {
      name: "maxTransactionAgeMs 1e21",
      input: { ...BASE, backfill: { maxTransactionAgeMs: 1e21 } },
      message: "backfill.maxTransactionAgeMs must be at most 2147483647 (got 1e+21)",
    },
    { name: "lockTimeoutMs 3e9", input: { ...BASE, lockTimeoutMs: 3e9 }, message: "lockTimeoutMs must be at most 2147483647 (got 3000000000)" },
    { name: "maxLockTimeoutMs 3e9", input: { ...BASE, maxLockTimeoutMs: 3e9 }, message: "maxLockTimeoutMs must be at most 2147483647 (got 3000000000)" },
    { name: "lockRetries 2^32", input: { ...BASE, lockRetries: 2 ** 32 }, message: "lockRetries must be at most 1000 (got 4294967296)" },
    { name: "lockRetries 1001", input: { ...BASE, lockRetries: 1001 }, message: "lockRetries must be at most 1000 (got 1001)" },
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
      name: "using with a second statement hidden behind a quote in a -- comment",
      input: { ...BASE, using: "file_size::bigint -- '\n; drop table x; select ''" },
      message: 'using must be a single SQL expression (no ";")',
    },
    {
      name: "reverseUsing with a second statement after a quote in a /* */ comment",
      input: { ...BASE, reverseUsing: "file_size::integer /* ' */; select ''" },
      message: 'reverseUsing must be a single SQL expression (no ";")',
    },
    {
      name: "using that closes the generated parenthesis",
      input: { ...BASE, using: "file_size) FROM pg_class WHERE (true" },
      message: "using must be a single SQL expression (its parentheses do not balance)",
    },
    { name: "using with an unterminated comment", input: { ...BASE, using: "file_size /* x" }, message: "using has an unterminated comment /* ... */" },
    { name: "using with an unterminated literal", input: { ...BASE, using: "'abc" }, message: "using has an unterminated string literal '...'" },
    { name: "reverseUsing with an unterminated dollar quote", input: { ...BASE, reverseUsing: "$x$ 1" }, message: "reverseUsing has an unterminated dollar quote $x$" },
    { name: "allowNarrowing not a boolean", input: untyped({ allowNarrowing: "yes" }), message: "allowNarrowing must be a boolean" },
    { name: "referencingColumns not one of the two", input: untyped({ referencingColumns: "drop" }), message: 'referencingColumns must be one of "change", "keep" (got "drop")' },
    { name: "blank stateSchema", input: { ...BASE, stateSchema: "  " }, message: 'stateSchema must be a non-empty string (got "  ")' },
    { name: "qualified stateSchema", input: { ...BASE, stateSchema: "db.app" }, message: 'stateSchema "db.app" must be a single schema name, not a qualified name' },
    {
      name: "stateSchema with a space",
      input: { ...BASE, stateSchema: "my schema" },
      message: 'stateSchema "my schema" is not a valid schema name; quote unusual names like "My Schema"',
    },
    { name: "stateSchema with an open quote", input: { ...BASE, stateSchema: '"App' }, message: 'stateSchema "\\"App" has an unterminated quoted identifier' },
    { name: "stateSchema as an empty quoted identifier", input: { ...BASE, stateSchema: '""' }, message: 'stateSchema "\\"\\"" has an empty quoted identifier' },
    { name: "stateSchema with SQL after it", input: { ...BASE, stateSchema: "app; drop table x" }, message: 'stateSchema "app; drop table x" is not a valid schema name; quote unusual names like "My Schema"' },
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

describe("got (the value in every \"(got ...)\" message)", () => {
  const cases: [unknown, string][] = [
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
    [-0, "-0"],
    [1.5, "1.5"],
    [1e21, "1e+21"],
    [10n, "10n"],
    [undefined, "undefined"],
    [null, "null"],
    ["10", '"10"'],
    [{ a: 1 }, '{"a":1}'],
  ];
  for (const [value, text] of cases) it(`${text}`, () => assert.equal(got(value), text));
  it("an object with a cycle", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(got(cyclic), "[object Object]");
  });
});

describe("stateSchema is read like the table's schema", () => {
  const cases: [string, string][] = [
    ["app", "app"],
    ["App", "app"],
    ["  PGSHIFT_State ", "pgshift_state"],
    ['"App"', "App"],
    ['"My Schema"', "My Schema"],
    ['"a""b"', 'a"b'],
    ["s$1", "s$1"],
  ];
  for (const [text, schema] of cases) {
    it(`${text} -> ${schema}`, () => {
      assert.equal(parseSchemaName(text), schema);
      // the spec keeps it as written (like table); the state table lives in the resolved schema
      const spec = parseSpec({ ...BASE, stateSchema: text });
      assert.equal(spec.stateSchema, text.trim());
      assert.equal(resolveStateSchema(spec.stateSchema, "public"), schema);
    });
  }
  it("defaults to the table's schema", () => assert.equal(resolveStateSchema(parseSpec(BASE).stateSchema, "Tenant A"), "Tenant A"));
  it("parseSpec is idempotent on a quoted stateSchema (the provider's check re-parses the stored spec)", () => {
    const once = parseSpec({ ...BASE, stateSchema: '"My Schema"' });
    assert.deepEqual(parseSpec(once), once);
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

describe("parseSpec: referencingColumns", () => {
  const base = { table: "t", column: "id", toType: "bigint", stage: "expand" as const };
  it('"change" is the default and is not written (specs from before families stay equal)', () => {
    assert.ok(!("referencingColumns" in parseSpec(base)));
    assert.deepEqual(parseSpec({ ...base, referencingColumns: "change" }), parseSpec(base));
  });
  it('"keep" is kept', () => {
    assert.equal(parseSpec({ ...base, referencingColumns: "keep" }).referencingColumns, "keep");
  });
});
