// Reliability item 6: least privilege. A role that owns the table and may CREATE in its schema
// (no superuser, no CREATE on the database) runs the whole lifecycle through the handlers; an
// application role with only SELECT/INSERT/UPDATE on the table keeps writing through cutover,
// including a value the old type cannot hold (the reverse trigger's SECURITY DEFINER function
// records it in the state table, on which the application has no rights); a role lacking a
// needed right is refused with a message naming the right and the object, nothing changed.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { PgShiftError } from "../../src/errors";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { createStep, EXPAND_KINDS, expand, migrationRow, namesOf, shadowMismatches, specOf } from "./support/expand";

const suffix = randomBytes(3).toString("hex");
const OWNER = `lp_owner_${suffix}`;
const APP = `lp_app_${suffix}`;
const STRANGER = `lp_stranger_${suffix}`;
const NOCREATE = `lp_nocreate_${suffix}`;
const ROLES = [OWNER, APP, STRANGER, NOCREATE];

describe("least privilege (real PostgreSQL)", function () {
  let db: TestDatabase;
  const q = <T extends object = Record<string, unknown>>(sql: string, url = db.url) => withClient(url, async (c) => (await c.query<T>(sql)).rows);
  const as = (role: string) => {
    const u = new URL(db.url);
    u.username = role;
    u.password = "pw";
    return u.toString();
  };

  before(async () => {
    db = await createTestDatabase("least_privilege");
    await q(`
      ${ROLES.map((r) => `CREATE ROLE ${r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'pw';`).join("\n")}
      REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      REVOKE CREATE ON DATABASE ${db.name} FROM PUBLIC;
      GRANT CREATE, USAGE ON SCHEMA public TO ${OWNER}, ${STRANGER};
      GRANT USAGE ON SCHEMA public TO ${APP}, ${NOCREATE};
      CREATE TABLE t (id serial PRIMARY KEY, n int NOT NULL, note text);
      CREATE INDEX t_n_idx ON t (n);
      INSERT INTO t (n, note) SELECT g, 'r' || g FROM generate_series(1, 3000) g;
      ALTER TABLE t OWNER TO ${OWNER};
      GRANT SELECT, INSERT, UPDATE ON t TO ${APP};
      GRANT USAGE ON SEQUENCE t_id_seq TO ${APP};
      CREATE TABLE u (id int PRIMARY KEY, n int);
      INSERT INTO u SELECT g, g FROM generate_series(1, 100) g;
      ALTER TABLE u OWNER TO ${NOCREATE};`);
    // the setup is what it claims to be
    const [r] = await q<{ su: boolean; createdb: boolean; dbcreate: boolean; schemacreate: boolean }>(
      `SELECT rolsuper AS su, rolcreatedb AS createdb, has_database_privilege('${OWNER}', current_database(), 'CREATE') AS dbcreate,
              has_schema_privilege('${OWNER}', 'public', 'CREATE') AS schemacreate FROM pg_roles WHERE rolname = '${OWNER}'`,
    );
    assert.deepEqual(r, { su: false, createdb: false, dbcreate: false, schemacreate: true });
  });
  after(async () => {
    await db?.drop();
    const server = new URL(db.url);
    server.pathname = "/postgres";
    await withClient(server.toString(), async (c) => {
      for (const r of ROLES) await c.query(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    });
  });

  /** Runs `statements` as the application role, each in its own transaction. */
  async function appWrites(...statements: string[]): Promise<void> {
    const c = new Client({ connectionString: as(APP) });
    await c.connect();
    try {
      for (const sql of statements) await c.query(sql);
    } finally {
      await c.end();
    }
  }

  it("the owner role (CREATE on the schema only) runs expand, cutover and contract; the application role keeps writing throughout", async () => {
    const change = { table: "t", column: "n", toType: "bigint" } as const;
    await expand(as(OWNER), specOf(change), EXPAND_KINDS);
    await appWrites(`INSERT INTO t (n, note) VALUES (42, 'during expand')`, `UPDATE t SET n = 7 WHERE id = 1`);
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "t", namesOf("t", "n").shadowColumn, "n::bigint"), []));
    // the application has no rights on pgshift's state table
    await assert.rejects(appWrites(`SELECT * FROM pgshift_migrations`), /permission denied for table pgshift_migrations/);

    await createStep(as(OWNER), "cutover", specOf({ ...change, stage: "cutover" }));
    await appWrites(`INSERT INTO t (n, note) VALUES (43, 'after cutover')`, `UPDATE t SET n = 8 WHERE id = 2`);
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "t", namesOf("t", "n").oldColumn, "n::int"), []));
    assert.equal((await migrationRow(db.url, "t", "n"))?.reversible, true);
    // a value int cannot hold: the reverse trigger's SECURITY DEFINER function marks the migration irreversible
    await appWrites(`INSERT INTO t (n, note) VALUES (3000000000, 'too big for int')`);
    const row = await migrationRow(db.url, "t", "n");
    assert.equal(row?.reversible, false);
    assert.match(row?.irreversibleReason ?? "", /./);

    await createStep(as(OWNER), "contract", specOf({ ...change, stage: "contract" }));
    await appWrites(`INSERT INTO t (n, note) VALUES (44, 'after contract')`, `UPDATE t SET n = 9 WHERE id = 3`);
    assert.deepEqual(await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'n'`), [{ t: "bigint" }]);
    assert.deepEqual(await q(`SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass AND attname LIKE '%pgshift%' AND NOT attisdropped`), []);
    assert.deepEqual(await q(`SELECT n::text, note FROM t WHERE note IN ('during expand', 'after cutover', 'too big for int', 'after contract') ORDER BY id`), [
      { n: "42", note: "during expand" },
      { n: "43", note: "after cutover" },
      { n: "3000000000", note: "too big for int" },
      { n: "44", note: "after contract" },
    ]);
    assert.deepEqual(await q(`SELECT id, n::int FROM t WHERE id <= 3 ORDER BY id`), [{ id: 1, n: 7 }, { id: 2, n: 8 }, { id: 3, n: 9 }]);
    // the application's grants survived the swap
    assert.deepEqual(
      await q(`SELECT privilege_type AS p FROM information_schema.role_table_grants WHERE grantee = '${APP}' AND table_name = 't' ORDER BY 1`),
      [{ p: "INSERT" }, { p: "SELECT" }, { p: "UPDATE" }],
    );
  });

  async function refusedUnchanged(url: string, table: string, pattern: RegExp): Promise<void> {
    const before = await withClient(db.url, fingerprint);
    await assert.rejects(expand(url, specOf({ table, column: "n", toType: "bigint" })), (err: Error) => {
      assert.ok(err instanceof PgShiftError, `${err.name}: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    });
    assert.deepEqual(await withClient(db.url, fingerprint), before);
  }

  it("a role without rights on the existing state table is refused, naming SELECT and pgshift_migrations; nothing changes", async () => {
    await q(`CREATE TABLE w (id int PRIMARY KEY, n int); INSERT INTO w SELECT g, g FROM generate_series(1, 100) g; ALTER TABLE w OWNER TO ${STRANGER}`);
    await refusedUnchanged(as(STRANGER), "w", new RegExp(`role ${STRANGER} cannot read pgshift's state table "public"\\."pgshift_migrations" \\(it lacks SELECT\\)\\. GRANT SELECT, INSERT, UPDATE, DELETE ON`));
    // the next refusals are about the table and the schema: these roles may use the state table
    await q(`GRANT SELECT, INSERT, UPDATE, DELETE ON pgshift_migrations TO ${STRANGER}, ${NOCREATE}`);
  });

  it("a role that does not own the table is refused, naming the ownership it lacks and the table; nothing changes", async () => {
    await q(`CREATE TABLE v (id int PRIMARY KEY, n int); INSERT INTO v SELECT g, g FROM generate_series(1, 100) g; GRANT SELECT, INSERT, UPDATE, DELETE ON v TO ${STRANGER}`);
    await refusedUnchanged(as(STRANGER), "v", new RegExp(`role ${STRANGER} does not own "public"\\."v"; pgshift needs the owner's rights`));
  });

  it("a table owner without CREATE on the schema is refused, naming CREATE on schema public; nothing changes", async () => {
    await refusedUnchanged(as(NOCREATE), "u", new RegExp(`role ${NOCREATE} lacks CREATE on schema "?public"?.*GRANT CREATE ON SCHEMA "?public"? TO "?${NOCREATE}"?`));
  });
});
