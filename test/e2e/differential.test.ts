import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, WidenColumn, type Stage } from "../../index";
import type { Scenario } from "../support/differential";
import { comparedTables, normalizeColumnOrder, referenceAlter, SCENARIOS, setupSql, tableData } from "../support/differential";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

/** The component a user would write for the scenario. */
function migrate(s: Scenario, stage: Stage, url: string): void {
  const connection = pulumi.secret(url);
  if (s.widen) {
    new WidenColumn(s.name, { table: s.name, column: s.column, stage, connection });
    return;
  }
  new ColumnTypeChange(s.name, {
    table: s.name,
    column: s.column,
    toType: s.toType,
    ...(s.using ? { using: s.using } : {}),
    ...(s.reverseUsing ? { reverseUsing: s.reverseUsing } : {}),
    stage,
    connection,
  });
}

/** One stack for all scenarios, its stage from stack config. */
function everyScenario(url: string) {
  return async () => {
    const stage = new pulumi.Config().require("stage") as Stage;
    for (const s of SCENARIOS) migrate(s, stage, url);
  };
}

/**
 * Differential test against PostgreSQL itself: every scenario's table is built twice; one
 * copy goes expand -> cutover -> contract through the real `pulumi up`, the other gets a
 * plain ALTER TABLE ... ALTER COLUMN ... TYPE. Schema (the catalog description, catalog.ts) and data must match.
 * All scenarios live in one stack so the suite runs three `pulumi up`s, not thirty-six.
 */
describe("differential: pgshift expand -> cutover -> contract equals ALTER COLUMN TYPE", function () {
  let shifted: TestDatabase;
  let reference: TestDatabase;
  let stack: Stack;
  const originalSchema = new Map<string, string>();

  before(async () => {
    shifted = await createTestDatabase("diff_shift");
    reference = await createTestDatabase("diff_ref");
    for (const s of SCENARIOS) {
      await withClient(shifted.url, (c) => c.query(setupSql(s)));
      await withClient(reference.url, async (c) => {
        await c.query(setupSql(s));
        await c.query(referenceAlter(s));
        if (s.referenceExtra) await c.query(s.referenceExtra);
      });
      originalSchema.set(s.name, await describeTableSchema(shifted.url, s.name));
    }
    const program = everyScenario(shifted.url);
    stack = await createStack({ projectName: "pgshift-differential", program });
  });

  after(async () => {
    await shifted?.drop();
    await reference?.drop();
  });

  async function upAt(stage: Stage): Promise<string> {
    await stack.setConfig("stage", { value: stage });
    const out = collectOutput();
    const result = await stack.up({ onOutput: out.onOutput });
    assert.equal(result.summary.result, "succeeded", out.text());
    return out.text();
  }

  it("expand, cutover and contract succeed for every scenario", async function () {
    await upAt("expand");
    await upAt("cutover");
    for (const s of SCENARIOS) {
      // after cutover the column already has the new type and the same data as the reference
      await withClient(shifted.url, async (c) => {
        const { rows } = await c.query(
          `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`,
          [s.name, s.column],
        );
        assert.equal(rows[0].type, (await c.query(`SELECT format_type($1::regtype, NULL)`, [s.toType.replace(/\(.*/, "")])).rows[0].format_type + (s.toType.match(/\(.*\)/)?.[0] ?? ""), s.name);
      });
    }
    await upAt("contract");
  });

  for (const s of SCENARIOS) {
    it(`${s.name}: same schema and data as ALTER COLUMN ... TYPE ${s.toType}`, async () => {
      for (const table of comparedTables(s)) {
        const got = normalizeColumnOrder(await describeTableSchema(shifted.url, table));
        const want = normalizeColumnOrder(await describeTableSchema(reference.url, table));
        assert.equal(got, want, table);
        assert.deepEqual(await tableData(shifted.url, table, s.orderBy), await tableData(reference.url, table, s.orderBy), table);
      }
    });
  }

  it("after contract, removing the components changes nothing in the database", async () => {
    const before = await Promise.all(SCENARIOS.map((s) => describeTableSchema(shifted.url, s.name)));
    const out = collectOutput();
    const destroyed = await stack.destroy({ onOutput: out.onOutput });
    assert.equal(destroyed.summary.result, "succeeded", out.text());
    const after = await Promise.all(SCENARIOS.map((s) => describeTableSchema(shifted.url, s.name)));
    assert.deepEqual(after, before);
  });
});

/**
 * The way back, for the same scenarios: expand -> cutover -> expand (the Cutover child is
 * deleted: rollback) must give back the expand schema exactly, and removing the components
 * then must give back the original table, schema and data.
 */
describe("differential rollback: cutover -> expand -> removed equals the untouched table", function () {
  let shifted: TestDatabase;
  let untouched: TestDatabase;
  let stack: Stack;

  before(async () => {
    shifted = await createTestDatabase("rollback_shift");
    untouched = await createTestDatabase("rollback_ref");
    for (const s of SCENARIOS) {
      await withClient(shifted.url, (c) => c.query(setupSql(s)));
      await withClient(untouched.url, (c) => c.query(setupSql(s)));
    }
    const program = everyScenario(shifted.url);
    stack = await createStack({ projectName: "pgshift-rollback", program });
  });

  after(async () => {
    await shifted?.drop();
    await untouched?.drop();
  });

  it("restores the expand schema after the step back, and the original table after removal", async () => {
    const up = async (stage: Stage) => {
      await stack.setConfig("stage", { value: stage });
      const out = collectOutput();
      const result = await stack.up({ onOutput: out.onOutput });
      assert.equal(result.summary.result, "succeeded", out.text());
    };
    await up("expand");
    const expanded = await Promise.all(SCENARIOS.map((s) => describeTableSchema(shifted.url, s.name)));
    await up("cutover");
    await up("expand");
    const back = await Promise.all(SCENARIOS.map((s) => describeTableSchema(shifted.url, s.name)));
    SCENARIOS.forEach((s, i) => assert.equal(back[i], expanded[i], `${s.name}: the step back did not restore the expand schema`));

    const out = collectOutput();
    const destroyed = await stack.destroy({ onOutput: out.onOutput });
    assert.equal(destroyed.summary.result, "succeeded", out.text());
    for (const s of SCENARIOS) {
      for (const table of comparedTables(s)) {
        assert.equal(await describeTableSchema(shifted.url, table), await describeTableSchema(untouched.url, table), `${table}: schema`);
        assert.deepEqual(await tableData(shifted.url, table, s.orderBy), await tableData(untouched.url, table, s.orderBy), `${table}: data`);
      }
    }
  });
});
