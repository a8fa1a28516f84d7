/**
 * How often a backfill VACUUMs its table (backfill.vacuumEveryRows), for both runners.
 *
 * A VACUUM that finds dead rows reads every index of the table whole (their entries can be
 * anywhere in it), so VACUUMs at a fixed count of rows cost a backfill the square of its table:
 * at 20,000,000 rows (3.2 GB with its indexes, 25 times shared_buffers, one worker), each
 * VACUUM after another 1,000,000 rows took 5.5 to 7.8 s, a quarter of the backfill's time; at a
 * billion rows a thousand of them would each read the indexes of a billion rows. "auto" (the
 * default) VACUUMs after a tenth of the table's estimated rows, at least 1,000,000: about ten
 * VACUUMs at any size, and between two at most a tenth of the rows' dead versions (autovacuum's
 * own default waits for a fifth).
 */
import type { VacuumEveryRows } from "../spec";

/** At most this many VACUUMs in a backfill of "auto". */
export const VACUUMS_PER_BACKFILL = 10;
/** "auto"'s least count of rows between two VACUUMs: on small tables, one VACUUM per this many. */
export const MIN_VACUUM_EVERY_ROWS = 1_000_000;

/** Updated rows between two VACUUMs of a backfill of a table of about `estimatedRows` rows (0: none). */
export function vacuumEveryRowsOf(setting: VacuumEveryRows, estimatedRows: number): number {
  if (setting !== "auto") return setting;
  return Math.max(MIN_VACUUM_EVERY_ROWS, Math.ceil(estimatedRows / VACUUMS_PER_BACKFILL));
}

/**
 * Rows a minute the database runner was measured to backfill on a table much larger than
 * shared_buffers (43,611 rows/s at 20,000,000 rows, in the bench run at 5282b12): its VACUUM job
 * cannot count rows (a pg_cron command cannot test before it VACUUMs, and the procedure cannot
 * VACUUM), so it runs at the interval in which the backfill updates about vacuumEveryRows rows.
 */
export const DATABASE_RUNNER_ROWS_PER_MINUTE = 2_500_000;

/** Minute intervals that divide an hour, so `*\/N` runs evenly. */
const EVEN_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];

/** The pg_cron schedule of the database runner's VACUUM job for `everyRows` rows between VACUUMs: every minute up to every hour. */
export function vacuumJobSchedule(everyRows: number): string {
  const minutes = everyRows / DATABASE_RUNNER_ROWS_PER_MINUTE;
  if (minutes >= 60) return "0 * * * *";
  const n = [...EVEN_MINUTES].reverse().find((m) => m <= minutes) ?? 1;
  return n === 1 ? "* * * * *" : `*/${n} * * * *`;
}
