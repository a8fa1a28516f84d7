/**
 * What pgshift is compared against: the ways to change the column without it, each on its own
 * fresh table and under the writer.
 *
 *   a) ALTER TABLE ... ALTER COLUMN file_size TYPE bigint (rewrites the table under ACCESS EXCLUSIVE)
 *   b) ADD COLUMN shadow bigint, one UPDATE t SET shadow = file_size (no index on shadow),
 *      then CREATE INDEX (checksum, shadow) after it
 *   c) the same UPDATE with the (checksum, shadow) index created before it (BENCH_EXTRAS=1)
 *   d) nothing: the writer alone on its table for as long as pgbench's baseline, right before
 *      pgshift's lifecycle, so pgbench's latency under the application's own load, without a
 *      migration, is measured next to the backfill's
 *   e) one core busy: the writer, and a backend running a loop that only burns CPU (no reads,
 *      no writes, no WAL) for as long; the floor a backfill that uses one core at all sets
 *      pgbench's latency to on this machine
 */
import { COLUMN, TABLE, TO_TYPE } from "../scripts/lib/fileTable";
import type { TestDatabase } from "../test/support/pg";
import { freshTable, query, tableSize, timed } from "./freshTable";
import { measure, roundId, roundLabel, sleep, type BenchRig, type Measurement } from "./measure";

export async function benchAlter(rig: BenchRig): Promise<Measurement> {
  const db = await freshTable(rig.options.rows, "alter");
  try {
    rig.size ??= await tableSize(db);
    return await measure(rig, db, "alter", "ALTER COLUMN file_size TYPE bigint", "rewrites table and indexes under ACCESS EXCLUSIVE: every app statement waits", async () => {
      await query(db, `ALTER TABLE ${TABLE} ALTER COLUMN ${COLUMN} TYPE ${TO_TYPE}`);
    });
  } finally {
    await db.drop();
  }
}

/**
 * A reference window, no migration: the writer on a fresh table for pgbench's baseline length
 * while `during` runs (given the database and that length). It processes no rows.
 */
async function benchReference(rig: BenchRig, id: string, operation: string, notes: (seconds: number) => string, during: (db: TestDatabase, ms: number) => Promise<void>): Promise<Measurement> {
  const db = await freshTable(rig.options.rows, id);
  try {
    const ms = rig.options.pgbench.baselineMs;
    const m = await measure(rig, db, id, operation, notes(ms / 1000), () => during(db, ms));
    return { ...m, rowsPerSec: null };
  } finally {
    await db.drop();
  }
}

/**
 * The application's load without a migration: the writer on a fresh table, nothing else. The
 * pgbench baseline runs alone, before any table exists; every operation after it runs beside
 * the writer, whose commits wait for the same WAL flushes as pgbench's. This window tells the
 * writer's share of pgbench's latency from the migration's (summary.ts).
 */
export function benchApplicationAlone(rig: BenchRig, round = 1): Promise<Measurement> {
  return benchReference(rig, roundId("application", round), `the application writer alone, no migration${roundLabel(round)}`, (s) => `the writer on its table for ${s} s, nothing else: the load every operation runs beside`, async (_db, ms) => {
    await sleep(ms);
  });
}

/**
 * The writer and one backend that does nothing but compute for pgbench's baseline length: on a
 * machine of few cores, the p99 a backfill cannot get under however little it writes, since it
 * needs a core while it runs. Measured before the backfill of each round, beside the same writer,
 * so pgshift's share over that floor (summary.ts) is the part its I/O and locks add. A loop of
 * clock reads, not generate_series: that materializes and spills to disk.
 */
export function benchOneCoreBusy(rig: BenchRig, round = 1): Promise<Measurement> {
  const loop = (ms: number) => `DO $loop$ DECLARE t timestamptz := clock_timestamp(); BEGIN WHILE clock_timestamp() < t + interval '${ms} ms' LOOP END LOOP; END $loop$`;
  return benchReference(rig, roundId("one-core", round), `one core busy, no I/O${roundLabel(round)}`, (s) => `the writer, and one backend computing for ${s} s (no reads, no writes): the latency floor of using one core`, (db, ms) => query(db, loop(ms)));
}

export async function benchPlainUpdate(rig: BenchRig, round = 1): Promise<Measurement[]> {
  const id = roundId("update", round);
  const db = await freshTable(rig.options.rows, id);
  try {
    const addMs = await timed(db, `ALTER TABLE ${TABLE} ADD COLUMN shadow ${TO_TYPE}`);
    const update = await measure(rig, db, id, `one UPDATE SET shadow = file_size (no index on shadow)${roundLabel(round)}`, `after ADD COLUMN shadow bigint (${addMs.toFixed(0)} ms); one transaction: the app's UPDATEs of any row wait for its commit`, async () => {
      await query(db, `UPDATE ${TABLE} SET shadow = ${COLUMN}`);
    });
    const index = await measure(rig, db, roundId("update-index-after", round), `CREATE INDEX (checksum, shadow) after that UPDATE${roundLabel(round)}`, "plain CREATE INDEX (SHARE lock: writes wait); pgshift builds its copies CONCURRENTLY", async () => {
      await query(db, `CREATE INDEX ${TABLE}_checksum_shadow_idx ON ${TABLE} (checksum, shadow)`);
    });
    return [update, index];
  } finally {
    await db.drop();
  }
}

export async function benchIndexedUpdate(rig: BenchRig): Promise<Measurement> {
  const db = await freshTable(rig.options.rows, "update_indexed");
  try {
    const prepMs = (await timed(db, `ALTER TABLE ${TABLE} ADD COLUMN shadow ${TO_TYPE}`)) + (await timed(db, `CREATE INDEX ${TABLE}_checksum_shadow_idx ON ${TABLE} (checksum, shadow)`));
    await query(db, "CHECKPOINT");
    return await measure(rig, db, "update-indexed", "same UPDATE, (checksum, shadow) index built first", `index on the empty column built before (${prepMs.toFixed(0)} ms with ADD COLUMN): every updated row also inserts into it`, async () => {
      await query(db, `UPDATE ${TABLE} SET shadow = ${COLUMN}`);
    });
  } finally {
    await db.drop();
  }
}
