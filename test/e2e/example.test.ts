import assert from "node:assert/strict";
import { program } from "../../example/program";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

/**
 * The GitOps workflow of the README, with the repository's example program: the connection
 * comes from the postgresql:* stack config (as @pulumi/postgresql reads it), and each stage is
 * promoted by changing one config value, reviewed with `pulumi preview` first.
 */
describe("GitOps example program (postgresql:* config, stage promoted by config)", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("example");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE contentcuration_file (id serial PRIMARY KEY, checksum text NOT NULL, file_size integer)`);
      await c.query(`CREATE INDEX file_checksum_size_idx ON contentcuration_file (checksum, file_size)`);
      await c.query(`INSERT INTO contentcuration_file (checksum, file_size) SELECT md5(g::text), g FROM generate_series(1, 5000) g`);
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("expand, then a one-line config change per stage, each previewed before it is applied", async () => {
    const url = new URL(db.url);
    const stack = await createStack({
      projectName: "pgshift-example",
      program: async () => program(),
      config: {
        "postgresql:host": { value: url.hostname },
        "postgresql:port": { value: url.port },
        "postgresql:username": { value: decodeURIComponent(url.username) },
        "postgresql:password": { value: decodeURIComponent(url.password), secret: true },
        "postgresql:database": { value: url.pathname.slice(1) },
        "pgshift-example:stage": { value: "expand" },
      },
    });
    const out = collectOutput();
    const expanded = await stack.up({ onOutput: out.onOutput });
    assert.equal(expanded.summary.result, "succeeded", out.text());

    for (const stage of ["cutover", "contract"]) {
      await stack.setConfig("pgshift-example:stage", { value: stage });
      out.clear();
      const preview = await stack.preview({ onOutput: out.onOutput, diff: true });
      assert.equal(preview.changeSummary.create, 1, `${stage}: the preview should add exactly one child\n${out.text()}`);
      assert.match(out.text(), stage === "cutover" ? /RENAME COLUMN/ : /DROP COLUMN IF EXISTS/);
      out.clear();
      const result = await stack.up({ onOutput: out.onOutput });
      assert.equal(result.summary.result, "succeeded", out.text());
    }
    await withClient(db.url, async (c) => {
      const { rows } = await c.query(
        `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attname) AS cols
           FROM pg_attribute WHERE attrelid = 'contentcuration_file'::regclass AND attnum > 0 AND NOT attisdropped`,
      );
      assert.equal(rows[0].cols, "checksum text, file_size bigint, id integer");
    });
  });
});
