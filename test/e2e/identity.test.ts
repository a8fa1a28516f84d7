// A migration's identity through the real engine: the table it resolved to when it started
// (a changed search_path must not retarget it), and the one stack that owns it (a second
// stack running the same change is refused, and destroying it leaves the first one's work).
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, type Stage } from "../../index";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

describe("a migration's identity (real pulumi up)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("identity");
    await withClient(db.url, (c) =>
      c.query(`
        CREATE SCHEMA app;
        CREATE TABLE app.t (id int PRIMARY KEY, n int); INSERT INTO app.t SELECT g, g FROM generate_series(1, 300) g;
        CREATE TABLE public.t (id int PRIMARY KEY, n int); INSERT INTO public.t SELECT g, g FROM generate_series(1, 300) g;
        CREATE TABLE owned (id int PRIMARY KEY, n int); INSERT INTO owned SELECT g, g FROM generate_series(1, 300) g;`),
    );
  });
  after(async () => {
    await db?.drop();
  });

  /** A stack whose program changes `table`.n, with the stage and the connection from stack config. */
  function stackFor(projectName: string, stackName: string, table: string): Promise<Stack> {
    return createStack({
      projectName,
      stackName,
      program: async () => {
        const cfg = new pulumi.Config();
        new ColumnTypeChange("n", { table: cfg.get("table") ?? table, column: "n", toType: "bigint", stage: cfg.require("stage") as Stage, connection: cfg.requireSecret("url") });
      },
    });
  }
  async function configure(stack: Stack, url: string, stage: Stage): Promise<void> {
    await stack.setAllConfig({ url: { value: url, secret: true }, stage: { value: stage } });
  }
  const shadowOf = (table: string) =>
    withClient(db.url, async (c) => (await c.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'n__pgshift_new'`, [table])).rowCount === 1);

  it("a changed search_path does not retarget a started migration: refused at preview, naming the table it started on", async () => {
    const stack = await stackFor("pgshift-identity", "retarget", "t");
    const onApp = `${db.url}?options=${encodeURIComponent("-c search_path=app")}`;
    await configure(stack, onApp, "expand");
    const out = collectOutput();
    const up = await stack.up({ onOutput: out.onOutput });
    assert.equal(up.summary.result, "succeeded", out.text());
    assert.equal(await shadowOf("app.t"), true);
    assert.equal(await shadowOf("public.t"), false);

    // the same program, now with the default search_path and the next stage
    await configure(stack, db.url, "cutover");
    const before = await withClient(db.url, fingerprint);
    out.clear();
    await assert.rejects(stack.preview({ onOutput: out.onOutput }), (err: Error) => {
      assert.match(err.message + out.text(), /started on table "app"\."t", but "t" now resolves to "public"\."t".*write table: "\\"app\\"\.\\"t\\"" \(schema-qualified\)/s);
      return true;
    });
    assert.deepEqual(await withClient(db.url, fingerprint), before, "the refused preview changed the database");

    // following the advice: the qualified name is the same migration (no replacement), and it goes on
    await stack.setConfig("table", { value: '"app"."t"' });
    out.clear();
    const preview = await stack.preview({ onOutput: out.onOutput });
    assert.equal(preview.changeSummary.replace ?? 0, 0, out.text());
    out.clear();
    const cut = await stack.up({ onOutput: out.onOutput });
    assert.equal(cut.summary.result, "succeeded", out.text());
    assert.equal(await shadowOf("public.t"), false, "public.t was touched");
    await stack.destroy();
  });

  it("a second stack running the same change is refused, naming the first; destroying it leaves the first stack's migration", async () => {
    const first = await stackFor("pgshift-owner", "first", "owned");
    await configure(first, db.url, "expand");
    const out = collectOutput();
    assert.equal((await first.up({ onOutput: out.onOutput })).summary.result, "succeeded", out.text());

    const second = await stackFor("pgshift-owner", "second", "owned");
    await configure(second, db.url, "expand");
    const before = await withClient(db.url, fingerprint);
    out.clear();
    await assert.rejects(second.up({ onOutput: out.onOutput }), (err: Error) => {
      assert.match(err.message + out.text(), /public\.owned\.n is run by organization\/pgshift-owner\/first\/n; organization\/pgshift-owner\/second\/n cannot take it over/);
      return true;
    });
    await second.destroy();
    assert.deepEqual(await withClient(db.url, fingerprint), before, "the second stack changed the first one's migration");

    // the first stack goes on undisturbed
    await configure(first, db.url, "cutover");
    out.clear();
    assert.equal((await first.up({ onOutput: out.onOutput })).summary.result, "succeeded", out.text());
    await first.destroy();
  });
});
