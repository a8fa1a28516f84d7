import { dollarQuote } from "../sql/dollarQuote";

/**
 * How a swap takes its tables: first SHARE UPDATE EXCLUSIVE, then ACCESS EXCLUSIVE.
 *
 * Right after a backfill, autovacuum is often busy on the table (every backfilled row left a
 * dead version), and an autovacuum holds SHARE UPDATE EXCLUSIVE. A swap that asked for ACCESS
 * EXCLUSIVE straight away would wait behind it, and every application statement on the table
 * would queue behind the swap's request until lock_timeout (measured: a 890 ms application
 * stall at cutover, the fourth attempt's 800 ms timeout). SHARE UPDATE EXCLUSIVE conflicts with
 * autovacuum but not with the application's reads and writes, so waiting for it stalls
 * nobody; waited for longer than deadlock_timeout, it makes PostgreSQL cancel the autovacuum
 * that blocks it (not an anti-wraparound one: then this attempt times out and is retried).
 * Holding it, no autovacuum starts on the tables again before the ACCESS EXCLUSIVE lock, which
 * is then taken under the attempt's own short lock_timeout.
 *
 * One DO statement, so the swap's statement list keeps one entry per step of the swap.
 */
export function yieldingLockSql(tables: string[]): string {
  const list = tables.join(", ");
  const body =
    ` DECLARE attempt text := current_setting('lock_timeout'); BEGIN ` +
    `PERFORM set_config('lock_timeout', (extract(epoch FROM current_setting('deadlock_timeout')::interval) * 2000 + 1000)::bigint::text, true); ` +
    `LOCK TABLE ${list} IN SHARE UPDATE EXCLUSIVE MODE; ` +
    `PERFORM set_config('lock_timeout', attempt, true); END `;
  return `DO ${dollarQuote(body)}`;
}

/** The swap's lock statements, in the order they run. */
export function swapLockSql(tables: string[]): string[] {
  return [yieldingLockSql(tables), `LOCK TABLE ${tables.join(", ")} IN ACCESS EXCLUSIVE MODE`];
}
