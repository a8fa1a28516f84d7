import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, type Stage } from "../../index";
import { describeTableSchema } from "../support/catalog";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";
import { startWriter } from "../support/writer";

const TABLE = "contentcuration_file";
const ROWS = 50_000;

async function columnType(url: string, column: string): Promise<string | null> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
      [TABLE, column],
    );
    return rows[0]?.t ?? null;
  });
}

describe("the stage flag through every transition, under a concurrent writer", function () {
  let db: TestDatabase;
  let stack: Stack;

  before(async () => {
    db = await createTestDatabase("lifecycle");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (
        id serial PRIMARY KEY,
        checksum text NOT NULL,
        file_size integer NOT NULL DEFAULT 0 CHECK (file_size >= 0))`);
      await c.query(`CREATE INDEX file_checksum_size_idx ON ${TABLE} (checksum, file_size)`);
      await c.query(`INSERT INTO ${TABLE} (checksum, file_size) SELECT md5(g::text), g FROM generate_series(1, $1) g`, [ROWS]);
    });
    const program = async () => {
      const change = new ColumnTypeChange("file-size", {
        table: TABLE,
        column: "file_size",
        toType: "bigint",
        stage: new pulumi.Config().require("stage") as Stage,
        connection: pulumi.secret(db.url),
        backfill: { batchSize: 5000, vacuumEveryRows: Number(new pulumi.Config().get("vacuumEveryRows") ?? 1_000_000) },
      });
      return { reversible: change.reversible, recordedStage: change.recordedStage, irreversibleReason: change.irreversibleReason };
    };
    stack = await createStack({ projectName: "pgshift-lifecycle", program });
  });

  after(async () => {
    await db?.drop();
  });

  async function up(stage: Stage) {
    await stack.setConfig("stage", { value: stage });
    const out = collectOutput();
    const result = await stack.up({ onOutput: out.onOutput });
    assert.equal(result.summary.result, "succeeded", out.text());
    return result;
  }

  async function refusedAtPreview(stage: Stage, message: RegExp): Promise<void> {
    await stack.setConfig("stage", { value: stage });
    const before = await describeTableSchema(db.url, TABLE);
    const out = collectOutput();
    await assert.rejects(stack.preview({ onOutput: out.onOutput }), (err: Error) => {
      assert.match(err.message + out.text(), message);
      return true;
    });
    assert.equal(await describeTableSchema(db.url, TABLE), before, "a refused preview changed the schema");
  }

  it("expand -> cutover -> back to expand -> cutover -> contract: no failed write, every write kept", async () => {
    const original = await describeTableSchema(db.url, TABLE);
    await refusedAtPreview("contract", /cannot go to "contract" from nothing/);
    const writer = startWriter({ url: db.url, table: TABLE, column: "file_size", maxId: ROWS, insertExtras: { checksum: "md5(random()::text)" }, pauseMs: 2 });
    try {
      await up("expand");
      const afterExpand = await describeTableSchema(db.url, TABLE);
      assert.notEqual(afterExpand, original);
      await refusedAtPreview("contract", /cannot go to "contract" from "expand"/);

      const cut = await up("cutover");
      assert.equal(cut.outputs.recordedStage.value, "expand", "outputs are read when the program starts");
      assert.equal(await columnType(db.url, "file_size"), "bigint");
      assert.equal(await columnType(db.url, "file_size__pgshift_old"), "integer");

      // stepping back deletes the Cutover child: the swap is undone, the shadow stays complete
      await up("expand");
      assert.equal(await columnType(db.url, "file_size"), "integer");
      assert.equal(await columnType(db.url, "file_size__pgshift_new"), "bigint");
      assert.equal(await describeTableSchema(db.url, TABLE), afterExpand, "rollback did not restore the expand schema");

      await up("cutover");
      await up("contract");
    } finally {
      await writer.stop();
    }
    const stats = writer.stats;
    assert.deepEqual(stats.failures, [], "the application saw failed statements");
    assert.ok(stats.inserts > 10 && stats.updates > 10, `the writer barely ran (${stats.inserts} inserts, ${stats.updates} updates)`);
    process.stdout.write(`      writer: ${stats.inserts} inserts, ${stats.updates} updates, 0 failed, longest statement ${stats.maxLatencyMs} ms\n`);
    assert.equal(await columnType(db.url, "file_size"), "bigint");
    assert.equal(await columnType(db.url, "file_size__pgshift_old"), null);
    await withClient(db.url, async (c) => {
      for (const [id, value] of stats.ledger) {
        const { rows } = await c.query(`SELECT file_size FROM ${TABLE} WHERE id = $1`, [id]);
        assert.equal(Number(rows[0].file_size), value, `row ${id} lost a write`);
      }
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE}`);
      assert.equal(rows[0].n, ROWS + stats.inserts);
    });
    await refusedAtPreview("cutover", /is contracted/);
    await refusedAtPreview("expand", /is contracted/);
  });

  it("a backfill setting changed at contract (as an upgrade that changes a default does) updates the children and changes nothing in the database", async () => {
    await stack.setConfig("stage", { value: "contract" });
    const before = await withClient(db.url, fingerprint);
    await stack.setConfig("vacuumEveryRows", { value: "250000" });
    const out = collectOutput();
    const changed = await stack.up({ onOutput: out.onOutput });
    assert.equal(changed.summary.result, "succeeded", out.text());
    const changes = changed.summary.resourceChanges ?? {};
    assert.ok((changes.update ?? 0) > 0, JSON.stringify(changes));
    assert.deepEqual(Object.keys(changes).filter((k) => k !== "same" && k !== "update"), [], JSON.stringify(changes));
    assert.deepEqual(await withClient(db.url, fingerprint), before);
  });

  it("a second up at contract changes nothing, and destroy leaves the database alone", async () => {
    await stack.setConfig("stage", { value: "contract" });
    const again = await stack.up();
    assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), []);
    const before = await describeTableSchema(db.url, TABLE);
    await stack.destroy();
    assert.equal(await describeTableSchema(db.url, TABLE), before);
  });
});

