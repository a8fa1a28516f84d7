/**
 * The reads behind `pgshift status`: the state rows, the migrated tables' row estimates, and
 * the pgshift sessions that wait on a lock with whoever blocks them. Read-only, cheap (no
 * count(*) of a table: estimates come from pg_class), and never waits long on a lock itself.
 */
import type { ClientBase } from "pg";
import { readAllMigrations } from "../db/state";
import type { LockBlocker, LockWait, SnapshotMigration, StatusSnapshot } from "./statusFormat";

/** application_name of the status command's own session (src/db/connection.ts names pgshift's sessions `pgshift ...`). */
export const STATUS_APPLICATION_NAME = "pgshift status";

/** Longest a piece of query text is kept in the report. */
const QUERY_CHARS = 1000;

/**
 * Makes the session safe to point at production: read-only, and a status read that would
 * queue behind a DDL lock on a state table gives up instead of queueing (and blocking others).
 */
export async function prepareSession(db: ClientBase): Promise<void> {
  await db.query(`SET default_transaction_read_only = on; SET lock_timeout = '5s'; SET statement_timeout = '60s'`);
}

async function estimates(db: ClientBase, tables: { schema: string; name: string }[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ schema: string; name: string; n: number }>(
    `SELECT t.schema, t.name, c.reltuples::float8 AS n
       FROM unnest($1::text[], $2::text[]) AS t(schema, name)
       JOIN pg_namespace ns ON ns.nspname = t.schema JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = t.name`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return new Map(rows.map((r) => [JSON.stringify([r.schema, r.name]), Number(r.n)]));
}

interface WaitRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  query: string | null;
  waiting_seconds: number | null;
  locktype: string | null;
  mode: string | null;
  relation: string | null;
  relation_schema: string | null;
  blockers: number[];
}

interface BlockerRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  state: string | null;
  transaction_seconds: number | null;
  query: string | null;
}

/**
 * pgshift sessions of this database (application_name `pgshift...`, or the query mentions
 * pgshift) that wait on a lock, each with the sessions pg_blocking_pids names. Query text of
 * other roles' sessions reads `<insufficient privilege>` unless this role has pg_read_all_stats.
 */
async function lockWaits(db: ClientBase, schema: string | null): Promise<LockWait[]> {
  const { rows } = await db.query<WaitRow>(
    `SELECT a.pid, a.application_name, a.usename::text, left(a.query, ${QUERY_CHARS}) AS query,
            extract(epoch FROM now() - coalesce(l.waitstart, a.query_start))::float8 AS waiting_seconds,
            l.locktype, l.mode, l.relation_name AS relation, l.relation_schema, pg_blocking_pids(a.pid) AS blockers
       FROM pg_stat_activity a
       LEFT JOIN LATERAL (
         -- pg_locks.waitstart is PostgreSQL 14+: read through jsonb so older servers get the query's start
         SELECT lk.locktype, lk.mode, (to_jsonb(lk) ->> 'waitstart')::timestamptz AS waitstart,
                CASE WHEN c.oid IS NOT NULL THEN format('%I.%I', n.nspname, c.relname) END AS relation_name, n.nspname::text AS relation_schema
           FROM pg_locks lk LEFT JOIN pg_class c ON c.oid = lk.relation LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE lk.pid = a.pid AND NOT lk.granted LIMIT 1
       ) l ON true
      WHERE a.pid <> pg_backend_pid() AND a.datname = current_database()
        AND (a.application_name LIKE 'pgshift%' OR a.query ILIKE '%pgshift%')
        AND cardinality(pg_blocking_pids(a.pid)) > 0
      ORDER BY a.pid`,
  );
  const waits = rows.filter((w) => schema === null || w.relation_schema === null || w.relation_schema === schema);
  const blockerPids = [...new Set(waits.flatMap((w) => w.blockers))];
  const { rows: blockerRows } = await db.query<BlockerRow>(
    `SELECT pid, application_name, usename::text, state, extract(epoch FROM now() - xact_start)::float8 AS transaction_seconds, left(query, ${QUERY_CHARS}) AS query
       FROM pg_stat_activity WHERE pid = ANY($1::int[])`,
    [blockerPids],
  );
  const byPid = new Map(blockerRows.map((b) => [b.pid, b]));
  return waits.map((w) => ({
    pid: w.pid,
    applicationName: w.application_name ?? "",
    user: w.usename,
    waitingSeconds: w.waiting_seconds === null ? null : Number(w.waiting_seconds.toFixed(1)),
    lockType: w.locktype,
    lockMode: w.mode,
    relation: w.relation,
    query: w.query ?? "",
    blockedBy: w.blockers.map((pid): LockBlocker => {
      const b = byPid.get(pid);
      return {
        pid,
        applicationName: b?.application_name ?? "",
        user: b?.usename ?? null,
        state: b?.state ?? null,
        transactionSeconds: b?.transaction_seconds == null ? null : Number(b.transaction_seconds.toFixed(1)),
        query: b?.query ?? "",
      };
    }),
  }));
}

/**
 * Everything the report shows. `schema` keeps the migrations whose table or state table is
 * in that schema, and the lock waits on its relations (waits on no relation, e.g. an advisory
 * lock, are kept).
 */
export async function readStatus(db: ClientBase, schema: string | null): Promise<StatusSnapshot> {
  const { rows: nowRows } = await db.query<{ now: Date }>(`SELECT now() AS now`);
  const all = await readAllMigrations(db);
  const rows = all.filter((m) => schema === null || m.stateSchema === schema || m.facts.table.schema === schema);
  const est = await estimates(db, rows.map((m) => ({ schema: m.facts.table.schema, name: m.facts.table.name })));
  const migrations: SnapshotMigration[] = rows.map((m) => {
    const n = est.get(JSON.stringify([m.facts.table.schema, m.facts.table.name]));
    // reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14+)
    return { ...m, estimatedRows: n === undefined || n < 0 ? null : n };
  });
  return { now: nowRows[0].now, schema, migrations, lockWaits: await lockWaits(db, schema) };
}
