import type { ClientBase } from "pg";
import { formatBytes } from "../backfill/progress";
import { qualified } from "../sql/quote";

/** The table's size with its indexes and the server's max_wal_size, in bytes. */
export interface WalHeadroom {
  tableBytes: number;
  maxWalBytes: number;
  /** max_wal_size as the server shows it (`1GB`). */
  maxWalSize: string;
}

/**
 * The server's max_wal_size against the table's size with its indexes, read at every preview
 * until the expand stage is left (whether the backfill is done is not part of the plan, so a
 * preview during expand after the backfill finished still warns). A backfill touches every page of the table and, through its new
 * index entries, of its indexes; once the WAL it writes passes max_wal_size between two
 * checkpoints, checkpoints follow each other every few seconds, and after each one the first
 * change to any page writes that page whole to WAL again (full_page_writes). Measured (bench,
 * 20,000,000 rows, 3.2 GB with its indexes, max_wal_size 1GB): 221 checkpoints and about 130 GB
 * of WAL in a 436 s backfill, pgbench's p99 39x its baseline; the same table at 1,000,000 rows
 * (150 MB) wrote 650 MB and ended one checkpoint.
 */
export async function walHeadroom(db: ClientBase, schema: string, table: string): Promise<WalHeadroom> {
  const { rows } = await db.query<{ t: string; w: string; s: string }>(
    "SELECT pg_total_relation_size($1::regclass)::text AS t, pg_size_bytes(current_setting('max_wal_size'))::text AS w, current_setting('max_wal_size') AS s",
    [qualified(schema, table)],
  );
  return { tableBytes: Number(rows[0].t), maxWalBytes: Number(rows[0].w), maxWalSize: rows[0].s };
}

/** The preview's warning when the table with its indexes is larger than max_wal_size; null otherwise. */
export function walHeadroomWarning(id: string, h: WalHeadroom): string | null {
  if (h.tableBytes <= h.maxWalBytes) return null;
  return (
    `${id}: the table with its indexes (${formatBytes(h.tableBytes)}) is larger than max_wal_size (${h.maxWalSize}): ` +
    `during the backfill checkpoints will come every few seconds, and after each one every page the batches touch goes to WAL whole again ` +
    `(full_page_writes), so the backfill can write many times the table's size in WAL (replicas and the WAL archive receive all of it) ` +
    `and slow the application's commits. Raising max_wal_size above the table's size for the backfill needs a reload, not a restart.`
  );
}