describe("a value that does not fit the old type after cutover", function () {
  let db: TestDatabase;
  let stack: Stack;

  before(async () => {
    db = await createTestDatabase("irreversible");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, file_size integer NOT NULL)`);
      await c.query(`INSERT INTO ${TABLE} (file_size) SELECT g FROM generate_series(1, 1000) g`);
    });
    const program = async () => {
      const change = new ColumnTypeChange("file-size", {
        table: TABLE,
        column: "file_size",
        toType: "bigint",
        stage: new pulumi.Config().require("stage") as Stage,
        connection: pulumi.secret(db.url),
      });
      return { reversible: change.reversible, irreversibleReason: change.irreversibleReason };
    };
    stack = await createStack({ projectName: "pgshift-irreversible", program });
  });

  after(async () => {
    await db?.drop();
  });

  it("is written without error, marks the change irreversible, and the step back is refused", async () => {
    await stack.setConfig("stage", { value: "expand" });
    await stack.up();
    await stack.setConfig("stage", { value: "cutover" });
    await stack.up();
    await withClient(db.url, (c) => c.query(`INSERT INTO ${TABLE} (file_size) VALUES (3000000000)`));
    const refreshed = await stack.up();
    assert.equal(refreshed.outputs.reversible.value, false);
    assert.match(String(refreshed.outputs.irreversibleReason.value), /does not fit integer: 3000000000/);

    await stack.setConfig("stage", { value: "expand" });
    const out = collectOutput();
    await assert.rejects(stack.up({ onOutput: out.onOutput }));
    assert.match(out.text(), /can no longer go back to expand: a value does not fit integer: 3000000000/);
    assert.equal(await columnType(db.url, "file_size"), "bigint", "the refused rollback changed the column");

    await stack.setConfig("stage", { value: "contract" });
    const done = await stack.up();
    assert.equal(done.summary.result, "succeeded");
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT max(file_size)::text AS m FROM ${TABLE}`);
      assert.equal(rows[0].m, "3000000000");
    });
  });
});
