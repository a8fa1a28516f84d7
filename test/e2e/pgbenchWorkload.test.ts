import assert from "node:assert/strict";
import { envInt } from "../../scripts/lib/env";
import { findPgbench, pgbenchLifecycle, pgbenchLine } from "../support/pgbench";

/**
 * PostgreSQL's own pgbench (TPC-B, 4 clients) runs through the whole lifecycle that widens
 * pgbench_accounts.abalance, and separately pgbench_accounts.aid (the primary key): no failed
 * transaction, and afterwards every balance is the sum of its history rows. The suite runs at
 * PGBENCH_SCALE (default 2: 200,000 accounts, about a minute for both); `npm run soak` at 10.
 */
describe("a real workload: pgbench TPC-B during the whole lifecycle", function () {
  const scale = envInt("PGBENCH_SCALE", 2, 1);

  before(function () {
    // fails (not skips) with how to install it: CI must have it
    findPgbench();
  });

  for (const column of ["abalance", "aid"] as const) {
    it(`pgbench_accounts.${column} to bigint at scale ${scale}: zero failed transactions, balances = history`, async function () {
      const r = await pgbenchLifecycle({ scale, clients: 4, column });
      console.log(`    ${pgbenchLine(r)}`);
      assert.deepEqual(r.problems, []);
      assert.equal(r.failedTransactions, 0);
      assert.equal(r.balanceMismatches, 0);
      assert.ok(r.transactions > 100, `only ${r.transactions} transactions ran`);
    });
  }
});
