import assert from "node:assert/strict";
import { ShadowIncompleteError } from "../../src/errors";
import { create, type ChildInputs } from "../../src/provider";
import type { ChildKind } from "../../src/provider/inputs";
import { parseSpec, withoutStage } from "../../src/spec";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";

/** Cutover verifies the shadow before it swaps anything, and says what is wrong. */
describe("cutover refuses an incomplete shadow", function () {
  let db: TestDatabase;
  const inputs = (kind: ChildKind): ChildInputs => ({
    kind,
    connection: { connectionString: db.url },
    spec: withoutStage(parseSpec({ table: "sizes", column: "size", toType: "bigint", stage: "cutover" })),
    statements: [],
  });

  before(async () => {
    db = await createTestDatabase("cutover_refusal");
    await withClient(db.url, (c) => c.query(`CREATE TABLE sizes (id int PRIMARY KEY, size integer NOT NULL); INSERT INTO sizes SELECT g, g FROM generate_series(1, 1000) g`));
    for (const kind of ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes"] as const) await create(inputs(kind));
  });

  after(async () => {
    await db?.drop();
  });

  it("names the count and sample keys of rows whose shadow differs, and changes nothing", async () => {
    // what a disabled trigger or a manual write would leave behind
    await withClient(db.url, (c) => c.query(`UPDATE sizes SET size__pgshift_new = -1 WHERE id IN (7, 8, 700)`));
    const before = await describeTableSchema(db.url, "sizes");
    await assert.rejects(create(inputs("cutover")), (err: Error) => {
      assert.ok(err instanceof ShadowIncompleteError, String(err));
      assert.match(err.message, /cutover of public\.sizes\.size refused: 3 row\(s\) have a shadow value that differs from the converted column \(keys \(7\), \(8\), \(700\)\)/);
      return true;
    });
    assert.equal(await describeTableSchema(db.url, "sizes"), before);
  });

  it("refuses while an index copy is missing", async () => {
    await withClient(db.url, (c) => c.query(`UPDATE sizes SET size__pgshift_new = size WHERE id IN (7, 8, 700); ALTER TABLE sizes DROP CONSTRAINT size__pgshift_notnull`));
    await assert.rejects(create(inputs("cutover")), /these copies are missing or not valid yet: size__pgshift_notnull/);
  });
});
