import type { ClientBase } from "pg";
import { MigrationBusyError } from "../errors";

/**
 * One migration step at a time per column: a session-level advisory lock keyed by the
 * migration id. Another pgshift run on the same column waits up to `waitMs`, then fails.
 */
export async function withMigrationLock<T>(db: ClientBase, id: string, fn: () => Promise<T>, waitMs = 30000): Promise<T> {
  const key = `pgshift:${id}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await db.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok`, [key]);
    if (rows[0].ok) break;
    if (Date.now() > deadline) throw new MigrationBusyError(id);
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await fn();
  } finally {
    await db.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [key]).catch(() => undefined);
  }
}
