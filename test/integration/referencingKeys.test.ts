// referencingColumns "keep": foreign keys that reference the changed column are dropped and added
// again NOT VALID in the cutover swap, their columns keeping their types (the default, "change",
// changes them as a key family: test/integration/keyFamily.test.ts). Pre-flight refuses, before
// any DDL, a change after which PostgreSQL would not accept them again (the cutover used to
// fail with "foreign key constraint ... cannot be implemented" after the whole expand and
// backfill), and the plan warns about referencing columns that keep a narrower type.
import assert from "node:assert/strict";
import type { Client } from "pg";
import { IncompatibleForeignKeyError } from "../../src/errors";
import { planMigrationWith } from "../../src/planning/planMigration";
import { preflight } from "../../src/preflight/preflight";
import type { ColumnChangeInput } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { createStep, specOf, refusesUnchanged as refusesUnchangedIn } from "./support/expand";

type Spec = Omit<ColumnChangeInput, "stage">;

/** md5 hex keys round-trip through uuid with this reverseUsing, so only the foreign key stands in the way. */
const HEX_BACK = (col: string) => `replace(${col}::text, '-', '')`;

describe("foreign keys that reference the changed column (real PostgreSQL)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("referencing_keys");
    await withClient(db.url, async (c) => {
      await c.query(`
        CREATE TABLE hex_parents (id varchar(32) PRIMARY KEY, name text);
        INSERT INTO hex_parents SELECT md5(g::text), 'p' || g FROM generate_series(1, 20) g;
        CREATE TABLE hex_children (id integer PRIMARY KEY, parent_id varchar(32) NOT NULL REFERENCES hex_parents (id));
        INSERT INTO hex_children SELECT g, md5((1 + g % 20)::text) FROM generate_series(1, 40) g;

        CREATE TABLE nodes (id varchar(32) PRIMARY KEY, parent_id varchar(32) REFERENCES nodes (id));
        INSERT INTO nodes SELECT md5(g::text), CASE WHEN g > 1 THEN md5((g - 1)::text) END FROM generate_series(1, 10) g;

        CREATE TABLE tenant_items (tenant_id integer, code varchar(32), PRIMARY KEY (tenant_id, code));
        INSERT INTO tenant_items SELECT 1 + g % 3, md5(g::text) FROM generate_series(1, 12) g;
        CREATE TABLE tenant_uses (id integer PRIMARY KEY, tenant_id integer NOT NULL, item_code varchar(32) NOT NULL,
                                  FOREIGN KEY (tenant_id, item_code) REFERENCES tenant_items (tenant_id, code));
        INSERT INTO tenant_uses SELECT g, 1 + g % 3, md5(g::text) FROM generate_series(1, 12) g;

        CREATE TABLE accounts (id serial PRIMARY KEY, name text);
        INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 20) g;
        CREATE TABLE entries (id integer PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts (id));
        INSERT INTO entries SELECT g, 1 + g % 20 FROM generate_series(1, 40) g;
        CREATE TABLE ledgers (id integer PRIMARY KEY, account_id bigint REFERENCES accounts (id));
        INSERT INTO ledgers SELECT g, g FROM generate_series(1, 5) g;
        CREATE TABLE accounts_tree (id integer PRIMARY KEY, parent_id integer REFERENCES accounts_tree (id));
        INSERT INTO accounts_tree SELECT g, CASE WHEN g > 1 THEN g - 1 END FROM generate_series(1, 5) g;
      `);
    });
  });

  after(async () => {
    await db?.drop();
  });

  const refusesUnchanged = (fn: (c: Client) => Promise<unknown>) => refusesUnchangedIn(db.url, fn);

  const keep = (spec: Spec): Spec => ({ referencingColumns: "keep", ...spec });
  const check = (spec: Spec) => (c: Client) => preflight(c, specOf(keep(spec)));
  const plan = (spec: Spec) => withClient(db.url, (c) => planMigrationWith(c, specOf(keep(spec))));

  describe("refused before any DDL when the moved foreign key could not be added again", function () {
    const hexToUuid: Spec = { table: "hex_parents", column: "id", toType: "uuid", reverseUsing: HEX_BACK("id"), referencingColumns: "keep" };

    it("varchar(32) -> uuid on a key another table's varchar(32) column references", async () => {
      const err = await refusesUnchanged(check(hexToUuid));
      assert.ok(err instanceof IncompatibleForeignKeyError, String(err));
      assert.equal(err.keys.length, 1);
      assert.equal(err.keys[0].table, `"public"."hex_children"`);
      assert.equal(err.keys[0].name, `"hex_children_parent_id_fkey"`);
      assert.deepEqual(err.keys[0].pairs, [`"parent_id" character varying(32) -> "id" uuid`]);
      assert.match(err.keys[0].detail, /cannot be implemented/);
      assert.match(err.message, /^"public"\."hex_parents"\."id" cannot become uuid: a foreign key references it from a column of another type/);
      assert.match(err.message, /foreign key "hex_children_parent_id_fkey" on "public"\."hex_children": "parent_id" character varying\(32\) -> "id" uuid: /);
      assert.match(err.message, /leave referencingColumns out \(default "change"\), so that every referencing column becomes uuid together with the key in one cutover/);
      assert.match(err.message, /Nothing was changed\.$/);
    });

    it("the same through planning (pulumi preview) and through the provider's first step of expand", async () => {
      const viaPlan = await refusesUnchanged(() => plan(hexToUuid));
      assert.ok(viaPlan instanceof IncompatibleForeignKeyError, String(viaPlan));
      const viaCreate = await refusesUnchanged(() => createStep(db.url, "shadow-column", specOf(hexToUuid)));
      assert.ok(viaCreate instanceof IncompatibleForeignKeyError, String(viaCreate));
    });

    it("the probe agrees with PostgreSQL: a plain ALTER COLUMN ... TYPE uuid fails on the same foreign key", async () => {
      await withClient(db.url, async (c) => {
        await c.query("BEGIN");
        try {
          await assert.rejects(c.query(`ALTER TABLE hex_parents ALTER COLUMN id TYPE uuid USING id::uuid`), /hex_children_parent_id_fkey" cannot be implemented/);
        } finally {
          await c.query("ROLLBACK");
        }
      });
    });

    it("a self-referencing parent_id: its own table's foreign key", async () => {
      const err = await refusesUnchanged(check({ table: "nodes", column: "id", toType: "uuid", reverseUsing: HEX_BACK("id") }));
      assert.ok(err instanceof IncompatibleForeignKeyError, String(err));
      assert.deepEqual(
        err.keys.map((k) => [k.table, k.name, k.pairs]),
        [[`"public"."nodes"`, `"nodes_parent_id_fkey"`, [`"parent_id" character varying(32) -> "id" uuid`]]],
      );
    });

    it("a composite foreign key that contains the column: every pair is named, the unchanged one with its type", async () => {
      const err = await refusesUnchanged(check({ table: "tenant_items", column: "code", toType: "uuid", reverseUsing: HEX_BACK("code") }));
      assert.ok(err instanceof IncompatibleForeignKeyError, String(err));
      assert.deepEqual(
        err.keys.map((k) => [k.table, k.name, k.pairs]),
        [[`"public"."tenant_uses"`, `"tenant_uses_tenant_id_item_code_fkey"`, [`"tenant_id" integer -> "tenant_id" integer`, `"item_code" character varying(32) -> "code" uuid`]]],
      );
    });
  });

  describe("a foreign key that stays valid", function () {
    it("int -> bigint on a referenced serial id passes, and the plan warns about the integer child only", async () => {
      await withClient(db.url, check({ table: "accounts", column: "id", toType: "bigint" }));
      const p = await plan({ table: "accounts", column: "id", toType: "bigint" });
      assert.deepEqual(p.warnings, [
        `"public"."entries"."account_id" stays integer while "public"."accounts"."id", which it references (foreign key "entries_account_id_fkey"), becomes bigint: ` +
          `integer holds a smaller range than bigint, so rows of "public"."entries" can only reference keys that fit integer. ` +
          `Change "public"."entries"."account_id" to bigint too (its own ColumnTypeChange).`,
      ]);
      // the plan still moves every foreign key (the bigint one without a warning)
      assert.ok(p.statements.cutover.some((s) => s.includes(`ALTER TABLE public.entries ADD CONSTRAINT "entries_account_id_fkey" FOREIGN KEY (account_id) REFERENCES public.accounts(id) NOT VALID`)), p.statements.cutover.join("\n"));
      assert.ok(p.statements.cutover.some((s) => s.includes(`ALTER TABLE public.ledgers ADD CONSTRAINT "ledgers_account_id_fkey"`)));
    });

    it("a self-referencing integer parent_id: the column itself becomes bigint, parent_id keeps integer's ceiling", async () => {
      const p = await plan({ table: "accounts_tree", column: "id", toType: "bigint" });
      assert.equal(p.warnings.length, 1);
      assert.match(p.warnings[0], /^"public"\."accounts_tree"\."parent_id" stays integer while "public"\."accounts_tree"\."id", which it references \(foreign key "accounts_tree_parent_id_fkey"\), becomes bigint/);
    });

    it("no referencing foreign key, no warning", async () => {
      const p = await plan({ table: "entries", column: "account_id", toType: "bigint" });
      assert.deepEqual(p.warnings, []);
    });
  });
});
