// The connection given as the very object a team passes to @pulumi/postgresql's
// `new postgresql.Provider(name, args)` (username, sslmode, a secret password), through the
// real pulumi up. Its type is checked against that package's ProviderArgs in
// test/unit/connection.test.ts; the package itself (its provider plugin) is never loaded.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange } from "../../index";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, exportedState, stackBackendDir, storedStateFiles } from "../support/pulumi";

describe("connection from @pulumi/postgresql's ProviderArgs (real pulumi up)", function () {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase("provider_args");
    await withClient(db.url, (c) => c.query(`CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t SELECT g, g FROM generate_series(1, 500) g`));
  });
  after(async () => {
    await db?.drop();
  });

  it("expands with host/port/username/password/database/sslmode fields and keeps the password out of the state", async () => {
    const u = new URL(db.url);
    const password = decodeURIComponent(u.password);
    const stack = await createStack({
      projectName: "pgshift-provider-args",
      program: async () => {
        const providerArgs = {
          host: u.hostname,
          port: Number(u.port),
          username: decodeURIComponent(u.username),
          password: pulumi.secret(password),
          database: u.pathname.slice(1),
          sslmode: "disable",
          superuser: false,
        };
        new ColumnTypeChange("n", { table: "t", column: "n", toType: "bigint", stage: "expand", connection: providerArgs });
      },
    });
    const out = collectOutput();
    const up = await stack.up({ onOutput: out.onOutput });
    assert.equal(up.summary.result, "succeeded", out.text());
    const { rows } = await withClient(db.url, (c) => c.query(`SELECT count(*)::int AS n FROM t WHERE n__pgshift_new = n`));
    assert.equal(rows[0].n, 500);
    const stored = storedStateFiles(stackBackendDir(stack));
    assert.ok(stored.some((text) => text.includes("ShadowColumn")), "no stored state found");
    for (const text of stored) assert.ok(!text.includes(password), "the password is stored in plain text");
    assert.match(await exportedState(stack), /ciphertext|plaintext/, "the connection is not marked secret");
    assert.ok(!out.text().includes(password), "the password is in the output");
    await stack.destroy();
  });
});
