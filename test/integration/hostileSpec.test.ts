// "Never damage a real schema": names and expressions written to break pgshift's generated
// SQL. A hostile table name must simply work; a hostile expression must be refused before any
// DDL, with the database exactly as it was (fingerprint before == after).
import assert from "node:assert/strict";
import { InvalidSpecError } from "../../src/errors";
import { check } from "../../src/provider";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { createStep, expand, namesOf, pgshiftLeftovers, NO_LEFTOVERS, shadowMismatches, specOf, stepInputs } from "./support/expand";

describe("hostile specs (real PostgreSQL)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("hostile_spec");
    await withClient(db.url, (c) =>
      c.query(`
        CREATE TABLE "we$pgshift$ird" (id integer PRIMARY KEY, n integer);
        CREATE INDEX "we$pgshift$ird_n_idx" ON "we$pgshift$ird" (n);
        INSERT INTO "we$pgshift$ird" SELECT g, g * 3 FROM generate_series(1, 300) g;
        CREATE TABLE victim (id integer PRIMARY KEY, v integer);
        INSERT INTO victim SELECT g, g FROM generate_series(1, 50) g;
      `),
    );
  });

  after(async () => {
    await db?.drop();
  });

  it('a table named "we$pgshift$ird" goes through expand: shadow filled, trigger mirrors writes', async () => {
    const spec = specOf({ table: '"we$pgshift$ird"', column: "n", toType: "bigint", backfill: { batchSize: 100 } });
    await expand(db.url, spec);
    const shadow = namesOf("we$pgshift$ird", "n").shadowColumn;
    await withClient(db.url, async (c) => {
      await c.query(`INSERT INTO "we$pgshift$ird" VALUES (1000, 7)`);
      await c.query(`UPDATE "we$pgshift$ird" SET n = n + 1 WHERE id <= 10`);
      assert.deepEqual(await shadowMismatches(c, '"we$pgshift$ird"', shadow, "n::bigint"), []);
      const { rows } = await c.query<{ count: number }>(`SELECT count(*)::int AS count FROM "we$pgshift$ird" WHERE ${c.escapeIdentifier(shadow)} IS NOT NULL`);
      assert.equal(rows[0].count, 301);
    });
  });

  // valid for the old regex (the quote in the comment opened a fake literal that hid the ';'),
  // and, in the old one-line body, three statements: SELECT (v::bigint); DROP TABLE victim; SELECT ...
  const HIDDEN = "v::bigint) -- '\n; DROP TABLE victim; SELECT (v::bigint + length('')";

  it("refuses a using with a comment-hidden second statement, in check and in create, before any DDL", async () => {
    const before = await withClient(db.url, fingerprint);
    // a spec that bypassed validation (a JS caller, or a state written by an older pgshift)
    const spec = { ...specOf({ table: "victim", column: "v", toType: "bigint" }), using: HIDDEN };
    const checked = await check({}, stepInputs(db.url, "shadow-column", spec));
    assert.deepEqual(checked.failures, [{ property: "spec", reason: 'using must be a single SQL expression (no ";")' }]);
    await assert.rejects(createStep(db.url, "shadow-column", spec), (e: Error) => {
      assert.ok(e instanceof InvalidSpecError, String(e));
      assert.equal(e.message, 'using must be a single SQL expression (no ";")');
      return true;
    });
    assert.deepEqual(await withClient(db.url, fingerprint), before);
    await withClient(db.url, async (c) => {
      const left = await pgshiftLeftovers(c);
      // the expand test above leaves its own objects on "we$pgshift$ird"; none may be on victim
      assert.deepEqual(
        Object.fromEntries(Object.entries(left).map(([k, v]) => [k, (v as string[]).filter((x) => x.includes("victim"))])),
        NO_LEFTOVERS,
      );
    });
  });
});
