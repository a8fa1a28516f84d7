/**
 * The preview's WAL warning against a real server: a table larger than max_wal_size is named
 * with both sizes and a smaller one is not. max_wal_size is a server setting (a reload), so the
 * test lowers it with ALTER SYSTEM to its floor and puts back what was there.
 */
import assert from "node:assert/strict";
import { planMigration } from "../../src/planning/planMigration";
import { parseSpec } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";

const SMALL_MAX_WAL = "32MB"; // 2 WAL segments: the least the server takes

async function setMaxWalSize(url: string, value: string | null): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(value === null ? "ALTER SYSTEM RESET max_wal_size" : `ALTER SYSTEM SET max_wal_size = '${value}'`);
    await c.query("SELECT pg_reload_conf()");
  });
  // the reload reaches new sessions shortly after
  const wanted = value;
  for (let i = 0; i < 100; i++) {
    const now = await withClient(url, async (c) => (await c.query<{ v: string; f: string | null }>(`SELECT current_setting('max_wal_size') AS v, sourcefile AS f FROM pg_settings WHERE name = 'max_wal_size'`)).rows[0]);
    if (wanted === null ? !now.f?.endsWith("postgresql.auto.conf") : now.v === wanted) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`max_wal_size did not become ${value ?? "its configured value"}`);
}

describe("the WAL headroom warning at preview", function () {
  let db: TestDatabase;
  let restore: string | null = null;
  const warningOf = (warnings: string[]) => warnings.find((w) => w.includes("max_wal_size"));
  const input = (table: string, stage: "expand" | "cutover" = "expand") => ({ table, column: "file_size", toType: "bigint", stage });

  before(async () => {
    db = await createTestDatabase("wal_headroom");
    await withClient(db.url, async (c) => {
      const { rows } = await c.query<{ v: string; f: string | null }>(`SELECT current_setting('max_wal_size') AS v, sourcefile AS f FROM pg_settings WHERE name = 'max_wal_size'`);
      // an ALTER SYSTEM value of the server's own is put back as it was; otherwise the setting is reset
      restore = rows[0].f?.endsWith("postgresql.auto.conf") ? rows[0].v : null;
      await c.query(`CREATE TABLE big (id serial PRIMARY KEY, file_size integer, pad text)`);
      await c.query(`INSERT INTO big (file_size, pad) SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g`);
      await c.query(`CREATE TABLE small (id serial PRIMARY KEY, file_size integer)`);
      await c.query(`INSERT INTO small (file_size) SELECT g FROM generate_series(1, 1000) g`);
    });
    await setMaxWalSize(db.url, SMALL_MAX_WAL);
  });
  after(async () => {
    if (db) await setMaxWalSize(db.url, restore);
    await db?.drop();
  });

  it("names a table larger than max_wal_size with both sizes, before any DDL", async () => {
    const bytes = await withClient(db.url, async (c) => Number((await c.query(`SELECT pg_total_relation_size('big') AS b`)).rows[0].b));
    assert.ok(bytes > 32 * 1024 * 1024, `the test table is ${bytes} bytes`);
    const plan = await planMigration({ connectionString: db.url }, parseSpec(input("big")));
    const w = warningOf(plan.warnings);
    assert.ok(w, JSON.stringify(plan.warnings));
    assert.ok(w.startsWith(`public.big.file_size: the table with its indexes (${(bytes / 1e6).toFixed(1)} MB) is larger than max_wal_size (${SMALL_MAX_WAL}): `), w);
    await withClient(db.url, async (c) => assert.equal((await c.query(`SELECT to_regclass('pgshift_migrations') AS t`)).rows[0].t, null));
  });

  it("says nothing of a table that fits", async () => {
    const plan = await planMigration({ connectionString: db.url }, parseSpec(input("small")));
    assert.equal(warningOf(plan.warnings), undefined, JSON.stringify(plan.warnings));
  });
});
