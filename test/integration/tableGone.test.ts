import assert from "node:assert/strict";
import { create, read, remove, type ChildInputs } from "../../src/provider";
import { parseSpec, withoutStage } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";

/** A table dropped after (or during) a migration must not make `pulumi destroy` fail. */
describe("provider: the table is gone", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("table_gone");
    await withClient(db.url, (c) => c.query(`CREATE TABLE doomed (id int PRIMARY KEY, n integer); INSERT INTO doomed SELECT g, g FROM generate_series(1, 100) g`));
  });

  after(async () => {
    await db?.drop();
  });

  it("delete is a no-op and refresh reports the children gone", async () => {
    const inputs = (kind: ChildInputs["kind"]): ChildInputs => ({
      kind,
      connection: { connectionString: db.url },
      spec: withoutStage(parseSpec({ table: "doomed", column: "n", toType: "bigint", stage: "expand" })),
      statements: [],
    });
    const created = await create(inputs("shadow-column"));
    await withClient(db.url, (c) => c.query(`DROP TABLE doomed`));
    await remove(created.id, created.outs);
    assert.deepEqual(await read(created.id, created.outs), {});
  });
});
