// "Never damage a real schema": inputs that used to pass pre-flight and fail (or lose data)
// later. Each is refused before any DDL, with the object named and the way forward, and the
// database fingerprint (catalog and data) is the same before and after.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import {
  IllegalTransitionError,
  InheritanceTableError,
  LossyConversionError,
  NotATableError,
  PartitionTableError,
  ReverseConversionError,
  StateSchemaError,
  VolatileConversionError,
} from "../../src/errors";
import { planMigrationWith } from "../../src/planning/planMigration";
import { preflight } from "../../src/preflight/preflight";
import type { ColumnChangeInput } from "../../src/spec";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, testServer, withClient, type TestDatabase } from "../support/pg";
import { createStep, removeStep, specOf, refusesUnchanged as refusesUnchangedIn } from "./support/expand";

type Spec = Omit<ColumnChangeInput, "stage">;

describe("pre-flight refusals that protect a real schema (real PostgreSQL)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("preflight_refusals");
    await withClient(db.url, async (c) => {
      await c.query(`
        CREATE TABLE amounts (id integer PRIMARY KEY, amount numeric);
        INSERT INTO amounts VALUES (1, 1.5), (2, 12345678901234567890.123), (3, NULL), (4, 0.1);

        CREATE TABLE events (id integer PRIMARY KEY, at timestamptz);
        INSERT INTO events VALUES (1, '2024-01-01 00:00:00+00'), (2, '2024-01-01 13:45:00+00');

        CREATE TABLE words (id integer PRIMARY KEY, word text);
        INSERT INTO words VALUES (1, 'h'), (2, 'hello');

        CREATE TABLE hexes (id integer PRIMARY KEY, code varchar(32));
        INSERT INTO hexes SELECT g, md5(g::text) FROM generate_series(1, 20) g;

        CREATE TABLE local_times (id integer PRIMARY KEY, at timestamp);
        INSERT INTO local_times VALUES (1, '2024-01-10 12:00'), (2, '2024-03-31 02:30');

        CREATE TABLE prices (id integer PRIMARY KEY, price numeric(10,2));
        INSERT INTO prices SELECT g, g * 1.25 FROM generate_series(1, 50) g;

        CREATE TABLE measured (id integer PRIMARY KEY, n integer);
        INSERT INTO measured SELECT g, g FROM generate_series(1, 10) g;
        CREATE SEQUENCE measured_seq;

        CREATE TABLE parted (id integer, n integer, PRIMARY KEY (id)) PARTITION BY RANGE (id);
        CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (1000);
        INSERT INTO parted SELECT g, g FROM generate_series(1, 10) g;

        CREATE TABLE animals (id integer PRIMARY KEY, legs integer);
        CREATE TABLE dogs (id integer PRIMARY KEY, name text) INHERITS (animals);
        INSERT INTO dogs VALUES (1, 4, 'rex');

        CREATE TABLE base_items (id integer PRIMARY KEY, qty integer);
        INSERT INTO base_items SELECT g, g FROM generate_series(1, 10) g;
        CREATE VIEW v AS SELECT id, qty FROM base_items;
        CREATE MATERIALIZED VIEW mv AS SELECT id, qty FROM base_items;
        CREATE FOREIGN DATA WRAPPER pgshift_test_fdw;
        CREATE SERVER pgshift_test_server FOREIGN DATA WRAPPER pgshift_test_fdw;
        CREATE FOREIGN TABLE ft (id integer, qty integer) SERVER pgshift_test_server;
      `);
    });
  });

  after(async () => {
    await db?.drop();
  });

  const refusesUnchanged = (fn: (c: Client) => Promise<unknown>) => refusesUnchangedIn(db.url, fn);

  const check = (spec: Spec) => (c: Client) => preflight(c, specOf(spec));
  /** The provider's first step of expand: it runs the pre-flight, then creates the state table. */
  const shadowColumn = (spec: Spec) => () => createStep(db.url, "shadow-column", specOf(spec));

  describe("a conversion that loses values needs allowNarrowing", function () {
    it("numeric -> double precision (12345678901234567890.123 would become 1.2345678901234567e+19)", async () => {
      const err = await refusesUnchanged(check({ table: "amounts", column: "amount", toType: "double precision" }));
      assert.ok(err instanceof LossyConversionError, String(err));
      assert.deepEqual(err.failingKeys, ["(2)"]);
      assert.equal(err.example.value, "12345678901234567890.123");
      assert.match(err.message, /^converting "public"\."amounts"\.amount from numeric to double precision loses information: 1 value\(s\) do not come back unchanged/);
      assert.match(err.message, /"12345678901234567890\.123" comes back as "12345678901234600000"/);
      assert.match(err.message, /Set allowNarrowing: true to accept the loss, or give `using` \/ `reverseUsing` expressions that round-trip every value\.$/);
    });

    it("the same through the provider's create: nothing of expand is done", async () => {
      const err = await refusesUnchanged(shadowColumn({ table: "amounts", column: "amount", toType: "double precision" }));
      assert.ok(err instanceof LossyConversionError, String(err));
    });

    it("timestamptz -> date (the time of day would be dropped)", async () => {
      const err = await refusesUnchanged(check({ table: "events", column: "at", toType: "date" }));
      assert.ok(err instanceof LossyConversionError, String(err));
      assert.deepEqual(err.failingKeys, ["(2)"]);
    });

    it(`text -> "char" ('hello' would become 'h')`, async () => {
      const err = await refusesUnchanged(check({ table: "words", column: "word", toType: `"char"` }));
      assert.ok(err instanceof LossyConversionError, String(err));
      assert.deepEqual(err.failingKeys, ["(2)"]);
      assert.match(err.message, /"hello" comes back as "h"/);
    });

    it("varchar(32) hex -> uuid without reverseUsing: the cast back writes another string (hyphens)", async () => {
      const err = await refusesUnchanged(check({ table: "hexes", column: "code", toType: "uuid" }));
      assert.ok(err instanceof LossyConversionError, String(err));
      assert.deepEqual(err.failingKeys, ["(1)", "(2)", "(3)", "(4)", "(5)"]);
      assert.match(err.message, /"c4ca4238a0b923820dcc509a6f75849b" comes back as "c4ca4238-a0b9-2382-0dcc-509a6f75"\)/);
    });

    it("varchar(32) hex -> uuid with a reverseUsing that round-trips passes", async () => {
      const facts = await withClient(db.url, (c) => preflight(c, specOf({ table: "hexes", column: "code", toType: "uuid", reverseUsing: "replace(code::text, '-', '')" })));
      assert.equal(facts.to.formatted, "uuid");
    });

    it("timestamp -> timestamptz is scanned: a local time in a DST gap comes back shifted", async () => {
      const err = await refusesUnchanged(async (c) => {
        await c.query(`SET TimeZone = 'Europe/Berlin'`);
        return preflight(c, specOf({ table: "local_times", column: "at", toType: "timestamptz" }));
      });
      assert.ok(err instanceof LossyConversionError, String(err));
      assert.deepEqual(err.failingKeys, ["(2)"]);
    });

    it("a value whose conversion back raises counts as lost, and the message says so", async () => {
      const err = await refusesUnchanged(check({ table: "measured", column: "n", toType: "text", using: "n::text || ' units'" }));
      assert.ok(err instanceof LossyConversionError, String(err));
      assert.deepEqual(err.failingKeys, ["(1)", "(2)", "(3)", "(4)", "(5)"]);
      assert.match(err.message, /"1" comes back as an error: invalid input syntax for type integer: "1 units"/);
    });

    it("allowNarrowing accepts the loss", async () => {
      await withClient(db.url, (c) => preflight(c, specOf({ table: "amounts", column: "amount", toType: "double precision", allowNarrowing: true })));
    });

    it("a change that is not provable from the types but loses nothing passes (numeric(10,2) -> numeric(20,2))", async () => {
      await withClient(db.url, (c) => preflight(c, specOf({ table: "prices", column: "price", toType: "numeric(20,2)" })));
    });
  });

  it("refuses a reverseUsing that does not compile at pre-flight, not at cutover", async () => {
    const err = await refusesUnchanged(check({ table: "hexes", column: "code", toType: "uuid", reverseUsing: "no_such_function(code)" }));
    assert.ok(err instanceof ReverseConversionError, String(err));
    assert.match(err.message, /^the reverse conversion \(reverseUsing\) back to character varying\(32\) does not compile: function no_such_function\(uuid\) does not exist/);
  });

  describe("partitions and inheritance", function () {
    it("refuses a partition, naming its partitioned table", async () => {
      const err = await refusesUnchanged(check({ table: "parted_1", column: "n", toType: "bigint" }));
      assert.ok(err instanceof PartitionTableError, String(err));
      assert.equal(err.parent, "public.parted");
      assert.match(err.message, /^table public\.parted_1 is a partition of public\.parted; PostgreSQL cannot add a column to a partition alone/);
    });

    it("refuses a partition through the provider's create (it used to fail at ADD COLUMN)", async () => {
      const err = await refusesUnchanged(shadowColumn({ table: "parted_1", column: "n", toType: "bigint" }));
      assert.ok(err instanceof PartitionTableError, String(err));
    });

    it("refuses an inheritance parent, naming its children", async () => {
      const err = await refusesUnchanged(check({ table: "animals", column: "legs", toType: "bigint" }));
      assert.ok(err instanceof InheritanceTableError, String(err));
      assert.deepEqual(err.children, ["public.dogs"]);
      assert.match(err.message, /^table public\.animals is inherited by public\.dogs; .*NO INHERIT/);
    });

    it("refuses an inheritance child, naming its parent", async () => {
      const err = await refusesUnchanged(check({ table: "dogs", column: "legs", toType: "bigint" }));
      assert.ok(err instanceof InheritanceTableError, String(err));
      assert.deepEqual(err.parents, ["public.animals"]);
      assert.match(err.message, /^table public\.dogs inherits from public\.animals; /);
    });
  });

  describe("relations that are not tables are named as what they are", function () {
    for (const [name, kind] of [["v", "view"], ["mv", "materialized view"], ["ft", "foreign table"], ["measured_seq", "sequence"]]) {
      it(`${name}: ${kind}`, async () => {
        const err = await refusesUnchanged(check({ table: name, column: "qty", toType: "bigint" }));
        assert.ok(err instanceof NotATableError, String(err));
        assert.equal(err.kind, kind);
        assert.match(err.message, new RegExp(`^public\\.${name} is a ${kind}; pgshift changes columns of tables`));
      });
    }
  });

  describe("stateSchema", function () {
    it("refuses a stateSchema that does not exist, at pre-flight", async () => {
      const err = await refusesUnchanged(check({ table: "measured", column: "n", toType: "bigint", stateSchema: "nowhere" }));
      assert.ok(err instanceof StateSchemaError, String(err));
      assert.match(err.message, /^schema "nowhere" does not exist; create it or omit stateSchema/);
    });

    it("refuses it through the provider's create: no half of expand is left", async () => {
      const err = await refusesUnchanged(shadowColumn({ table: "measured", column: "n", toType: "bigint", stateSchema: "nowhere" }));
      assert.ok(err instanceof StateSchemaError, String(err));
    });

    describe("rights", function () {
      const role = `pgshift_state_${randomBytes(3).toString("hex")}`;
      let created = false;

      before(async function () {
        await testServer();
        const ok = await withClient(db.url, async (c) => (await c.query(`SELECT rolsuper OR rolcreaterole AS ok FROM pg_roles WHERE rolname = current_user`)).rows[0].ok);
        if (!ok) this.skip();
        await withClient(db.url, async (c) => {
          await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
          created = true;
          await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${c.escapeIdentifier(db.name)} TO ${role}`);
          await c.query(`CREATE TABLE owned_by_role (id integer PRIMARY KEY, n integer)`);
          await c.query(`ALTER TABLE owned_by_role OWNER TO ${role}`);
          await c.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
          await c.query(`CREATE SCHEMA locked`);
          await c.query(`GRANT USAGE ON SCHEMA locked TO ${role}`);
          await c.query(`CREATE SCHEMA readonly_state`);
          await c.query(`GRANT USAGE ON SCHEMA readonly_state TO ${role}`);
          await c.query(`CREATE TABLE readonly_state.pgshift_migrations (id text PRIMARY KEY)`);
          await c.query(`GRANT SELECT ON readonly_state.pgshift_migrations TO ${role}`);
        });
      });

      after(async () => {
        if (!created) return;
        await withClient(db.url, async (c) => {
          await c.query(`DROP TABLE owned_by_role`);
          await c.query(`DROP SCHEMA locked, readonly_state CASCADE`);
          await c.query(`DROP OWNED BY ${role}`);
          await c.query(`DROP ROLE ${role}`);
        });
      });

      const asRole = () => {
        const u = new URL(db.url);
        u.username = role;
        u.password = "pw";
        return u.toString();
      };

      it("refuses a stateSchema where the role may not create the state table", async () => {
        const before = await withClient(db.url, fingerprint);
        const err = await withClient(asRole(), (c) => preflight(c, specOf({ table: "owned_by_role", column: "n", toType: "bigint", stateSchema: "locked" })).then(
          () => assert.fail("expected a refusal"),
          (e: unknown) => e as Error,
        ));
        assert.ok(err instanceof StateSchemaError, String(err));
        assert.equal(err.message, `role ${role} cannot create pgshift's state table "locked"."pgshift_migrations": it lacks CREATE on stateSchema "locked". GRANT CREATE ON SCHEMA "locked" TO "${role}", or choose another stateSchema.`);
        assert.deepEqual(await withClient(db.url, fingerprint), before);
      });

      it("refuses a state table the role may not write", async () => {
        const before = await withClient(db.url, fingerprint);
        const err = await withClient(asRole(), (c) => preflight(c, specOf({ table: "owned_by_role", column: "n", toType: "bigint", stateSchema: "readonly_state" })).then(
          () => assert.fail("expected a refusal"),
          (e: unknown) => e as Error,
        ));
        assert.ok(err instanceof StateSchemaError, String(err));
        assert.match(err.message, /cannot write pgshift's state table "readonly_state"\."pgshift_migrations" \(it lacks INSERT, UPDATE, DELETE\)/);
        assert.deepEqual(await withClient(db.url, fingerprint), before);
      });
    });
  });

  describe("a volatile `using` is refused, naming the function", function () {
    const cases: [string, Spec, string][] = [
      ["random()", { table: "measured", column: "n", toType: "double precision", using: "n + random()" }, "random()"],
      ["clock_timestamp()", { table: "events", column: "at", toType: "timestamp", using: "clock_timestamp()", allowNarrowing: true }, "clock_timestamp()"],
      ["nextval()", { table: "measured", column: "n", toType: "bigint", using: "nextval('measured_seq')" }, "nextval(regclass)"],
      ["gen_random_uuid()", { table: "hexes", column: "code", toType: "uuid", using: "gen_random_uuid()" }, "gen_random_uuid()"],
      // a function name inside a string literal or a comment is not a call
      ["random() behind an operator", { table: "measured", column: "n", toType: "text", using: "'random()' || (n + random())::int /* now() */" }, "random()"],
    ];
    for (const [what, spec, fn] of cases) {
      it(what, async () => {
        const err = await refusesUnchanged(check(spec));
        assert.ok(err instanceof VolatileConversionError, String(err));
        assert.deepEqual(err.functions, [fn]);
        assert.match(err.message, new RegExp(`^using calls VOLATILE function\\(s\\) ${fn.replace(/[()]/g, "\\$&")}: `));
      });
    }

    it("a volatile reverseUsing too", async () => {
      const err = await refusesUnchanged(check({ table: "measured", column: "n", toType: "bigint", reverseUsing: "(n + random())::int" }));
      assert.ok(err instanceof VolatileConversionError, String(err));
      assert.equal(err.field, "reverseUsing");
    });

    it("a STABLE or IMMUTABLE using passes", async () => {
      await withClient(db.url, (c) => preflight(c, specOf({ table: "events", column: "at", toType: "timestamp", using: "at AT TIME ZONE 'UTC'", reverseUsing: "at AT TIME ZONE 'UTC'", allowNarrowing: true })));
    });
  });

  describe("a started migration keeps its target, compared as resolved types", function () {
    const started = { table: "measured", column: "n", toType: "bigint" };

    before(async () => {
      await createStep(db.url, "shadow-column", specOf(started));
    });

    after(async () => {
      await removeStep(db.url, "shadow-column", specOf(started));
    });

    it("toType int8 for a migration started with bigint is the same target", async () => {
      const plan = await withClient(db.url, (c) => planMigrationWith(c, specOf({ ...started, toType: "int8" })));
      assert.equal(plan.recordedStage, "expand");
      // the children keep the recorded spelling, so the provider sees no change of target
      assert.equal(plan.childSpec.toType, "bigint");
      assert.ok(!("stage" in plan.childSpec));
    });

    it("another type is still refused", async () => {
      await assert.rejects(
        withClient(db.url, (c) => planMigrationWith(c, specOf({ ...started, toType: "numeric" }))),
        (e: Error) => e instanceof IllegalTransitionError && /was started with toType "bigint"; it cannot change to toType "numeric" midway/.test(e.message),
      );
    });
  });
});
