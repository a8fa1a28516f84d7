import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange } from "../../index";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

/**
 * int -> bigint on a serial id that an integer column of another table references, with
 * referencingColumns "keep": the foreign key stays valid, but the referencing column keeps
 * integer's ceiling. The real `pulumi preview` shows that as a warning of the component, and
 * changes nothing. (The default, "change", changes the column too: test/e2e/keyFamily.test.ts.)
 */
describe("pulumi preview warns about a referencing column that keeps a narrower type", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("referencing_warning");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL)`);
      await c.query(`CREATE TABLE entries (id bigserial PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts (id))`);
      await c.query(`INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 100) g`);
      await c.query(`INSERT INTO entries (account_id) SELECT 1 + g % 100 FROM generate_series(1, 200) g`);
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("the preview output carries the warning line, and the database is unchanged", async () => {
    const before = await withClient(db.url, fingerprint);
    const stack = await createStack({
      projectName: "pgshift-referencing-warning",
      program: async () => {
        new ColumnTypeChange("account-id", { table: "accounts", column: "id", toType: "bigint", referencingColumns: "keep", stage: "expand", connection: pulumi.secret(db.url) });
      },
    });
    const out = collectOutput();
    const preview = await stack.preview({ onOutput: out.onOutput });
    assert.equal(preview.changeSummary.create, 6, out.text());
    const line = out.text().split("\n").find((l) => /warning: .*"public"\."entries"\."account_id" stays integer while "public"\."accounts"\."id"/.test(l));
    assert.ok(line, `no warning line in the preview output:\n${out.text()}`);
    assert.match(line, /becomes bigint: integer holds a smaller range than bigint/);
    assert.match(line, /Change "public"\."entries"\."account_id" to bigint too \(its own ColumnTypeChange\)\.$/);
    assert.deepEqual(await withClient(db.url, fingerprint), before, "preview changed the database");
  });
});
