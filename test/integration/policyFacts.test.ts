import assert from "node:assert/strict";
import { planMigration } from "../../src/planning/planMigration";
import { create, read, update, type ChildInputs } from "../../src/provider";
import type { ChildKind } from "../../src/provider/inputs";
import { parseSpec, withoutStage, type Stage } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";

/**
 * What the policy pack reads (src/policy/rules.ts), as the real database gives it: the
 * planning's `observed` (recorded stage, resolved table, pg_table_size) and the Cutover's
 * `result.cutoverAt`, which an update and a refresh keep.
 */
describe("the facts the policy pack reads", function () {
  let db: TestDatabase;
  const spec = (stage: Stage) => parseSpec({ table: "Sizes", column: "size", toType: "bigint", stage });
  const inputs = (kind: ChildKind): ChildInputs => ({ kind, connection: { connectionString: db.url }, spec: withoutStage(spec("cutover")), statements: [] });

  before(async () => {
    db = await createTestDatabase("policy_facts");
    await withClient(db.url, (c) =>
      c.query(`CREATE SCHEMA app; CREATE TABLE app.sizes (id int PRIMARY KEY, size integer NOT NULL, pad text); INSERT INTO app.sizes SELECT g, g, repeat('p', 200) FROM generate_series(1, 3000) g`),
    );
  });

  after(async () => {
    await db?.drop();
  });

  const pgTableSize = () => withClient(db.url, async (c) => Number((await c.query(`SELECT pg_table_size('app.sizes')::text AS b`)).rows[0].b));

  it("observed: the table as resolved (search_path), its pg_table_size, and the stage recorded before each update", async () => {
    const conn = { connectionString: `${db.url}${db.url.includes("?") ? "&" : "?"}options=-csearch_path%3Dapp` };
    const fresh = await planMigration(conn, spec("expand"));
    const bytes = await pgTableSize();
    assert.ok(bytes > 3000 * 200, `pg_table_size ${bytes}`);
    assert.deepEqual(fresh.observed, { table: { schema: "app", name: "sizes" }, recordedStage: null, tableBytes: bytes });

    for (const kind of ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes"] as const) await create({ ...inputs(kind), connection: conn });
    const expanded = await planMigration(conn, spec("cutover"));
    assert.equal(expanded.observed.recordedStage, "expand");
    // the backfill wrote every row's shadow: the table grew, and observed says so
    assert.equal(expanded.observed.tableBytes, await pgTableSize());
    assert.ok(expanded.observed.tableBytes > bytes);
  });

  it("the Cutover records when its swap committed; an update and a refresh keep that time", async () => {
    const t0 = Date.now();
    const cut = await create({ ...inputs("cutover"), spec: { ...inputs("cutover").spec, table: "app.sizes" } });
    const at = cut.outs.result.cutoverAt;
    assert.equal(typeof at, "string");
    assert.ok(Date.parse(at as string) >= t0 - 1000 && Date.parse(at as string) <= Date.now(), `cutoverAt ${at}`);

    await new Promise((r) => setTimeout(r, 20));
    const updated = await update(cut.id, cut.outs, { ...cut.outs, statements: ["-- new code"] });
    assert.equal(updated.outs.result.cutoverAt, at);
    const refreshed = await read(cut.id, updated.outs);
    assert.equal(refreshed.props?.result.cutoverAt, at);

    // a Cutover without a recorded time (an older pgshift): a refresh records one, now
    const legacy = await read(cut.id, { ...updated.outs, result: { stage: "cutover", reversible: true } });
    const recorded = Date.parse(String(legacy.props?.result.cutoverAt));
    assert.ok(recorded > Date.parse(at as string), `refresh recorded ${legacy.props?.result.cutoverAt}`);
  });
});
