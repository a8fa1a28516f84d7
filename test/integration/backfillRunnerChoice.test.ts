/**
 * The runner on a server without pg_cron (the embedded one): backfill.runner "database" is
 * refused at planning (what `pulumi preview` runs) with BackfillRunnerError naming what is
 * missing, before any DDL; "auto" warns and the Backfill child runs the client runner.
 */
import assert from "node:assert/strict";
import { BackfillRunnerError } from "../../src/errors";
import { planMigration } from "../../src/planning/planMigration";
import { parseSpec } from "../../src/spec";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { expand, namesOf, specOf } from "./support/expand";

describe("the backfill runner without pg_cron", function () {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase("runner_choice");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE files (id serial PRIMARY KEY, file_size integer)`);
      await c.query(`INSERT INTO files (file_size) SELECT g FROM generate_series(1, 5000) g`);
    });
  });
  after(async () => {
    await db?.drop();
  });

  const input = (runner: "database" | "auto") => ({ table: "files", column: "file_size", toType: "bigint", stage: "expand" as const, backfill: { runner } });

  it('refuses runner "database" at planning, naming what is missing, and changes nothing', async () => {
    await assert.rejects(planMigration({ connectionString: db.url }, parseSpec(input("database"))), (err: unknown) => {
      assert.ok(err instanceof BackfillRunnerError, String(err));
      assert.equal(
        err.message,
        'public.files.file_size: backfill.runner "database" needs pg_cron, and pg_cron is not loaded on this server (shared_preload_libraries does not list it). Set backfill.runner to "client" (or "auto") to backfill within pulumi up instead.',
      );
      return true;
    });
    await withClient(db.url, async (c) => assert.equal((await c.query(`SELECT to_regclass('pgshift_migrations') AS t`)).rows[0].t, null));
  });

  it('warns for runner "auto" and backfills within the apply', async () => {
    const plan = await planMigration({ connectionString: db.url }, parseSpec(input("auto")));
    assert.ok(plan.warnings.includes('public.files.file_size: backfill.runner "auto": pg_cron is not loaded on this server (shared_preload_libraries does not list it), so the backfill runs within pulumi up (the client runner)'), JSON.stringify(plan.warnings));
    const outs = await expand(db.url, specOf(input("auto")), ["shadow-column", "mirror-trigger", "backfill"]);
    assert.equal(outs.backfill.result.done, true);
    assert.equal(outs.backfill.result.runner, "client");
    assert.equal(outs.backfill.result.rowsScanned, 5000);
    const shadow = namesOf("files", "file_size").shadowColumn;
    await withClient(db.url, async (c) => assert.equal((await c.query(`SELECT count(*)::int AS n FROM files WHERE ${shadow} IS DISTINCT FROM file_size::bigint`)).rows[0].n, 0));
  });
});
