// Hostile and odd input, table-driven ("Reliability and security suite", item 5). Every refusal
// is raised before any DDL: the error has the expected class and a specific message fragment,
// carries no stack trace in its message, and the database fingerprint (catalog + data) is the
// same before and after. Odd but valid input (quoted, mixed-case, unicode, reserved, 63-byte
// names) must instead go through expand (driven through the provider's handlers), with every
// name pgshift creates fitting PostgreSQL's 63 bytes.
import assert from "node:assert/strict";
import type { Client } from "pg";
import { DatabaseError } from "pg";
import {
  BackfillWouldFireError,
  ColumnNotFoundError,
  ConversionFailedError,
  DependentObjectsError,
  IllegalTransitionError,
  InvalidSpecError,
  NameTakenError,
  NarrowingChangeError,
  NotATableError,
  PublishedTableError,
  ReverseConversionError,
  StateSchemaError,
  TableNotFoundError,
  UnknownTypeError,
  UnsupportedColumnError,
  VolatileConversionError,
} from "../../src/errors";
import { MAX_IDENTIFIER_BYTES, migrationNames } from "../../src/names";
import { planMigration, planMigrationWith } from "../../src/planning/planMigration";
import { parseSpec, type ColumnChangeInput } from "../../src/spec";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, testServer, withClient, type TestDatabase } from "../support/pg";
import { expand, migrationRow, specOf } from "./support/expand";

/** Anything a user (or a JavaScript caller bypassing the types) could pass. */
type AnyInput = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

interface Refusal {
  name: string;
  input: AnyInput;
  error: ErrorClass;
  /** A fragment the message must contain (a string) or match (a RegExp). */
  message: string | RegExp;
  /** SET search_path for the planning session. */
  searchPath?: string;
  /** The oldest server major that has what the case needs (publication column lists and FOR TABLES IN SCHEMA are 15+). */
  minMajor?: number;
}

/** Column lists and FOR TABLES IN SCHEMA publications exist from PostgreSQL 15 on. */
const PG15 = 15;
let serverMajor = 0;

const BASE = { table: "items", column: "n", toType: "bigint" };
/** What planning with the ordinary connection must never take longer than (nothing may hang). */
const CASE_TIMEOUT_MS = 15_000;

function assertCleanRefusal(err: unknown, error: ErrorClass, message: string | RegExp): asserts err is Error {
  assert.ok(err !== undefined, "expected a refusal, but planning succeeded");
  assert.ok(err instanceof error, `expected ${error.name}, got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
  if (typeof message === "string") assert.ok(err.message.includes(message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(message)}`);
  else assert.match(err.message, message);
  assert.doesNotMatch(err.message, /\n\s+at\s/, "the message carries a stack trace");
  assert.doesNotMatch(err.message, /\bat (async )?\w+ \(.*:\d+:\d+\)/, "the message carries a stack frame");
}

