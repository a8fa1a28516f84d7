import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Client } from "pg";
import { ColumnTypeChange, type Stage } from "../../index";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack } from "../support/pulumi";

/**
 * The headline case: `accounts.id` (serial) runs out, and `entries.account_id` references it.
 * While an application keeps creating accounts and entries that point at them, the id goes
 * int -> bigint through every stage; entries.account_id changes with it (a key family), the
 * foreign key moves with the swap and no write fails.
 */
describe("a primary key referenced by another table, under writes to both tables", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("referenced_key");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL)`);
      await c.query(`CREATE TABLE entries (id bigserial PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts (id), amount integer NOT NULL)`);
      await c.query(`INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 20000) g`);
      await c.query(`INSERT INTO entries (account_id, amount) SELECT 1 + g % 20000, g FROM generate_series(1, 40000) g`);
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("expand -> cutover -> contract with zero failed writes and the foreign key intact", async () => {
    let running = true;
    const failures: string[] = [];
    let written = 0;
    let longest = 0;
    const app = (async () => {
      const c = new Client({ connectionString: db.url, application_name: "test-app" });
      await c.connect();
      try {
        while (running) {
          const t0 = Date.now();
          try {
            await c.query("BEGIN");
            const { rows } = await c.query(`INSERT INTO accounts (name) VALUES ('new') RETURNING id`);
            await c.query(`INSERT INTO entries (account_id, amount) VALUES ($1, 1), ($2, 2)`, [rows[0].id, 1 + (written % 20000)]);
            await c.query("COMMIT");
            written++;
          } catch (err) {
            failures.push(err instanceof Error ? err.message : String(err));
            await c.query("ROLLBACK").catch(() => undefined);
          }
          longest = Math.max(longest, Date.now() - t0);
          await new Promise((r) => setTimeout(r, 3));
        }
      } finally {
        await c.end();
      }
    })();

    const stack = await createStack({
      projectName: "pgshift-referenced",
      program: async () => {
        new ColumnTypeChange("account-id", {
          table: "accounts",
          column: "id",
          toType: "bigint",
          stage: new pulumi.Config().require("stage") as Stage,
          connection: pulumi.secret(db.url),
        });
      },
    });
    try {
      for (const stage of ["expand", "cutover", "contract"] as const) {
        await stack.setConfig("stage", { value: stage });
        const out = collectOutput();
        const result = await stack.up({ onOutput: out.onOutput });
        assert.equal(result.summary.result, "succeeded", out.text());
      }
    } finally {
      running = false;
      await app;
    }
    assert.deepEqual(failures, [], "the application saw failed statements");
    assert.ok(written > 20, `the application barely ran (${written} transactions)`);
    process.stdout.write(`      app: ${written} transactions (an account and two entries each), 0 failed, longest ${longest} ms\n`);

    await withClient(db.url, async (c) => {
      const { rows: fk } = await c.query(
        `SELECT pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conrelid = 'entries'::regclass AND contype = 'f'`,
      );
      assert.deepEqual(fk, [{ def: "FOREIGN KEY (account_id) REFERENCES accounts(id)", convalidated: true }]);
      const { rows: type } = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id'`);
      assert.equal(type[0].t, "bigint");
      const { rows: child } = await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'entries'::regclass AND attname = 'account_id'`);
      assert.equal(child[0].t, "bigint");
      const { rows: orphans } = await c.query(`SELECT count(*)::int AS n FROM entries e LEFT JOIN accounts a ON a.id = e.account_id WHERE a.id IS NULL`);
      assert.equal(orphans[0].n, 0);
      // the key is enforced against the new column
      await assert.rejects(c.query(`INSERT INTO entries (account_id, amount) VALUES (999999999, 1)`), /violates foreign key constraint/);
    });
  });
});
