// "Never damage a real schema": pgshift beside the application's own triggers and rules, and
// beside other migrations on the same table. Each case failed on the code before the fix
// (the backfill fired the table's triggers; a second migration adopted the first one's index
// copy; names were matched by substring; function names collided across tables; an audit
// trigger kept watching the old column; full removal left the state table behind).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { BackfillWouldFireError, NameTakenError, OverlappingMigrationError, OwnedElsewhereError } from "../../src/errors";
import { planMigrationWith } from "../../src/planning/planMigration";
import { create, remove } from "../../src/provider";
import type { ChildKind } from "../../src/provider/inputs";
import { parseSpec, withoutStage, type ColumnChangeInput } from "../../src/spec";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { EXPAND_KINDS } from "./support/expand";

type Change = Omit<ColumnChangeInput, "stage">;

describe("never damage a real schema (real PostgreSQL)", function () {
  let db: TestDatabase;
  const q = <T extends object = Record<string, unknown>>(sql: string, url = db.url) => withClient(url, async (c) => (await c.query<T>(sql)).rows);

  const inputs = (kind: ChildKind, change: Change, owner?: string, url = db.url) => ({
    kind,
    connection: { connectionString: url },
    spec: withoutStage(parseSpec({ ...change, stage: "expand" })),
    statements: [],
    ...(owner ? { owner } : {}),
  });
  const run = async (kinds: ChildKind[], change: Change, owner?: string, url = db.url) => {
    for (const kind of kinds) await create(inputs(kind, change, owner, url));
  };
  /** Removes the children in reverse order, as `pulumi destroy` does. */
  const unwind = async (kinds: ChildKind[], change: Change, owner?: string) => {
    for (const kind of [...kinds].reverse()) await remove("x", { ...inputs(kind, change, owner), result: {} });
  };
  const LIFECYCLE: ChildKind[] = [...EXPAND_KINDS, "cutover", "contract"];

  /** Asserts `fn` is refused with `type` and a message matching `pattern`, and the database is unchanged. */
  async function refusedUnchanged(fn: () => Promise<unknown>, type: new (...a: never[]) => Error, pattern: RegExp): Promise<void> {
    const before = await withClient(db.url, fingerprint);
    await assert.rejects(fn, (err: Error) => {
      assert.ok(err instanceof type, `${err.name}: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    });
    assert.deepEqual(await withClient(db.url, fingerprint), before);
  }

  beforeEach(async () => {
    db = await createTestDatabase("real_schema");
  });
  afterEach(async () => {
    await db?.drop();
  });

  describe("the application's triggers and the backfill", () => {
    it("an updated_at trigger and a value-rewriting trigger do not fire for the backfill; cutover then succeeds", async () => {
      await q(`
        CREATE TABLE t (id int PRIMARY KEY, n int, updated_at timestamptz NOT NULL DEFAULT '2020-01-01');
        INSERT INTO t (id, n) SELECT g, g FROM generate_series(1, 500) g;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
        CREATE FUNCTION double_n() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := NEW.n * 2; RETURN NEW; END $$;
        CREATE TRIGGER a_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE TRIGGER b_double BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION double_n();
        CREATE TABLE audit (n int);
        CREATE RULE log_updates AS ON UPDATE TO t DO ALSO INSERT INTO audit VALUES (NEW.id);`);
      const change = { table: "t", column: "n", toType: "bigint" };
      await run([...EXPAND_KINDS, "cutover"], change);
      const [r] = await q<{ bumped: string; changed: string; audited: string; typ: string }>(
        `SELECT count(*) FILTER (WHERE updated_at <> '2020-01-01')::text AS bumped, count(*) FILTER (WHERE n <> id)::text AS changed,
                (SELECT count(*) FROM audit)::text AS audited, pg_typeof(min(n))::text AS typ FROM t`,
      );
      assert.deepEqual(r, { bumped: "0", changed: "0", audited: "0", typ: "bigint" });
      // the application's own writes still fire them
      await q(`UPDATE t SET n = 5 WHERE id = 1`);
      assert.deepEqual(await q(`SELECT n::int, updated_at > '2020-01-01' AS touched FROM t WHERE id = 1`), [{ n: 10, touched: true }]);
    });

    it("is refused, naming each trigger and the way forward, when the role may not pause them", async () => {
      const role = `owner_${randomBytes(4).toString("hex")}`;
      await q(`
        CREATE ROLE ${role} LOGIN PASSWORD 'pw';
        GRANT CREATE, USAGE ON SCHEMA public TO ${role};
        CREATE TABLE t (id int PRIMARY KEY, n int, updated_at timestamptz);
        INSERT INTO t (id, n) SELECT g, g FROM generate_series(1, 50) g;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
        CREATE TRIGGER touch_t BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE t OWNER TO ${role};`);
      const url = new URL(db.url);
      url.username = role;
      url.password = "pw";
      await refusedUnchanged(
        () => run(EXPAND_KINDS, { table: "t", column: "n", toType: "bigint" }, undefined, url.toString()),
        BackfillWouldFireError,
        new RegExp(`would fire trigger "touch_t" .* role ${role} may not set it\\. Grant it .*GRANT SET ON PARAMETER session_replication_role TO "${role}"`),
      );
      await q(`DROP TABLE t; DROP FUNCTION touch(); REVOKE ALL ON SCHEMA public FROM ${role}; DROP ROLE ${role}`);
    });

    it("refuses a trigger that fires even under session_replication_role = replica (ENABLE ALWAYS)", async () => {
      await q(`
        CREATE TABLE t (id int PRIMARY KEY, n int, updated_at timestamptz);
        INSERT INTO t (id, n) SELECT g, g FROM generate_series(1, 50) g;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
        CREATE TRIGGER touch_t BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE t ENABLE ALWAYS TRIGGER touch_t;`);
      await refusedUnchanged(() => run(EXPAND_KINDS, { table: "t", column: "n", toType: "bigint" }), BackfillWouldFireError, /trigger "touch_t" \(ENABLE ALWAYS\)/);
    });

    it("an audit trigger bound to the column (UPDATE OF n ... WHEN) watches the new column after cutover and the old one after rollback; contract succeeds", async () => {
      await q(`
        CREATE TABLE t (id int PRIMARY KEY, n int);
        INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;
        CREATE TABLE audit (id int, old_n bigint, new_n bigint);
        CREATE FUNCTION audit_n() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.id, OLD.n, NEW.n); RETURN NEW; END $$;
        CREATE TRIGGER audit_n AFTER UPDATE OF n ON t FOR EACH ROW WHEN (OLD.n IS DISTINCT FROM NEW.n) EXECUTE FUNCTION audit_n();
        ALTER TABLE t ENABLE REPLICA TRIGGER audit_n;
        ALTER TABLE t ENABLE ALWAYS TRIGGER audit_n;`);
      const change = { table: "t", column: "n", toType: "bigint" };
      await run([...EXPAND_KINDS, "cutover"], change);
      await q(`UPDATE t SET n = 100001 WHERE id = 1`);
      assert.deepEqual(await q(`SELECT id, old_n::text, new_n::text FROM audit`), [{ id: 1, old_n: "1", new_n: "100001" }]);
      // back to expand: the trigger watches the integer column again
      await remove("x", { ...inputs("cutover", change), result: {} });
      assert.deepEqual(await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'n'`), [{ t: "integer" }]);
      await q(`UPDATE t SET n = 8 WHERE id = 2`);
      assert.deepEqual(await q(`SELECT id, old_n::text, new_n::text FROM audit WHERE id = 2`), [{ id: 2, old_n: "2", new_n: "8" }]);
      await run(["cutover", "contract"], change);
      await q(`UPDATE t SET n = 9 WHERE id = 3`);
      assert.deepEqual(await q(`SELECT id, new_n::text FROM audit WHERE id = 3`), [{ id: 3, new_n: "9" }]);
      const [trg] = await q<{ def: string; enabled: string }>(`SELECT pg_get_triggerdef(oid) AS def, tgenabled::text AS enabled FROM pg_trigger WHERE tgname = 'audit_n'`);
      assert.match(trg.def, /AFTER UPDATE OF n ON public\.t FOR EACH ROW WHEN \(\(old\.n IS DISTINCT FROM new\.n\)\)/);
      assert.equal(trg.enabled, "A");
    });
  });

  describe("pgshift recognises only what it created", () => {
    it("refuses a shadow column name the user already has, and changes nothing", async () => {
      await q(`CREATE TABLE t (id int PRIMARY KEY, n int, n__pgshift_new bigint); INSERT INTO t SELECT g, g, 42 FROM generate_series(1, 20) g`);
      await refusedUnchanged(() => run(EXPAND_KINDS, { table: "t", column: "n", toType: "bigint" }), NameTakenError, /pgshift would create column "n__pgshift_new" for "public"\."t", but that name is already taken/);
    });

    it("copies a user index and CHECK whose names contain __pgshift, and they survive contract", async () => {
      await q(`
        CREATE TABLE t (id int PRIMARY KEY, n int);
        INSERT INTO t SELECT g, g FROM generate_series(1, 200) g;
        CREATE INDEX n_idx__pgshift_keep ON t (n);
        ALTER TABLE t ADD CONSTRAINT n_pos__pgshift CHECK (n > 0);`);
      await run(LIFECYCLE, { table: "t", column: "n", toType: "bigint" });
      assert.deepEqual(await q(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 't' AND indexname = 'n_idx__pgshift_keep'`), [
        { indexname: "n_idx__pgshift_keep", indexdef: "CREATE INDEX n_idx__pgshift_keep ON public.t USING btree (n)" },
      ]);
      assert.deepEqual(await q(`SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c'`), [
        { conname: "n_pos__pgshift", def: "CHECK ((n > 0))" },
      ]);
      await assert.rejects(q(`INSERT INTO t VALUES (1000, -1)`), /n_pos__pgshift/);
    });

    it("function names of order_item.id and \"order\".item_id do not collide: both tables keep accepting writes", async () => {
      await q(`
        CREATE TABLE order_item (id int PRIMARY KEY, qty int); INSERT INTO order_item SELECT g, g FROM generate_series(1, 50) g;
        CREATE TABLE "order" (id int PRIMARY KEY, item_id int); INSERT INTO "order" SELECT g, g FROM generate_series(1, 50) g;`);
      await run(EXPAND_KINDS, { table: "order_item", column: "id", toType: "bigint" });
      await run(EXPAND_KINDS, { table: '"order"', column: "item_id", toType: "bigint" });
      await q(`INSERT INTO order_item VALUES (51, 1); UPDATE order_item SET id = 52 WHERE id = 51; INSERT INTO "order" VALUES (51, 7)`);
      assert.deepEqual(await q(`SELECT id__pgshift_new::int AS s FROM order_item WHERE id = 52`), [{ s: 52 }]);
      assert.deepEqual(await q(`SELECT item_id__pgshift_new::int AS s FROM "order" WHERE id = 51`), [{ s: 7 }]);
      // removing the first leaves the second working
      await unwind(EXPAND_KINDS, { table: "order_item", column: "id", toType: "bigint" });
      await q(`INSERT INTO "order" VALUES (52, 8)`);
      assert.deepEqual(await q(`SELECT item_id__pgshift_new::int AS s FROM "order" WHERE id = 52`), [{ s: 8 }]);
    });
  });

  describe("two migrations on one table", () => {
    it("the second is refused when one index covers both columns; nothing is adopted or changed", async () => {
      await q(`CREATE TABLE t (id int PRIMARY KEY, a int, b int); CREATE UNIQUE INDEX ba_uniq ON t (b, a); INSERT INTO t SELECT g, g, g FROM generate_series(1, 100) g`);
      await run(EXPAND_KINDS, { table: "t", column: "a", toType: "bigint" });
      await refusedUnchanged(
        () => run(EXPAND_KINDS, { table: "t", column: "b", toType: "bigint" }),
        OverlappingMigrationError,
        /"ba_uniq" on "public"\."t" covers both "b" and "a", whose migration public\.t\.a is at stage "expand".*take public\.t\.a to "contract"/,
      );
      // after a's contract, b can go all the way, and the unique index is still there and unique
      await run(["cutover", "contract"], { table: "t", column: "a", toType: "bigint" });
      await run(LIFECYCLE, { table: "t", column: "b", toType: "bigint" });
      assert.deepEqual(await q(`SELECT indexdef FROM pg_indexes WHERE tablename = 't' ORDER BY 1`), [
        { indexdef: "CREATE UNIQUE INDEX ba_uniq ON public.t USING btree (b, a)" },
        { indexdef: "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)" },
      ]);
      await assert.rejects(q(`INSERT INTO t VALUES (1000, 1, 1)`), /ba_uniq/);
    });

    it("migrations of two columns with separate indexes each see the table without the other's objects", async () => {
      await q(`CREATE TABLE t (id int PRIMARY KEY, a int, b int); CREATE INDEX a_idx ON t (a); CREATE INDEX b_idx ON t (b); INSERT INTO t SELECT g, g, g FROM generate_series(1, 100) g`);
      await run(EXPAND_KINDS, { table: "t", column: "a", toType: "bigint" });
      await run(EXPAND_KINDS, { table: "t", column: "b", toType: "bigint" });
      const [facts] = await q<{ f: { table: { columns: { name: string }[]; indexes: { name: string }[] } } }>(`SELECT facts AS f FROM pgshift_migrations WHERE id = 'public.t.b'`);
      assert.deepEqual(facts.f.table.columns.map((c) => c.name), ["id", "a", "b"]);
      assert.deepEqual(facts.f.table.indexes.map((i) => i.name), ["a_idx", "b_idx", "t_pkey"]);
      await run(["cutover", "contract"], { table: "t", column: "a", toType: "bigint" });
      await run(["cutover", "contract"], { table: "t", column: "b", toType: "bigint" });
      assert.deepEqual(await q(`SELECT indexdef FROM pg_indexes WHERE tablename = 't' ORDER BY 1`), [
        { indexdef: "CREATE INDEX a_idx ON public.t USING btree (a)" },
        { indexdef: "CREATE INDEX b_idx ON public.t USING btree (b)" },
        { indexdef: "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)" },
      ]);
    });
  });

  describe("ownership", () => {
    it("a second owner is refused at planning and by every child; its removal leaves the first owner's migration alone", async () => {
      await q(`CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t SELECT g, g FROM generate_series(1, 100) g`);
      const change = { table: "t", column: "n", toType: "bigint" };
      await run(EXPAND_KINDS, change, "org/proj/first/n");
      const spec = parseSpec({ ...change, stage: "expand" });
      await refusedUnchanged(
        () => withClient(db.url, (c: Client) => planMigrationWith(c, spec, "org/proj/second/n")),
        OwnedElsewhereError,
        /public\.t\.n is run by org\/proj\/first\/n; org\/proj\/second\/n cannot take it over/,
      );
      await refusedUnchanged(() => run(EXPAND_KINDS, change, "org/proj/second/n"), OwnedElsewhereError, /is run by org\/proj\/first\/n/);
      const before = await withClient(db.url, fingerprint);
      await unwind(EXPAND_KINDS, change, "org/proj/second/n");
      assert.deepEqual(await withClient(db.url, fingerprint), before);
      await run(["cutover"], change, "org/proj/first/n");
    });
  });

  it("removing the only migration drops the state table too: the schema ends exactly as before", async () => {
    await q(`CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t SELECT g, g FROM generate_series(1, 100) g`);
    const before = await withClient(db.url, fingerprint);
    const change = { table: "t", column: "n", toType: "bigint" };
    await run(EXPAND_KINDS, change);
    await unwind(EXPAND_KINDS, change);
    assert.deepEqual(await withClient(db.url, fingerprint), before);
  });
});
