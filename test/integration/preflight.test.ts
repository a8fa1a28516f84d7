// Principle 7: pre-flight before any DDL. Every bad input gets its own error class and a
// message naming what is wrong, and the database is exactly as it was afterwards (same
// description of the table (catalog.ts), no state table, no pgshift function, trigger, column or index).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import {
  ColumnNotFoundError,
  ConversionFailedError,
  UniqueAfterConversionError,
  UnsupportedColumnError,
  DependentObjectsError,
  InvalidSpecError,
  NarrowingChangeError,
  NoUsableKeyError,
  NotATableError,
  PgShiftError,
  TableNotFoundError,
  UnknownTypeError,
} from "../../src/errors";
import { preflight } from "../../src/preflight/preflight";
import type { ColumnChangeInput } from "../../src/spec";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, testServer, withClient, type TestDatabase } from "../support/pg";
import { createStep, NO_LEFTOVERS, pgshiftLeftovers, specOf, refusesUnchanged as refusesUnchangedIn } from "./support/expand";

type Spec = Omit<ColumnChangeInput, "stage">;

describe("pre-flight (real PostgreSQL)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("preflight");
    await withClient(db.url, async (c) => {
      await c.query(`
        CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint, code varchar(32), note text);
        INSERT INTO accounts (id, balance, code, note)
          SELECT g, g * 10, md5(g::text), 'row ' || g FROM generate_series(1, 200) g;

        -- a key column is not enough when it is nullable, or the unique index is partial
        CREATE TABLE keyless (a integer, b integer, payload integer);
        CREATE UNIQUE INDEX keyless_a_key ON keyless (a);
        CREATE UNIQUE INDEX keyless_b_partial ON keyless (b) WHERE b > 0;
        ALTER TABLE keyless ALTER COLUMN b SET NOT NULL;
        INSERT INTO keyless SELECT g, g, g FROM generate_series(1, 10) g;

        CREATE TABLE big_values (id integer PRIMARY KEY, amount bigint);
        INSERT INTO big_values SELECT g, g FROM generate_series(1, 20) g;
        UPDATE big_values SET amount = 3000000000 WHERE id IN (3, 7);
        UPDATE big_values SET amount = -3000000000 WHERE id = 12;

        -- the same, with a column whose name is also a variable of the failing-keys probe
        CREATE TABLE counters (id integer PRIMARY KEY, n bigint);
        INSERT INTO counters SELECT g, g FROM generate_series(1, 20) g;
        UPDATE counters SET n = 3000000000 WHERE id = 3;

        CREATE TABLE tokens (id integer PRIMARY KEY, token varchar(32));
        INSERT INTO tokens SELECT g, md5(g::text) FROM generate_series(1, 50) g;
        UPDATE tokens SET token = 'not-a-uuid-' || id WHERE id IN (4, 9, 17);
        UPDATE tokens SET token = NULL WHERE id = 5;

        CREATE TABLE many_bad (id integer PRIMARY KEY, token varchar(32));
        INSERT INTO many_bad SELECT g, CASE WHEN g % 3 = 0 THEN 'bad' || g ELSE md5(g::text) END FROM generate_series(1, 40) g;

        CREATE TABLE viewed (id integer PRIMARY KEY, amount integer, other integer);
        CREATE VIEW viewed_summary AS SELECT id, amount * 2 AS doubled FROM viewed;

        CREATE TABLE parents (id integer PRIMARY KEY, name text);
        CREATE TABLE children (id integer PRIMARY KEY, parent_id integer REFERENCES parents (id));
        INSERT INTO parents VALUES (1, 'a'), (2, 'b');
        INSERT INTO children VALUES (1, 1), (2, 2);

        CREATE TABLE tenant_items (tenant integer, code text, qty bigint, PRIMARY KEY (tenant, code));
        INSERT INTO tenant_items VALUES (1, 'a', 1), (1, 'b', 9000000000), (2, 'a', 2);

        CREATE TABLE deferred_codes (id integer PRIMARY KEY, code integer CONSTRAINT deferred_codes_code_key UNIQUE DEFERRABLE INITIALLY DEFERRED);

        CREATE TABLE refs (id integer PRIMARY KEY, ref varchar(36) NOT NULL CONSTRAINT refs_ref_key UNIQUE);
        INSERT INTO refs VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), (2, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), (3, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
      `);
    });
  });

  after(async () => {
    await db?.drop();
  });

  /** Every table, view and sequence of the schema, in one catalog description. */
  const schemaOf = () => describeTableSchema(db.url, "public.*");

  const refusesUnchanged = (fn: (c: Client) => Promise<unknown>) => refusesUnchangedIn(db.url, fn);

  const check = (spec: Spec) => (c: Client) => preflight(c, specOf(spec));

  it("refuses a missing table with TableNotFoundError", async () => {
    const err = await refusesUnchanged(check({ table: "public.nope", column: "id", toType: "bigint" }));
    assert.ok(err instanceof TableNotFoundError, String(err));
    assert.equal(err.message, "table public.nope does not exist (or is not visible on the search_path of the connecting role)");
  });

  it("refuses a view given as the table with NotATableError, saying what it is", async () => {
    const err = await refusesUnchanged(check({ table: "viewed_summary", column: "doubled", toType: "bigint" }));
    assert.ok(err instanceof NotATableError, String(err));
    assert.match(err.message, /^public\.viewed_summary is a view; pgshift changes columns of tables/);
  });

  it("refuses a missing column with ColumnNotFoundError", async () => {
    const err = await refusesUnchanged(check({ table: "accounts", column: "balanse", toType: "numeric" }));
    assert.ok(err instanceof ColumnNotFoundError, String(err));
    assert.equal(err.message, `column "balanse" does not exist in table "public"."accounts"`);
  });

  it("refuses a table without PRIMARY KEY or usable UNIQUE index with NoUsableKeyError", async () => {
    // keyless_a_key is over a nullable column and keyless_b_partial is partial: neither can drive keyset batches
    const err = await refusesUnchanged(check({ table: "keyless", column: "payload", toType: "bigint" }));
    assert.ok(err instanceof NoUsableKeyError, String(err));
    assert.match(err.message, /^table "public"\."keyless" has no usable key for a batched backfill: .*Add a PRIMARY KEY/);
  });

  it("refuses an unknown target type with UnknownTypeError", async () => {
    const err = await refusesUnchanged(check({ table: "accounts", column: "code", toType: "bigintt" }));
    assert.ok(err instanceof UnknownTypeError, String(err));
    assert.match(err.message, /^unknown target type "bigintt": PostgreSQL has no type of that name/);
  });

  it("refuses a narrowing change without allowNarrowing with NarrowingChangeError", async () => {
    const err = await refusesUnchanged(check({ table: "big_values", column: "amount", toType: "integer" }));
    assert.ok(err instanceof NarrowingChangeError, String(err));
    assert.match(err.message, /^changing bigint to integer narrows the column \(integer holds a smaller range than bigint\).*Set allowNarrowing: true/);
  });

  it("with allowNarrowing, refuses values that do not fit with ConversionFailedError naming the first failing keys", async () => {
    const err = await refusesUnchanged(check({ table: "big_values", column: "amount", toType: "integer", allowNarrowing: true }));
    assert.ok(err instanceof ConversionFailedError, String(err));
    assert.deepEqual(err.failingKeys, ["(3)", "(7)", "(12)"]);
    assert.match(err.message, /^3 existing value\(s\) of "public"\."big_values"\.amount do not convert to integer; first failing keys: \(3\), \(7\), \(12\); first error: integer out of range\./);
  });

  // the failing-keys probe is PL/pgSQL whose variables share a namespace with the table's
  // columns: a column named like one of them (here n) must not make a reference ambiguous and
  // turn ConversionFailedError into a raw DatabaseError.
  it("names the failing keys of a column called `n` (a name the probe also uses)", async () => {
    const err = await refusesUnchanged(check({ table: "counters", column: "n", toType: "integer", allowNarrowing: true }));
    assert.ok(err instanceof ConversionFailedError, String(err));
    assert.deepEqual(err.failingKeys, ["(3)"]);
  });

  it("with allowNarrowing and values that fit, passes (and still changes nothing)", async () => {
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE small_values (id integer PRIMARY KEY, n bigint NOT NULL)`);
      await c.query(`INSERT INTO small_values SELECT g, g * 1000 FROM generate_series(1, 100) g`);
    });
    const before = await describeTableSchema(db.url, "public.small_values");
    const facts = await withClient(db.url, (c) => preflight(c, specOf({ table: "small_values", column: "n", toType: "integer", allowNarrowing: true })));
    assert.equal(facts.from.formatted, "bigint");
    assert.equal(facts.to.formatted, "integer");
    assert.deepEqual(facts.table.keyColumns, [{ name: "id", type: "integer" }]);
    assert.equal(await describeTableSchema(db.url, "public.small_values"), before);
    await withClient(db.url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
  });

  it("refuses varchar(32) -> uuid with non-uuid values, listing the keys of the bad rows (NULLs are fine)", async () => {
    const err = await refusesUnchanged(check({ table: "tokens", column: "token", toType: "uuid" }));
    assert.ok(err instanceof ConversionFailedError, String(err));
    assert.deepEqual(err.failingKeys, ["(4)", "(9)", "(17)"]);
    assert.match(err.message, /do not convert to uuid; first failing keys: \(4\), \(9\), \(17\); first error: invalid input syntax for type uuid/);
  });

  it("refuses a conversion that makes two rows equal under a UNIQUE constraint (before a whole backfill is wasted on it)", async () => {
    const err = await refusesUnchanged(check({ table: "refs", column: "ref", toType: "uuid" }));
    assert.ok(err instanceof UniqueAfterConversionError, String(err));
    assert.equal(err.index, "refs_ref_key");
    assert.match(err.message, /makes rows equal under unique index refs_ref_key: converted keys \(a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\) occur more than once/);
  });

  it("refuses a column under a DEFERRABLE unique constraint (its copy would check immediately)", async () => {
    const err = await refusesUnchanged(check({ table: "deferred_codes", column: "code", toType: "bigint" }));
    assert.ok(err instanceof UnsupportedColumnError, String(err));
    assert.match(err.message, /part of DEFERRABLE constraint "deferred_codes_code_key".*NOT DEFERRABLE/);
  });

  it("names at most the first five failing keys, in key order", async () => {
    const err = await refusesUnchanged(check({ table: "many_bad", column: "token", toType: "uuid" }));
    assert.ok(err instanceof ConversionFailedError, String(err));
    assert.deepEqual(err.failingKeys, ["(3)", "(6)", "(9)", "(12)", "(15)"]);
  });

  it("names failing rows of a composite key by every key column", async () => {
    const err = await refusesUnchanged(check({ table: "tenant_items", column: "qty", toType: "integer", allowNarrowing: true }));
    assert.ok(err instanceof ConversionFailedError, String(err));
    assert.deepEqual(err.failingKeys, ["(1, b)"]);
  });

  it("refuses a `using` expression that turns a value into NULL", async () => {
    const err = await refusesUnchanged(check({ table: "accounts", column: "balance", toType: "numeric", using: "NULLIF(balance, 50)::numeric" }));
    assert.ok(err instanceof ConversionFailedError, String(err));
    assert.deepEqual(err.failingKeys, ["(5)"]);
    assert.match(err.message, /first error: the conversion gives NULL/);
  });

  it("refuses a column a view uses with DependentObjectsError naming the view", async () => {
    const err = await refusesUnchanged(check({ table: "viewed", column: "amount", toType: "bigint" }));
    assert.ok(err instanceof DependentObjectsError, String(err));
    assert.deepEqual(err.dependents, ["view viewed_summary"]);
    assert.match(err.message, /^column "public"\."viewed"\.amount is used by view viewed_summary\. /);
  });

  it("lets through a column of the same table that the view does not use", async () => {
    await withClient(db.url, (c) => preflight(c, specOf({ table: "viewed", column: "other", toType: "bigint" })));
  });

  it("accepts a column another table's FOREIGN KEY references, recording the key so cutover can move it", async () => {
    const facts = await withClient(db.url, (c) => preflight(c, specOf({ table: "parents", column: "id", toType: "bigint" })));
    assert.deepEqual(facts.table.referencingForeignKeys, [
      { table: "public.children", name: "children_parent_id_fkey", definition: "FOREIGN KEY (parent_id) REFERENCES public.parents(id)" },
    ]);
  });

  it("refuses a `using` expression that does not compile with InvalidSpecError", async () => {
    const err = await refusesUnchanged(check({ table: "accounts", column: "balance", toType: "numeric", using: "no_such_function(balance)" }));
    assert.ok(err instanceof InvalidSpecError, String(err));
    assert.match(err.message, /^the conversion to numeric does not compile: function no_such_function\(bigint\) does not exist/);
  });

  it("refuses a change to the type the column already has with InvalidSpecError", async () => {
    const err = await refusesUnchanged(check({ table: "accounts", column: "code", toType: "varchar(32)" }));
    assert.ok(err instanceof InvalidSpecError, String(err));
    assert.equal(err.message, `column "public"."accounts"."code" already has type character varying(32); there is nothing to change`);
  });

  describe("rights", function () {
    const suffix = randomBytes(3).toString("hex");
    const outsider = `pgshift_outsider_${suffix}`;
    const owner = `pgshift_owner_${suffix}`;
    const password = "outsider-pw";
    let serverUrl: string;

    before(async function () {
      const server = await testServer();
      serverUrl = server.url;
      const canCreateRoles = await withClient(db.url, async (c) => (await c.query(`SELECT rolsuper OR rolcreaterole AS ok FROM pg_roles WHERE rolname = current_user`)).rows[0].ok);
      if (!canCreateRoles) this.skip();
      await withClient(db.url, async (c) => {
        for (const role of [outsider, owner]) {
          await c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD '${password}'`);
          await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${c.escapeIdentifier(db.name)} TO ${c.escapeIdentifier(role)}`);
        }
        await c.query(`GRANT SELECT ON accounts TO ${c.escapeIdentifier(outsider)}`);
        // owns its table but may not create functions in the schema (PG 15's default; explicit for PG 14)
        await c.query(`CREATE TABLE owned (id integer PRIMARY KEY, n integer)`);
        await c.query(`INSERT INTO owned SELECT g, g FROM generate_series(1, 10) g`);
        await c.query(`ALTER TABLE owned OWNER TO ${c.escapeIdentifier(owner)}`);
        await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      });
    });

    after(async () => {
      if (!serverUrl) return;
      // roles are cluster-wide: revoke what they hold here (database grants included), then drop them
      await withClient(db.url, async (c) => {
        await c.query(`ALTER TABLE owned OWNER TO current_user`);
        await c.query(`GRANT CREATE ON SCHEMA public TO PUBLIC`);
        for (const role of [outsider, owner]) {
          await c.query(`DROP OWNED BY ${c.escapeIdentifier(role)}`);
          await c.query(`DROP ROLE ${c.escapeIdentifier(role)}`);
        }
      });
    });

    function urlAs(role: string): string {
      const u = new URL(db.url);
      u.username = role;
      u.password = password;
      return u.toString();
    }

    it("refuses a role that does not own the table", async () => {
      const before = await describeTableSchema(db.url, "public.accounts");
      const err = await withClient(urlAs(outsider), async (c) =>
        preflight(c, specOf({ table: "accounts", column: "balance", toType: "numeric" })).then(
          () => assert.fail("expected a refusal"),
          (e: unknown) => e as Error,
        ),
      );
      assert.ok(err instanceof PgShiftError, String(err));
      assert.equal(
        err.message,
        `role ${outsider} does not own "public"."accounts"; pgshift needs the owner's rights (ALTER TABLE, CREATE TRIGGER). Connect as the table owner.`,
      );
      assert.equal(await describeTableSchema(db.url, "public.accounts"), before);
      await withClient(db.url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
    });

    it("refuses the same role through the provider's create, before any DDL", async () => {
      const before = await describeTableSchema(db.url, "public.accounts");
      await assert.rejects(createStep(urlAs(outsider), "shadow-column", specOf({ table: "accounts", column: "balance", toType: "numeric" })), (e: Error) => {
        assert.ok(e instanceof PgShiftError, String(e));
        assert.match(e.message, /does not own "public"\."accounts"/);
        return true;
      });
      assert.equal(await describeTableSchema(db.url, "public.accounts"), before);
      await withClient(db.url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
    });

    it("refuses a table owner without CREATE on the schema, saying which GRANT is missing", async () => {
      const before = await describeTableSchema(db.url, "public.owned");
      const err = await withClient(urlAs(owner), (c) =>
        preflight(c, specOf({ table: "owned", column: "n", toType: "bigint" })).then(
          () => assert.fail("expected a refusal"),
          (e: unknown) => e as Error,
        ),
      );
      assert.ok(err instanceof PgShiftError, String(err));
      assert.equal(
        err.message,
        `role ${owner} lacks CREATE on schema "public", needed for pgshift's trigger functions. GRANT CREATE ON SCHEMA "public" TO "${owner}".`,
      );
      assert.equal(await describeTableSchema(db.url, "public.owned"), before);
    });
  });

  describe("through the provider's create (kind shadow-column)", function () {
    it("refuses a missing column before any DDL: no state table, no shadow column", async () => {
      const before = await schemaOf();
      await assert.rejects(createStep(db.url, "shadow-column", specOf({ table: "accounts", column: "balanse", toType: "numeric" })), (e: Error) => {
        assert.ok(e instanceof ColumnNotFoundError, String(e));
        return true;
      });
      assert.deepEqual(await schemaOf(), before);
      await withClient(db.url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
    });

    it("refuses values that do not convert before any DDL, with the same message as the pre-flight", async () => {
      const before = await schemaOf();
      await assert.rejects(createStep(db.url, "shadow-column", specOf({ table: "tokens", column: "token", toType: "uuid" })), (e: Error) => {
        assert.ok(e instanceof ConversionFailedError, String(e));
        assert.deepEqual(e.failingKeys, ["(4)", "(9)", "(17)"]);
        return true;
      });
      assert.deepEqual(await schemaOf(), before);
      await withClient(db.url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
    });

    it("refuses a view dependency before any DDL", async () => {
      const before = await schemaOf();
      await assert.rejects(createStep(db.url, "shadow-column", specOf({ table: "viewed", column: "amount", toType: "bigint" })), DependentObjectsError);
      assert.deepEqual(await schemaOf(), before);
      await withClient(db.url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
    });
  });
});