describe("hostile and odd input (real PostgreSQL)", function () {
  describe("refused before any DDL, the database unchanged", function () {
    let db: TestDatabase;

    before(async function () {
      this.timeout(120_000);
      db = await createTestDatabase("hostile_input");
      serverMajor = (await testServer()).major;
      await withClient(db.url, async (c) => {
        await c.query(`
          CREATE TYPE mood AS ENUM ('sad', 'ok');
          CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
          CREATE TABLE victim (id integer PRIMARY KEY, v integer);
          INSERT INTO victim SELECT g, g FROM generate_series(1, 20) g;

          CREATE TABLE items (id integer PRIMARY KEY, n integer, big bigint, label text, price numeric(10,2), m mood, d integer, arr integer[], neg integer);
          INSERT INTO items SELECT g, g, g * 10000000000, CASE WHEN g % 2 = 0 THEN g::text ELSE 'x' || g END, g * 1.25, 'sad', g, ARRAY[g], -g
            FROM generate_series(1, 20) g;

          CREATE SCHEMA other;
          CREATE TABLE other.items (id integer PRIMARY KEY, n text);
          INSERT INTO other.items VALUES (1, 'one'), (2, 'two');

          CREATE TABLE base (id integer PRIMARY KEY, q integer);
          INSERT INTO base SELECT g, g FROM generate_series(1, 5) g;
          CREATE VIEW v_base AS SELECT id, q FROM base;
          CREATE MATERIALIZED VIEW mv_base AS SELECT id, q FROM base;
          CREATE FOREIGN DATA WRAPPER hostile_fdw;
          CREATE SERVER hostile_server FOREIGN DATA WRAPPER hostile_fdw;
          CREATE FOREIGN TABLE ft (id integer, q integer) SERVER hostile_server;
          CREATE TABLE parted (id integer PRIMARY KEY, q integer) PARTITION BY RANGE (id);
          CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
          CREATE TABLE gen (id integer PRIMARY KEY, a integer, b integer GENERATED ALWAYS AS (a * 2) STORED);
          INSERT INTO gen (id, a) VALUES (1, 1);

          CREATE TABLE collide (id integer PRIMARY KEY, x integer, x__pgshift_new integer);
          CREATE TABLE idxc (id integer PRIMARY KEY, x integer);
          CREATE INDEX idxc_x ON idxc (x);
          CREATE INDEX "idxc_x__pgshift" ON idxc (id);
          CREATE TABLE fnc (id integer PRIMARY KEY, x integer);

          CREATE TABLE pub_t (id integer PRIMARY KEY, x integer);
          CREATE PUBLICATION pub_plain FOR TABLE pub_t;
          CREATE SCHEMA pubs;
          CREATE TABLE pubs.t2 (id integer PRIMARY KEY, x integer);
          CREATE TABLE pub_cols (id integer PRIMARY KEY, x integer, y integer);

          CREATE TABLE pol (id integer PRIMARY KEY, owner_id integer);
          ALTER TABLE pol ENABLE ROW LEVEL SECURITY;
          CREATE POLICY own_rows ON pol USING (owner_id = 42);
          CREATE TABLE ruled (id integer PRIMARY KEY, x integer);
          CREATE TABLE ruled_log (x integer);
          CREATE RULE log_big AS ON UPDATE TO ruled WHERE NEW.x > 100 DO ALSO INSERT INTO ruled_log VALUES (NEW.x);
          CREATE TABLE trg (id integer PRIMARY KEY, x integer, touched timestamptz);
          CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := now(); RETURN NEW; END $$;
          CREATE TRIGGER touch_replica BEFORE UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION touch();
          ALTER TABLE trg ENABLE REPLICA TRIGGER touch_replica;

          -- a function declared STABLE that tries to write: PostgreSQL refuses the write inside it
          CREATE FUNCTION wipe_victim(v integer) RETURNS bigint LANGUAGE plpgsql STABLE AS $$ BEGIN DELETE FROM victim; RETURN v; END $$;

          CREATE TABLE staged (id integer PRIMARY KEY, x integer);
          INSERT INTO staged SELECT g, g FROM generate_series(1, 10) g;
        `);
        if (serverMajor >= PG15) await c.query(`CREATE PUBLICATION pub_schema FOR TABLES IN SCHEMA pubs; CREATE PUBLICATION pub_with_x FOR TABLE pub_cols (id, x);`);
        // a function taking the very name pgshift would give fnc.x's conversion function
        await c.query(`CREATE FUNCTION public.${c.escapeIdentifier(migrationNames("public", "fnc", "x").convertFunction)}() RETURNS integer LANGUAGE sql AS 'SELECT 1'`);
      });
      // a migration at stage expand, for the stage-jump cases (set up before the fingerprints)
      await expand(db.url, specOf({ table: "staged", column: "x", toType: "bigint" }));
    });

    after(async () => {
      await db?.drop();
    });

    const injection = "; DROP TABLE victim; --";
    const cases: Refusal[] = [
      // identifiers: quotes, spaces, mixed case, reserved words, long names, pgshift's suffixes
      { name: "a table name with an injected statement (unquoted)", input: { table: `items${injection}` }, error: InvalidSpecError, message: "is not a valid (optionally schema-qualified) name" },
      { name: "a quoted table name carrying an injection is only a name, and no such table exists", input: { table: `"items""${injection}"` }, error: TableNotFoundError, message: `table "items""${injection}" does not exist` },
      { name: "an unterminated quoted table name", input: { table: '"items' }, error: InvalidSpecError, message: "unterminated quoted identifier" },
      { name: "an empty quoted table name", input: { table: '""' }, error: InvalidSpecError, message: "empty quoted identifier" },
      { name: "a table name with a space, unquoted", input: { table: "my items" }, error: InvalidSpecError, message: 'quote unusual names like "My Table"' },
      { name: "a quoted mixed-case name is exact: \"Items\" is not items", input: { table: '"Items"' }, error: TableNotFoundError, message: 'table "Items" does not exist' },
      { name: "a three-part name", input: { table: "db.public.items" }, error: InvalidSpecError, message: 'must be "table" or "schema.table"' },
      { name: "a table name ending with a dot", input: { table: "public." }, error: InvalidSpecError, message: "ends with a dot" },
      { name: "a reserved word as the table, unquoted, is looked up as that name (none exists)", input: { table: "user" }, error: TableNotFoundError, message: "table user does not exist" },
      { name: "a column name carrying an injection", input: { column: `n${injection}` }, error: ColumnNotFoundError, message: `column "n${injection}" does not exist in table "public"."items"` },
      { name: "a column name with a quote and an injection", input: { column: `n" = 1${injection}` }, error: ColumnNotFoundError, message: 'column "n" = 1' },
      { name: "a column is matched exactly: N is not n", input: { column: "N" }, error: ColumnNotFoundError, message: 'column "N" does not exist' },
      { name: "a 64-byte column name (past NAMEDATALEN) does not silently become another column", input: { column: "n".padEnd(64, "_") }, error: ColumnNotFoundError, message: "does not exist in table" },
      { name: "a column whose shadow name x__pgshift_new already exists", input: { table: "collide", column: "x" }, error: NameTakenError, message: 'column "x__pgshift_new"' },
      { name: "an index already named like pgshift's copy of the column's index", input: { table: "idxc", column: "x" }, error: NameTakenError, message: 'relation "idxc_x__pgshift" for "public"."idxc", but that name is already taken' },
      { name: "a function already named like pgshift's conversion function", input: { table: "fnc", column: "x" }, error: NameTakenError, message: `function "${migrationNames("public", "fnc", "x").convertFunction}"` },

      // injection through every other string argument
      { name: "toType with an injected statement", input: { toType: `bigint${injection}` }, error: InvalidSpecError, message: 'is not a type name' },
      { name: "toType with a DEFAULT clause", input: { toType: "bigint DEFAULT 1" }, error: InvalidSpecError, message: "constraints, defaults and collations cannot be changed through toType" },
      { name: "toType closing a parenthesis it did not open", input: { toType: "numeric(10,2)) ; DROP TABLE victim; --" }, error: InvalidSpecError, message: "is not a type name" },
      { name: 'a quoted "bigint" names a type called exactly that, which does not exist', input: { toType: '"bigint"' }, error: UnknownTypeError, message: 'unknown target type ""bigint"": PostgreSQL has no type of that name' },
      { name: "using with a second statement", input: { using: `n::bigint${injection}` }, error: InvalidSpecError, message: 'using must be a single SQL expression (no ";")' },
      { name: "using breaking out of its parentheses", input: { using: "n::bigint)) OR ((true" }, error: InvalidSpecError, message: "parentheses do not balance" },
      { name: "using with an unterminated dollar quote", input: { using: "n::bigint + length($x$ abc)" }, error: InvalidSpecError, message: "unterminated" },
      { name: "using with a data-modifying CTE", input: { using: "(WITH d AS (DELETE FROM victim RETURNING id) SELECT count(*) FROM d)" }, error: InvalidSpecError, message: "does not compile" },
      { name: "using that calls a function writing to another table (declared STABLE)", input: { using: "wipe_victim(n)" }, error: ConversionFailedError, message: "DELETE is not allowed in a non-volatile function" },
      { name: "using that sleeps (volatile): refused, not run", input: { using: "n::bigint + (pg_sleep(30) IS NULL)::int" }, error: VolatileConversionError, message: "pg_sleep" },
      { name: "reverseUsing with a second statement", input: { reverseUsing: `n__pgshift_new::integer${injection}` }, error: InvalidSpecError, message: 'reverseUsing must be a single SQL expression (no ";")' },
      { name: "reverseUsing that does not compile", input: { reverseUsing: "n__pgshift_new::integer FROM victim" }, error: ReverseConversionError, message: "does not compile" },
      { name: "stateSchema with an injected statement", input: { stateSchema: `public${injection}` }, error: InvalidSpecError, message: "is not a valid schema name" },
      { name: "a quoted stateSchema carrying an injection is a schema name that does not exist", input: { stateSchema: `"public""${injection}"` }, error: StateSchemaError, message: "does not exist; create it or omit stateSchema" },
      { name: "a qualified stateSchema", input: { stateSchema: "public.pgshift_migrations" }, error: InvalidSpecError, message: "must be a single schema name" },

      // schemas and the search_path
      { name: "a schema that does not exist", input: { table: "nowhere.items" }, error: TableNotFoundError, message: "table nowhere.items does not exist" },
      { name: "the same table name in another schema, schema-qualified: the refusal names that table", input: { table: "other.items" }, error: ConversionFailedError, message: '"other"."items".n do not convert to bigint' },
      { name: "a search_path pointing elsewhere resolves items to other.items, and says so", input: {}, searchPath: "other, public", error: ConversionFailedError, message: '"other"."items".n do not convert' },
      { name: "an empty search_path finds no unqualified table", input: {}, searchPath: "''", error: TableNotFoundError, message: "not visible on the search_path" },

      // what is not a plain table, or not a plain column
      { name: "a view", input: { table: "v_base", column: "q" }, error: NotATableError, message: "public.v_base is a view; pgshift changes columns of tables" },
      { name: "a materialized view", input: { table: "mv_base", column: "q" }, error: NotATableError, message: "is a materialized view" },
      { name: "a foreign table (FDW without handler, no extension needed)", input: { table: "ft", column: "q" }, error: NotATableError, message: "is a foreign table" },
      { name: "a partitioned table", input: { table: "parted", column: "q" }, error: UnsupportedColumnError, message: "is partitioned" },
      { name: "a generated column", input: { table: "gen", column: "b" }, error: UnsupportedColumnError, message: "is a generated column" },
      { name: "a column a generated column uses", input: { table: "gen", column: "a" }, error: DependentObjectsError, message: "is used by" },

      // types
      { name: "text -> an enum, with values outside it", input: { column: "label", toType: "mood" }, error: ConversionFailedError, message: "invalid input value for enum mood" },
      { name: "an enum -> integer (no cast)", input: { column: "m", toType: "integer" }, error: InvalidSpecError, message: "does not compile: cannot cast type mood to integer" },
      { name: "integer -> a domain whose CHECK some values fail", input: { column: "neg", toType: "posint" }, error: ConversionFailedError, message: "violates check constraint" },
      { name: "an array -> bigint (no cast)", input: { column: "arr", toType: "bigint" }, error: InvalidSpecError, message: "cannot cast type integer[] to bigint" },
      { name: "the type the column has, spelled int4", input: { toType: "int4" }, error: InvalidSpecError, message: "already has type integer; there is nothing to change" },
      { name: "the type the column has, spelled pg_catalog.\"int4\"", input: { toType: 'pg_catalog."int4"' }, error: InvalidSpecError, message: "already has type integer" },
      { name: "text values that are not numbers", input: { column: "label", toType: "integer" }, error: ConversionFailedError, message: 'invalid input syntax for type integer: "x1"' },
      { name: "narrowing bigint -> integer without allowNarrowing", input: { column: "big", toType: "integer" }, error: NarrowingChangeError, message: "Set allowNarrowing: true to opt in" },
      { name: "narrowing with allowNarrowing, values out of range", input: { column: "big", toType: "integer", allowNarrowing: true }, error: ConversionFailedError, message: "first failing keys: (1), (2), (3), (4), (5); first error: integer out of range" },
      { name: "narrowing bigint -> numeric(5,1) with allowNarrowing, values overflow", input: { column: "big", toType: "numeric(5,1)", allowNarrowing: true }, error: ConversionFailedError, message: "numeric field overflow" },
      { name: "allowNarrowing given as a string", input: { column: "big", toType: "integer", allowNarrowing: "yes" }, error: InvalidSpecError, message: "allowNarrowing must be a boolean" },

      // stages
      { name: "an unknown stage", input: { stage: "rollback" }, error: InvalidSpecError, message: 'stage must be one of "expand", "cutover", "contract" (got "rollback")' },
      { name: "a stage in the wrong case", input: { stage: "Expand" }, error: InvalidSpecError, message: '(got "Expand")' },
      { name: "a stage that is not a string", input: { stage: 2 }, error: InvalidSpecError, message: "(got 2)" },
      { name: "contract straight from nothing", input: { stage: "contract" }, error: IllegalTransitionError, message: 'cannot go to "contract" from nothing' },
      { name: "contract straight from expand", input: { table: "staged", column: "x", stage: "contract" }, error: IllegalTransitionError, message: 'cannot go to "contract" from "expand"' },

      // logical replication
      { name: "a table in a FOR TABLE publication", input: { table: "pub_t", column: "x" }, error: PublishedTableError, message: 'publication "pub_plain"' },
      { name: "a table in a FOR TABLES IN SCHEMA publication", input: { table: "pubs.t2", column: "x" }, error: PublishedTableError, message: 'publication "pub_schema" is FOR TABLES IN SCHEMA', minMajor: PG15 },
      { name: "a column a publication's column list includes", input: { table: "pub_cols", column: "x" }, error: PublishedTableError, message: 'give it a column list without "x"', minMajor: PG15 },

      // the application's triggers, rules and policies on the column
      { name: "a policy that uses the column", input: { table: "pol", column: "owner_id" }, error: DependentObjectsError, message: "policy" },
      { name: "a rule that uses the column", input: { table: "ruled", column: "x" }, error: DependentObjectsError, message: "rule" },
      { name: "an ENABLE REPLICA trigger the backfill would fire", input: { table: "trg", column: "x" }, error: BackfillWouldFireError, message: '"touch_replica" (ENABLE REPLICA)' },
    ];

    // nonsensical numbers in every numeric option
    const NUMERIC_OPTIONS: { field: string; set: (v: unknown) => AnyInput; zeroAllowed: boolean }[] = [
      ...(["batchSize", "maxBatchSize", "targetBatchMs", "maxDurationMs"] as const).map((f) => ({ field: `backfill.${f}`, set: (v: unknown) => ({ backfill: { [f]: v } }), zeroAllowed: false })),
      ...(["pauseMs", "maxReplicationLagMs", "maxTransactionAgeMs", "maxCommitLatencyMs"] as const).map((f) => ({ field: `backfill.${f}`, set: (v: unknown) => ({ backfill: { [f]: v } }), zeroAllowed: true })),
      ...(["lockTimeoutMs", "lockRetries", "maxLockTimeoutMs"] as const).map((f) => ({ field: f, set: (v: unknown) => ({ [f]: v }), zeroAllowed: false })),
    ];
    const NONSENSE: { value: unknown; shown: string }[] = [
      { value: 0, shown: "0" },
      { value: -1, shown: "-1" },
      { value: NaN, shown: "NaN" },
      { value: Infinity, shown: "Infinity" },
      { value: 2.5, shown: "2.5" },
      { value: 1e300, shown: "1e+300" },
      { value: "100", shown: '"100"' },
    ];
    const accepted: { name: string; input: AnyInput }[] = [];
    for (const o of NUMERIC_OPTIONS) {
      for (const n of NONSENSE) {
        const name = `${o.field} = ${n.shown}`;
        if (n.value === 0 && o.zeroAllowed) {
          accepted.push({ name, input: o.set(0) });
          continue;
        }
        const message = n.value === 1e300 ? `${o.field} must be at most` : `${o.field} must be a ${o.zeroAllowed ? "non-negative" : "positive"} integer (got ${n.shown})`;
        cases.push({ name: `number: ${name}`, input: o.set(n.value), error: InvalidSpecError, message });
      }
    }

    async function plan(input: AnyInput, searchPath?: string): Promise<unknown> {
      return withClient(db.url, async (c: Client) => {
        if (searchPath) await c.query(`SET search_path = ${searchPath}`);
        try {
          await planMigrationWith(c, parseSpec({ stage: "expand", ...BASE, ...input } as unknown as ColumnChangeInput));
          return undefined;
        } catch (err) {
          return err;
        }
      });
    }

    for (const k of cases) {
      it(`refuses ${k.name}`, async function () {
        this.timeout(CASE_TIMEOUT_MS);
        if (k.minMajor && serverMajor < k.minMajor) this.skip(); // the server cannot create the publication
        const before = await withClient(db.url, fingerprint);
        const err = await plan(k.input, k.searchPath);
        assertCleanRefusal(err, k.error, k.message);
        assert.deepEqual(await withClient(db.url, fingerprint), before, "the database changed");
      });
    }

    for (const a of accepted) {
      it(`accepts ${a.name} (zero means "off")`, async function () {
        this.timeout(CASE_TIMEOUT_MS);
        assert.equal(await plan(a.input), undefined);
      });
    }

    it("a column list that leaves the column out publishes none of pgshift's columns: planning passes", async function () {
      this.timeout(CASE_TIMEOUT_MS);
      if (serverMajor < PG15) this.skip(); // no column lists before 15
      const before = await withClient(db.url, fingerprint);
      assert.equal(await plan({ table: "pub_cols", column: "y" }), undefined);
      assert.deepEqual(await withClient(db.url, fingerprint), before);
    });

    it("refuses a table in a FOR ALL TABLES publication (its own database: it publishes every table)", async function () {
      this.timeout(60_000);
      const all = await createTestDatabase("hostile_input_pub_all");
      try {
        await withClient(all.url, (c) => c.query(`CREATE TABLE t (id integer PRIMARY KEY, x integer); CREATE PUBLICATION everything FOR ALL TABLES;`));
        const before = await withClient(all.url, fingerprint);
        const err = await withClient(all.url, (c) => planMigrationWith(c, parseSpec({ stage: "expand", table: "t", column: "x", toType: "bigint" })).then(() => undefined, (e: unknown) => e));
        assertCleanRefusal(err, PublishedTableError, 'publication "everything" is FOR ALL TABLES, so the table cannot be left out of it alone');
        assert.deepEqual(await withClient(all.url, fingerprint), before);
      } finally {
        await all.drop();
      }
    });

    describe("connection failures never show the password", function () {
      const PASSWORD = "Sup3r-S3cret-pw-4711";
      const spec = () => parseSpec({ stage: "expand", ...BASE });
      const withPassword = (url: string, host?: string, port?: string) => {
        const u = new URL(url);
        u.password = PASSWORD;
        if (host) u.hostname = host;
        if (port) u.port = port;
        return u.toString();
      };
      const connectionCases: { name: string; conn: () => { connectionString?: string; host?: string; port?: number; user?: string; password?: string; database?: string; connectTimeout?: number }; check: (e: Error) => void }[] = [
        {
          name: "a wrong password (connection string)",
          conn: () => ({ connectionString: withPassword(db.url) }),
          check: (e) => {
            assert.ok(e instanceof DatabaseError, String(e));
            assert.equal((e as DatabaseError).code, "28P01");
            assert.match(e.message, /password authentication failed/);
          },
        },
        {
          name: "a wrong password (fields)",
          conn: () => {
            const u = new URL(db.url);
            return { host: u.hostname, port: Number(u.port), user: u.username, password: PASSWORD, database: u.pathname.slice(1) };
          },
          check: (e) => assert.equal((e as DatabaseError).code, "28P01"),
        },
        {
          name: "a port where nothing listens",
          conn: () => ({ connectionString: withPassword(db.url, "127.0.0.1", "1"), connectTimeout: 2 }),
          check: (e) => assert.match(String((e as { code?: string }).code ?? e.message), /ECONNREFUSED/),
        },
        {
          name: "a host that does not resolve",
          conn: () => ({ connectionString: withPassword(db.url, "pgshift-no-such-host.invalid"), connectTimeout: 2 }),
          check: (e) => assert.match(`${(e as { code?: string }).code} ${e.message}`, /ENOTFOUND|EAI_AGAIN|timeout/i),
        },
      ];
      for (const k of connectionCases) {
        it(`${k.name}: refused, the password in no message`, async function () {
          this.timeout(CASE_TIMEOUT_MS);
          const before = await withClient(db.url, fingerprint);
          const err = await planMigration(k.conn(), spec()).then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.ok(err instanceof Error, "expected a connection failure");
          k.check(err);
          for (const text of [err.message, String(err), JSON.stringify(err), err.stack ?? ""]) {
            assert.ok(!text.includes(PASSWORD), `the password appears in ${JSON.stringify(text)}`);
          }
          assert.deepEqual(await withClient(db.url, fingerprint), before);
        });
      }
    });
  });

  describe("odd but valid names go through expand", function () {
    let db: TestDatabase;

    before(async function () {
      this.timeout(60_000);
      db = await createTestDatabase("hostile_input_ok");
    });

    after(async () => {
      await db?.drop();
    });

    const longAscii = "t".repeat(MAX_IDENTIFIER_BYTES);
    // 31 two-byte letters + one byte: exactly 63 bytes, so every suffix must shorten it by whole code points
    const longUnicode = "é".repeat(31) + "x";
    const successes: { name: string; schema?: string; table: string; column: string; /** as written in the spec */ tableText?: string; searchPath?: string }[] = [
      { name: "a table and column with spaces and mixed case", table: "My Table", column: "Some Col" },
      { name: "unicode names (accents and an emoji)", table: "café_ünïcødé", column: "größe 📦" },
      { name: "reserved words as names", table: "order", column: "select" },
      { name: "names with double quotes in them", table: 'it"s', column: 'a"b' },
      { name: "a 63-byte table and a 63-byte column", table: longAscii, column: "c".repeat(MAX_IDENTIFIER_BYTES) },
      { name: "a 63-byte unicode column name", table: "uni_long", column: longUnicode },
      { name: "a column named with pgshift's own suffix", table: "suffixed", column: "x__pgshift_new" },
      { name: "a table in a schema with a mixed-case name", schema: "App Data", table: "Items", column: "N" },
      { name: "the same table name in two schemas, search_path pointing at the second", schema: "second", table: "dup", column: "n", tableText: "dup", searchPath: "second,public" },
      { name: "a column a publication's column list leaves out", table: "pub_cols", column: "y" },
    ];

    for (const s of successes) {
      it(`${s.name}: expand works, every created name fits ${MAX_IDENTIFIER_BYTES} bytes`, async function () {
        this.timeout(60_000);
        const schema = s.schema ?? "public";
        const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
        const qualifiedTable = `${q(schema)}.${q(s.table)}`;
        await withClient(db.url, async (c) => {
          if (schema !== "public") await c.query(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
          await c.query(`CREATE TABLE ${qualifiedTable} (id integer PRIMARY KEY, ${q(s.column)} integer, other integer)`);
          await c.query(`CREATE INDEX ON ${qualifiedTable} (${q(s.column)})`);
          await c.query(`INSERT INTO ${qualifiedTable} SELECT g, g, g FROM generate_series(1, 50) g`);
          if (s.table === "pub_cols" && (await testServer()).major >= PG15) await c.query(`CREATE PUBLICATION pub_without_y FOR TABLE pub_cols (id, other)`);
          if (s.searchPath) {
            // the same name, untouched, in public
            await c.query(`CREATE TABLE public.${q(s.table)} (id integer PRIMARY KEY, ${q(s.column)} integer)`);
            await c.query(`INSERT INTO public.${q(s.table)} VALUES (1, 1)`);
            await c.query(`ALTER DATABASE ${q(db.name)} SET search_path = ${s.searchPath}`);
          }
        });
        try {
          const tableText = s.tableText ?? (s.schema ? qualifiedTable : q(s.table));
          const spec = specOf({ table: tableText, column: s.column, toType: "bigint", backfill: { batchSize: 10 } });
          const publicBefore = s.searchPath ? await withClient(db.url, (c) => c.query(`SELECT * FROM public.${q(s.table)}`).then((r) => r.rows)) : null;
          await expand(db.url, spec);
          const names = migrationNames(schema, s.table, s.column);
          for (const [kind, name] of Object.entries(names)) {
            if (kind === "id") continue;
            assert.ok(Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES, `${kind} ${JSON.stringify(name)} is ${Buffer.byteLength(name)} bytes`);
          }
          await withClient(db.url, async (c) => {
            // the shadow column exists under exactly the name pgshift computed (no truncation by PostgreSQL) and is complete
            const { rows } = await c.query<{ bad: number }>(
              `SELECT count(*)::int AS bad FROM ${qualifiedTable} WHERE ${q(names.shadowColumn)} IS DISTINCT FROM ${q(s.column)}::bigint`,
            );
            assert.equal(rows[0].bad, 0);
            const { rows: created } = await c.query<{ n: string }>(
              `SELECT attname AS n FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname LIKE '%pgshift%' AND NOT attisdropped
               UNION ALL SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname LIKE '%pgshift%'
               UNION ALL SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1) AND c.relname LIKE '%pgshift%'
               UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'pgshift%' AND pronamespace = $2::regnamespace`,
              [qualifiedTable, q(schema)],
            );
            const expected = [names.shadowColumn, names.forwardInsertTrigger, names.forwardUpdateTrigger, names.convertFunction, names.forwardTriggerFunction];
            for (const e of expected) assert.ok(created.some((r) => r.n === e), `${JSON.stringify(e)} was not created (created: ${JSON.stringify(created)})`);
            // a user column named x__pgshift_new is the column being changed, not a pgshift object
            if (s.column.includes("__pgshift")) assert.ok(created.some((r) => r.n === s.column));
            if (publicBefore) assert.deepEqual((await c.query(`SELECT * FROM public.${q(s.table)}`)).rows, publicBefore, "the table of the same name in public changed");
          });
          const row = await migrationRow(db.url, s.table, s.column, schema);
          assert.equal(row?.stage, "expand");
        } finally {
          if (s.searchPath) await withClient(db.url, (c) => c.query(`ALTER DATABASE ${q(db.name)} RESET search_path`));
        }
      });
    }
  });
});
