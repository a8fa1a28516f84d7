import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange } from "../../index";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, exportedState, stackBackendDir, storedStateFiles } from "../support/pulumi";
import { startWriter } from "../support/writer";

/** Every file the file backend keeps (checkpoints, history, backups). */
const ROWS = Number(process.env.PGSHIFT_TEST_ROWS ?? 200_000);
const TABLE = "contentcuration_file";

describe("expand stage through the real pulumi up", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("expand");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (
        id serial PRIMARY KEY,
        checksum text NOT NULL,
        file_size integer,
        created timestamptz NOT NULL DEFAULT now())`);
      await c.query(`CREATE INDEX file_checksum_size_idx ON ${TABLE} (checksum, file_size)`);
      await c.query(`CREATE INDEX file_size_big_idx ON ${TABLE} (file_size DESC) WHERE file_size > 1000`);
      await c.query(
        `INSERT INTO ${TABLE} (checksum, file_size) SELECT md5(g::text), (g * 37) % 2000000 FROM generate_series(1, $1) g`,
        [ROWS],
      );
      await c.query(`ANALYZE ${TABLE}`);
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("previews without writing, expands under a concurrent writer, converges, and destroys back to the original schema", async () => {
    const schemaBefore = await describeTableSchema(db.url, TABLE);
    const dataDigest = () =>
      withClient(db.url, async (c) => (await c.query(`SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS d FROM ${TABLE} t`)).rows[0].d as string);
    const dataBefore = await dataDigest();
    const program = async () => {
      const change = new ColumnTypeChange("file-size", {
        table: TABLE,
        column: "file_size",
        toType: "bigint",
        stage: "expand",
        connection: pulumi.secret(db.url),
        backfill: { batchSize: 2000 },
      });
      return { shadowColumn: change.shadowColumn, statements: change.statements };
    };
    const stack = await createStack({ projectName: "pgshift-expand", program });
    const out = collectOutput();

    // preview: shows the SQL, changes nothing
    const preview = await stack.preview({ onOutput: out.onOutput, diff: true });
    assert.equal(preview.changeSummary.create, 6, out.text());
    const shown = out.text().replace(/\\"/g, '"'); // the diff prints strings JSON-escaped
    assert.match(shown, /ADD COLUMN "file_size__pgshift_new" bigint/);
    assert.match(shown, /CREATE INDEX CONCURRENTLY "file_checksum_size_idx__pgshift"/);
    assert.equal(await describeTableSchema(db.url, TABLE), schemaBefore, "preview changed the schema");
    assert.equal(await dataDigest(), dataBefore, "preview changed the data");
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT to_regclass('pgshift_migrations') AS state, (SELECT count(*)::int FROM pg_proc WHERE proname LIKE 'pgshift%') AS functions`);
      assert.deepEqual(rows[0], { state: null, functions: 0 }, "preview created pgshift objects");
    });

    // up, with an application writing all along
    const writer = startWriter({ url: db.url, table: TABLE, column: "file_size", maxId: ROWS, insertExtras: { checksum: "md5(random()::text)" } });
    out.clear();
    let up;
    try {
      up = await stack.up({ onOutput: out.onOutput });
    } finally {
      await writer.stop();
    }
    const stats = writer.stats;
    assert.equal(up.summary.result, "succeeded", out.text());
    assert.deepEqual(stats.failures, [], "the application saw failed writes");
    assert.ok(stats.inserts + stats.updates > 0, "the writer did not run");
    assert.match(out.text(), /pgshift: backfill .* rows\/s/);

    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE file_size__pgshift_new IS DISTINCT FROM file_size::bigint`);
      assert.equal(rows[0].n, 0, "rows whose shadow differs from the converted column");
      const { rows: total } = await c.query(`SELECT count(*)::int AS n FROM ${TABLE}`);
      assert.equal(total[0].n, ROWS + stats.inserts);
      for (const [id, value] of stats.ledger) {
        const { rows: r } = await c.query(`SELECT file_size, file_size__pgshift_new AS shadow FROM ${TABLE} WHERE id = $1`, [id]);
        assert.equal(r[0].file_size, value);
        assert.equal(Number(r[0].shadow), value);
      }
      const { rows: idx } = await c.query(
        `SELECT indexrelid::regclass::text AS name, indisvalid FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`,
        [TABLE],
      );
      assert.deepEqual(
        idx.map((r) => [r.name, r.indisvalid]),
        [
          ["contentcuration_file_pkey", true],
          ["file_checksum_size_idx", true],
          ["file_checksum_size_idx__pgshift", true],
          ["file_size_big_idx", true],
          ["file_size_big_idx__pgshift", true],
        ],
      );
    });

    // the secret connection string never appears in plain text in the state
    // (checked in the files the backend stores; `stack export` via the Automation API decrypts)
    const stored = storedStateFiles(stackBackendDir(stack));
    assert.ok(stored.length > 0 && stored.some((s) => s.includes("ShadowColumn")), "no stored state found");
    for (const text of stored) {
      assert.ok(!text.includes(db.url), "connection string stored in plain text");
      assert.ok(!text.includes("pgshift-test"), "password stored in plain text");
    }
    assert.match(await exportedState(stack), /ciphertext|plaintext/, "the connection is not marked secret");

    // drift: an index copy dropped behind pgshift's back shows up in `pulumi refresh`, and the next up rebuilds it
    await withClient(db.url, (c) => c.query(`DROP INDEX file_size_big_idx__pgshift`));
    out.clear();
    await stack.refresh({ onOutput: out.onOutput });
    const afterRefresh = JSON.parse(await exportedState(stack)) as { deployment: { resources: { type: string; outputs?: { result?: { drift?: string[] } } }[] } };
    const indexesState = afterRefresh.deployment.resources.find((r) => r.type.endsWith("pgshift:ShadowIndexes"));
    assert.deepEqual(indexesState?.outputs?.result?.drift, ["file_size_big_idx__pgshift is missing"], out.text());
    out.clear();
    const repaired = await stack.up({ onOutput: out.onOutput });
    assert.equal(repaired.summary.resourceChanges?.update, 1, out.text());
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('file_size_big_idx__pgshift')`);
      assert.deepEqual(rows, [{ indisvalid: true }], "the dropped copy was not rebuilt");
    });

    // a second up changes nothing
    out.clear();
    const again = await stack.up({ onOutput: out.onOutput });
    assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), [], out.text());

    // destroy restores the table exactly
    out.clear();
    const destroyed = await stack.destroy({ onOutput: out.onOutput });
    assert.equal(destroyed.summary.result, "succeeded", out.text());
    assert.equal(await describeTableSchema(db.url, TABLE), schemaBefore);
  });
});
