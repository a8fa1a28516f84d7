/**
 * Keyset vs physical order on a uuid-keyed table larger than shared_buffers (item 4 of issue 7):
 *
 *   BENCH_ORDER_ROWS=1000000 [BENCH_ORDER_VACUUM_EVERY=200000] [BENCH_ORDER_PASSES=1] npx ts-node --transpile-only bench/backfillOrder.ts
 *
 * One server (Debian's PostgreSQL 15, test/support/cronServer.ts) with shared_buffers 16MB and
 * fsync, synchronous_commit and full_page_writes on; two identical tables (uuid key, about 150
 * bytes a row), each backfilled by the Backfill handler at default settings, one per order.
 * Prints, per order: time, rows/s, shared blocks read from outside shared_buffers, WAL written,
 * the table's size before and after. Not part of `npm test` (a measurement, not a check).
 */
import { withClient } from "../test/support/pg";
import { startCronServer } from "../test/support/cronServer";
import { createStep, expand, specOf } from "../test/integration/support/expand";

const ROWS = Number(process.env.BENCH_ORDER_ROWS ?? 1_000_000);
const SHARED_BUFFERS = process.env.BENCH_ORDER_SHARED_BUFFERS ?? "16MB";
/** backfill.vacuumEveryRows of both runs (default: pgshift's default). */
const VACUUM_EVERY = process.env.BENCH_ORDER_VACUUM_EVERY === undefined ? undefined : Number(process.env.BENCH_ORDER_VACUUM_EVERY);
/** backfill.passes of both runs (default: pgshift's default). */
const PASSES = process.env.BENCH_ORDER_PASSES === undefined ? undefined : Number(process.env.BENCH_ORDER_PASSES);

interface Sample {
  order: string;
  ms: number;
  rowsPerS: number;
  blocksRead: number;
  walMB: number;
  tableMBBefore: number;
  tableMBAfter: number;
}

async function main(): Promise<void> {
  const server = await startCronServer({ sharedBuffers: SHARED_BUFFERS, production: true });
  const db = await server.createDatabase("order_bench");
  const results: Sample[] = [];
  try {
    for (const order of ["keyset", "physical"] as const) {
      const table = `files_${order}`;
      await withClient(db.url, async (c) => {
        await c.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), checksum text NOT NULL, file_size integer)`);
        await c.query(`INSERT INTO ${table} (checksum, file_size) SELECT repeat(md5(g::text), 3), g FROM generate_series(1, ${ROWS}) g`);
        await c.query(`VACUUM ANALYZE ${table}`);
        await c.query(`CHECKPOINT`);
      });
      const spec = specOf({ table, column: "file_size", toType: "bigint", backfill: { order, ...(VACUUM_EVERY === undefined ? {} : { vacuumEveryRows: VACUUM_EVERY }), ...(PASSES === undefined ? {} : { passes: PASSES }) } });
      await expand(db.url, spec, ["shadow-column", "mirror-trigger"]);
      const before = await withClient(db.url, async (c) =>
        (await c.query<{ read: string; lsn: string; bytes: string }>(
          `SELECT blks_read::text AS read, pg_current_wal_lsn()::text AS lsn, pg_table_size('${table}')::text AS bytes FROM pg_stat_database WHERE datname = current_database()`,
        )).rows[0],
      );
      const t0 = Date.now();
      const out = await createStep(db.url, "backfill", spec);
      const ms = Date.now() - t0;
      // pg_stat_database is flushed by the backend when it goes idle: wait for it
      await new Promise((r) => setTimeout(r, 1500));
      const after = await withClient(db.url, async (c) =>
        (await c.query<{ read: string; wal: string; bytes: string }>(
          `SELECT blks_read::text AS read, (pg_current_wal_lsn() - $1::pg_lsn)::text AS wal, pg_table_size('${table}')::text AS bytes FROM pg_stat_database WHERE datname = current_database()`,
          [before.lsn],
        )).rows[0],
      );
      const rows = Number(out.result.rowsScanned);
      results.push({
        order,
        ms,
        rowsPerS: Math.round((rows * 1000) / ms),
        blocksRead: Number(after.read) - Number(before.read),
        walMB: Math.round(Number(after.wal) / 1e6),
        tableMBBefore: Math.round(Number(before.bytes) / 1e6),
        tableMBAfter: Math.round(Number(after.bytes) / 1e6),
      });
      console.log(JSON.stringify(results[results.length - 1]));
      await withClient(db.url, (c) => c.query(`DROP TABLE ${table} CASCADE`));
    }
  } finally {
    await db.drop().catch(() => undefined);
    await server.stop();
  }
  console.log(`\n${ROWS.toLocaleString("en-US")} rows, uuid key, shared_buffers ${SHARED_BUFFERS}, backfill.vacuumEveryRows ${VACUUM_EVERY ?? "default"}, backfill.passes ${PASSES ?? "default"}, fsync/synchronous_commit/full_page_writes on`);
  console.log("| order | time | rows/s | blocks read | WAL | table before -> after |\n|---|---|---|---|---|---|");
  for (const r of results) console.log(`| ${r.order} | ${(r.ms / 1000).toFixed(1)} s | ${r.rowsPerS.toLocaleString("en-US")} | ${r.blocksRead.toLocaleString("en-US")} | ${r.walMB} MB | ${r.tableMBBefore} -> ${r.tableMBAfter} MB |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
