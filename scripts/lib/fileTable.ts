/**
 * The table `npm run bench` and `npm run demo` change: contentcuration_file, shaped like the
 * real one the bench's numbers are meant to describe (serial id, an md5 checksum, an integer
 * file_size, an index on (checksum, file_size)). One definition, so the demo shows the table the
 * bench measured.
 */
import { withClient } from "../../test/support/pg";

export const TABLE = "contentcuration_file";
export const COLUMN = "file_size";

/**
 * Creates and fills the table with `rows` rows in the database at `url`, then VACUUM ANALYZE:
 * a live table has been vacuumed (hint bits, visibility map) and analyzed, so runs start from
 * that. `checkpoint` also flushes the fill to disk, so that a measurement started right after
 * does not pay for writing it out (the bench wants that; the demo does not need it).
 */
export async function createFileTable(url: string, rows: number, opts: { checkpoint: boolean }): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, checksum text NOT NULL, ${COLUMN} integer NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO ${TABLE} (checksum, ${COLUMN}) SELECT md5(g::text), (g * 37) % 2000000 FROM generate_series(1, $1::int) g`, [rows]);
    await c.query(`CREATE INDEX ${TABLE}_checksum_size_idx ON ${TABLE} (checksum, ${COLUMN})`);
    await c.query(`VACUUM ANALYZE ${TABLE}`);
    if (opts.checkpoint) await c.query(`CHECKPOINT`);
  });
}

/** The type both scripts change file_size to (it starts as integer). */
export const TO_TYPE = "bigint";
