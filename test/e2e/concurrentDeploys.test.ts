// Reliability item 3: two deploys at once. Two stacks with the same change on the same column,
// their `pulumi up`s started together: exactly one owns the migration, the other is refused
// naming the owner (possibly after waiting on the migration's advisory lock); nothing is
// corrupted (the shadow matches, no INVALID index, one state row); the owner goes on to cutover.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, type Stage } from "../../index";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

describe("two deploys of the same change at once (real pulumi up)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("concurrent_deploys");
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE t (id int PRIMARY KEY, n int); CREATE INDEX t_n_idx ON t (n);
               INSERT INTO t SELECT g, g FROM generate_series(1, 20000) g;`),
    );
  });
  after(async () => {
    await db?.drop();
  });

  async function stackNamed(stackName: string, stage: Stage): Promise<Stack> {
    const stack = await createStack({
      projectName: "pgshift-race",
      stackName,
      program: async () => {
        const cfg = new pulumi.Config();
        new ColumnTypeChange("n", { table: "t", column: "n", toType: "bigint", stage: cfg.require("stage") as Stage, connection: cfg.requireSecret("url") });
      },
    });
    await stack.setAllConfig({ url: { value: db.url, secret: true }, stage: { value: stage } });
    return stack;
  }

  it("exactly one stack owns the migration, the other is refused naming it; nothing is corrupted; the owner reaches cutover", async () => {
    const stacks = { a: await stackNamed("a", "expand"), b: await stackNamed("b", "expand") };
    const outs = { a: collectOutput(), b: collectOutput() };
    const results = await Promise.allSettled([stacks.a.up({ onOutput: outs.a.onOutput }), stacks.b.up({ onOutput: outs.b.onOutput })]);
    const ok = results.map((r) => r.status === "fulfilled" && r.value.summary.result === "succeeded");
    assert.equal(ok.filter(Boolean).length, 1, `both or neither succeeded:\n--- a ---\n${outs.a.text()}\n--- b ---\n${outs.b.text()}`);
    const [owner, loser] = ok[0] ? (["a", "b"] as const) : (["b", "a"] as const);
    const refused = results[ok[0] ? 1 : 0] as PromiseRejectedResult;
    assert.match(
      String(refused.reason?.message ?? refused.reason) + outs[loser].text(),
      new RegExp(`public\\.t\\.n is run by organization/pgshift-race/${owner}/n; organization/pgshift-race/${loser}/n cannot take it over`),
    );

    await withClient(db.url, async (c) => {
      const rows = (await c.query(`SELECT id, owner, stage FROM pgshift_migrations`)).rows;
      assert.deepEqual(rows, [{ id: "public.t.n", owner: `organization/pgshift-race/${owner}/n`, stage: "expand" }]);
      assert.deepEqual((await c.query(`SELECT count(*)::int AS n FROM t WHERE n__pgshift_new IS DISTINCT FROM n::bigint`)).rows, [{ n: 0 }]);
      assert.deepEqual((await c.query(`SELECT indexrelid::regclass::text AS i FROM pg_index WHERE NOT indisvalid`)).rows, []);
      assert.deepEqual(
        (await c.query(`SELECT indexrelid::regclass::text AS i FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1`)).rows.map((r) => r.i),
        ["t_n_idx", "t_n_idx__pgshift", "t_pkey"],
      );
    });

    await stacks[loser].destroy();
    await stacks[owner].setConfig("stage", { value: "cutover" });
    outs[owner].clear();
    assert.equal((await stacks[owner].up({ onOutput: outs[owner].onOutput })).summary.result, "succeeded", outs[owner].text());
    await withClient(db.url, async (c) => {
      assert.deepEqual((await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'n'`)).rows, [{ t: "bigint" }]);
      assert.deepEqual((await c.query(`SELECT stage FROM pgshift_migrations`)).rows, [{ stage: "cutover" }]);
    });
    await stacks[owner].destroy();
  });
});
