import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, type Stage } from "../../index";
import { describeTableSchema } from "../support/catalog";
import { normalizeColumnOrder, tableData } from "../support/differential";
import { FAMILY_SCENARIOS, memberTypes, ORPHANS } from "../support/families";
import { startFamilyWriter, startOrphanWatch } from "../support/familyWriter";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

/**
 * Key families (issue #9) through the real `pulumi up`: Studio's contentnode.id varchar(32) ->
 * uuid, orders.id serial -> bigint, a three-level chain and a composite foreign key
 * (test/support/families.ts), each written as ONE ColumnTypeChange of the key, go
 * expand -> cutover -> expand -> cutover -> contract; every referencing column changes with
 * its key.
 */
function program(url: string) {
  return async () => {
    const stage = new pulumi.Config().require("stage") as Stage;
    for (const s of FAMILY_SCENARIOS) {
      new ColumnTypeChange(s.name, {
        table: s.table,
        column: s.column,
        toType: s.toType,
        ...(s.using ? { using: s.using } : {}),
        ...(s.reverseUsing ? { reverseUsing: s.reverseUsing } : {}),
        stage,
        connection: pulumi.secret(url),
      });
    }
  };
}

async function up(stack: Stack, stage: Stage): Promise<string> {
  await stack.setConfig("stage", { value: stage });
  const out = collectOutput();
  const result = await stack.up({ onOutput: out.onOutput });
  assert.equal(result.summary.result, "succeeded", out.text());
  return out.text();
}

const STAGES: Stage[] = ["expand", "cutover", "expand", "cutover", "contract"];

describe("key families through pulumi up: the key and every column that references it", function () {
  describe("differential: the same schema and data as the plain-SQL reference on a twin", function () {
    let shifted: TestDatabase;
    let reference: TestDatabase;
    let stack: Stack;

    before(async () => {
      shifted = await createTestDatabase("family_e2e");
      reference = await createTestDatabase("family_e2e_ref");
      for (const s of FAMILY_SCENARIOS) {
        await withClient(shifted.url, (c) => c.query(s.setup));
        await withClient(reference.url, async (c) => {
          await c.query(s.setup);
          await c.query(s.reference);
        });
      }
      stack = await createStack({ projectName: "pgshift-key-family", program: program(shifted.url) });
    });

    after(async () => {
      await shifted?.drop();
      await reference?.drop();
    });

    it("preview of the family shows each member, and logs the family", async () => {
      await stack.setConfig("stage", { value: "expand" });
      const out = collectOutput();
      await stack.preview({ onOutput: out.onOutput });
      for (const s of FAMILY_SCENARIOS) {
        assert.match(out.text(), new RegExp(`${s.members[0].replace(/\./g, "\\.")} changes type with its key family: `), out.text());
        for (const m of s.members.slice(1)) assert.ok(out.text().includes(m), `${m} not in the preview output`);
      }
    });

    it("expand, cutover, back to expand, cutover, contract: then schema and data equal the reference", async () => {
      const original = await Promise.all(FAMILY_SCENARIOS.map((s) => memberTypes(shifted.url, s)));
      for (const [i, stage] of STAGES.entries()) {
        await up(stack, stage);
        for (const [k, s] of FAMILY_SCENARIOS.entries()) {
          const types = await memberTypes(shifted.url, s);
          assert.deepEqual(types, stage === "expand" ? original[k] : await memberTypes(reference.url, s), `${s.name} after ${stage} (#${i + 1})`);
          assert.equal(Number((await withClient(shifted.url, (c) => c.query(ORPHANS[s.name]))).rows[0].n), 0);
        }
      }
      for (const s of FAMILY_SCENARIOS) {
        for (const t of s.tables) {
          assert.equal(normalizeColumnOrder(await describeTableSchema(shifted.url, t.name)), normalizeColumnOrder(await describeTableSchema(reference.url, t.name)), t.name);
          assert.deepEqual(await tableData(shifted.url, t.name, t.orderBy), await tableData(reference.url, t.name, t.orderBy), t.name);
        }
      }
    });
  });

  describe("under an application that writes parents and children and moves keys", function () {
    let db: TestDatabase;
    let stack: Stack;

    before(async () => {
      db = await createTestDatabase("family_writer");
      for (const s of FAMILY_SCENARIOS) await withClient(db.url, (c) => c.query(s.setup));
      stack = await createStack({ projectName: "pgshift-key-family-writer", program: program(db.url) });
    });

    after(async () => db?.drop());

    it("zero failed statements, every write preserved, no orphan at any moment", async () => {
      const writer = startFamilyWriter(db.url);
      const watch = startOrphanWatch(db.url);
      try {
        for (const stage of STAGES) await up(stack, stage);
      } finally {
        const stats = await writer.stop();
        const orphans = await watch.stop();
        process.stdout.write(
          `      app: ${stats.transactions} transactions (an order, two children, a node, a file, a tag each), ${stats.failures.length} failed, longest ${stats.maxLatencyMs} ms; ` +
            `orphan checks: ${orphans.checks}, most orphans seen ${orphans.max}\n`,
        );
        assert.deepEqual(stats.failures, [], "the application saw failed statements");
        assert.ok(stats.transactions > 20, `the application barely ran (${stats.transactions} transactions)`);
        assert.deepEqual(orphans.errors, []);
        assert.equal(orphans.max, 0, "a child referenced a missing parent");
        assert.ok(orphans.checks > 20);
        await withClient(db.url, async (c) => {
          for (const [row, key] of stats.ledger) {
            const [table, id] = row.split(" ");
            const column = table === "file" ? "contentnode_id" : "order_id";
            const { rows } = await c.query(`SELECT ${column}::text AS k FROM ${table} WHERE id = $1`, [id]);
            // (a uuid prints with dashes; the writer wrote the 32 hex digits)
            assert.equal(rows[0]?.k?.replace(/-/g, ""), key, `${row}`);
          }
          for (const p of stats.parents) {
            const [table, key] = p.split(" ");
            const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${table} WHERE id::text = $1`, [table === "contentnode" ? key.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5") : key]);
            assert.equal(rows[0].n, 1, p);
          }
        });
      }
      for (const s of FAMILY_SCENARIOS) assert.deepEqual(await memberTypes(db.url, s), s.members.map((m) => `${m} ${s.toType}`));
    });
  });
});
