import assert from "node:assert/strict";
import { Client } from "pg";
import { runBackfill } from "../../src/backfill/run";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { contextFromRow, expand, shadowMismatches, specOf } from "./support/expand";

/** The backfill waits while a long transaction holds back VACUUM (backfill.maxTransactionAgeMs). */
describe("backfill throttle: long transactions", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("throttle");
    await withClient(db.url, (c) => c.query(`CREATE TABLE events (id int PRIMARY KEY, size integer); INSERT INTO events SELECT g, g FROM generate_series(1, 5000) g`));
  });

  after(async () => {
    await db?.drop();
  });

  it("pauses until the old transaction ends, then completes", async () => {
    const spec = specOf({ table: "events", column: "size", toType: "bigint", backfill: { batchSize: 1000, maxBatchSize: 1000, maxTransactionAgeMs: 300 } });
    await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
    const ctx = await contextFromRow(db.url, spec, "events", "size");
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("SELECT txid_current()");
    await new Promise((r) => setTimeout(r, 400)); // older than maxTransactionAgeMs before the first batch
    const lines: string[] = [];
    const started = Date.now();
    let endedAt = 0;
    const release = new Promise<void>((resolve) =>
      setTimeout(async () => {
        endedAt = Date.now();
        await holder.query("COMMIT");
        await holder.end();
        resolve();
      }, 1500),
    );
    const result = await withClient(db.url, (c) =>
      runBackfill(c, ctx, null, { lock: spec.lock, stateSchema: "public", log: (l) => lines.push(l), progressEveryMs: 0 }),
    );
    await release;
    assert.ok(result.checkpoint.done);
    assert.ok(lines.some((l) => /a transaction has been open for more than 300 ms, pausing/.test(l)), lines.join("\n"));
    assert.ok(Date.now() - started >= 1500 && endedAt > 0, "the backfill did not wait for the transaction");
    await withClient(db.url, async (c) => assert.deepEqual(await shadowMismatches(c, "events", "size__pgshift_new", "size::bigint"), []));
  });
});
