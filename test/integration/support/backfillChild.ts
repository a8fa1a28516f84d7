/**
 * A backfill in its own process, for the kill -9 test (backfillResume.test.ts):
 *
 *   node --require ts-node/register/transpile-only test/integration/support/backfillChild.ts
 *
 * with PGSHIFT_CHILD_URL (connection string) and PGSHIFT_CHILD_SPEC (a ColumnChangeSpec as
 * JSON) in the environment. It resumes from the checkpoint in the state row (the ShadowColumn
 * and MirrorTrigger steps must have run) and prints one line per progress report; the test
 * kills it with SIGKILL half-way.
 */
import { Client } from "pg";
import { runBackfill } from "../../../src/backfill/run";
import { readMigration } from "../../../src/db/state";
import { planContext } from "../../../src/plan/facts";
import type { ColumnChangeSpec } from "../../../src/spec";
import { namesOf } from "./expand";

/** application_name of the child's session, so the test can wait for its backend to end. */
export const CHILD_APPLICATION_NAME = "pgshift-backfill-child";

async function main(): Promise<void> {
  const url = process.env.PGSHIFT_CHILD_URL;
  const specJson = process.env.PGSHIFT_CHILD_SPEC;
  if (!url || !specJson) throw new Error("PGSHIFT_CHILD_URL and PGSHIFT_CHILD_SPEC are required");
  const spec = JSON.parse(specJson) as ColumnChangeSpec;
  const db = new Client({ connectionString: url, application_name: CHILD_APPLICATION_NAME });
  await db.connect();
  const names = namesOf(spec.table, spec.column);
  const row = await readMigration(db, "public", names.id);
  if (!row) throw new Error(`no state row for ${names.id}`);
  process.stdout.write(`started pid ${process.pid}\n`);
  const result = await runBackfill(db, planContext(spec, row.facts), row.backfill, {
    lock: spec.lock,
    table: `public.${spec.table}`,
    stateSchema: "public",
    progressEveryMs: 0,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`finished ${JSON.stringify(result.checkpoint)}\n`);
  await db.end();
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
