// The swaps take SHARE UPDATE EXCLUSIVE before ACCESS EXCLUSIVE (src/plan/swapLock.ts): a
// session that holds SHARE UPDATE EXCLUSIVE, as an autovacuum of the table does right after a
// backfill, makes the swap wait without the application's statements queueing behind it. Here
// a plain session holds that lock for 1.5 s (PostgreSQL cancels only a real autovacuum that is
// in the way; a plain session has to let go); with ACCESS EXCLUSIVE asked for first, the
// writer would wait behind each attempt's request (100, 200, 400, 800 ms).
import assert from "node:assert/strict";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { startWriter } from "../support/writer";
import { createStep, expand, holdInTransaction, migrationRow, specOf, waitFor } from "./support/expand";

const ROWS = 5_000;
const HOLD_MS = 1_500;
/** The longest write the test accepts while the swap waits: well under the 400 ms of a third attempt's wait. */
const MAX_WRITE_MS = 250;

describe("a swap waits behind a SHARE UPDATE EXCLUSIVE holder (an autovacuum) without stalling writes (real PostgreSQL)", function () {
  let db: TestDatabase;
  const spec = (stage: "expand" | "cutover" | "contract") => specOf({ table: "t", column: "n", toType: "bigint", stage });

  before(async () => {
    db = await createTestDatabase("swap_yields");
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE t (id serial PRIMARY KEY, n int, note text);
               INSERT INTO t (n, note) SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) g;`),
    );
    await expand(db.url, spec("expand"));
  });
  after(async () => {
    await db?.drop();
  });

  for (const kind of ["cutover", "contract"] as const) {
    it(`${kind}: waits out the holder at the default lock settings while every write stays short, then succeeds`, async function () {
      this.timeout(60_000);
      const holder = await holdInTransaction(db.url, "LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE");
      const writer = startWriter({ url: db.url, table: "t", column: "n", maxId: ROWS });
      const started = Date.now();
      const release = setTimeout(() => void holder.release(), HOLD_MS);
      try {
        await waitFor("the writer to get going", async () => writer.stats.inserts + writer.stats.updates >= 20);
        await createStep(db.url, kind, spec(kind));
      } finally {
        clearTimeout(release);
        await holder.release();
        await writer.stop();
      }
      const waited = Date.now() - started;
      assert.ok(waited >= HOLD_MS - 50, `the swap did not wait for the holder (${waited} ms)`);
      assert.deepEqual(writer.stats.failures, []);
      assert.ok(writer.stats.inserts > 0 && writer.stats.updates > 0);
      assert.ok(writer.stats.maxLatencyMs <= MAX_WRITE_MS, `an application write waited ${writer.stats.maxLatencyMs} ms while the ${kind} waited ${waited} ms`);
      assert.equal((await migrationRow(db.url, "t", "n"))?.stage, kind);
    });
  }
});
