import type { ClientBase } from "pg";
import { withConnection, type ConnectionConfig } from "../db/connection";
import { reltuples } from "../catalog/tableSize";
import { fitIdentifier } from "../names";
import type { PlanContext } from "../plan/facts";
import { backfillCallSql } from "./procedure";
import { vacuumSql } from "./sql";
import { vacuumEveryRowsOf, vacuumJobSchedule } from "./vacuumCadence";

/**
 * pg_cron, where the in-database backfill's job lives. pg_cron keeps its jobs in one database
 * of the server (`cron.database_name`); `cron.schedule_in_database` runs a job in another, so a
 * migration in any database is scheduled through a second connection to that one, with the
 * same credentials. The job runs as the role that scheduled it.
 */

/** The database pg_cron keeps its jobs in, or null when pg_cron is not loaded (shared_preload_libraries). */
export async function cronDatabaseName(db: ClientBase): Promise<string | null> {
  const { rows } = await db.query<{ name: string | null }>(`SELECT current_setting('cron.database_name', true) AS name`);
  return rows[0]?.name || null;
}

/** `conn` to another database of the same server. */
export function onDatabase(conn: ConnectionConfig, database: string): ConnectionConfig {
  if (!conn.connectionString) return { ...conn, database };
  // a URL's path names the database; pg lets the connection string win over a `database` field
  const url = new URL(conn.connectionString);
  url.pathname = "/" + encodeURIComponent(database);
  return { ...conn, connectionString: url.toString() };
}

export async function withCron<T>(db: ClientBase, conn: ConnectionConfig, fn: (cron: ClientBase) => Promise<T>): Promise<T> {
  const name = await cronDatabaseName(db);
  if (!name) throw new Error("pg_cron is not loaded on this server");
  const { rows } = await db.query<{ here: string }>(`SELECT current_database() AS here`);
  if (rows[0].here === name) return fn(db);
  return withConnection(onDatabase(conn, name), fn, "pgshift cron");
}

/**
 * Why the in-database backfill cannot run here, or null when it can: pg_cron loaded, its
 * extension created in its database, and this role allowed to call cron.schedule_in_database.
 */
export async function cronProblem(db: ClientBase, conn: ConnectionConfig): Promise<string | null> {
  const name = await cronDatabaseName(db);
  if (!name) return "pg_cron is not loaded on this server (shared_preload_libraries does not list it)";
  try {
    return await withCron(db, conn, async (cron) => {
      const { rows } = await cron.query<{ ext: boolean; may: boolean | null }>(
        `SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') AS ext,
                (SELECT has_function_privilege(p.oid, 'EXECUTE') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'cron' AND p.proname = 'schedule_in_database' LIMIT 1) AS may`,
      );
      if (!rows[0].ext) return `pg_cron is loaded but its extension is not created in database "${name}" (CREATE EXTENSION pg_cron there)`;
      if (!rows[0].may) return `this role may not call cron.schedule_in_database in database "${name}" (GRANT EXECUTE on it, or ask your provider how to schedule jobs in other databases)`;
      return null;
    });
  } catch (err) {
    return `cannot connect to pg_cron's database "${name}" with the migration's credentials (${err instanceof Error ? err.message : String(err)})`;
  }
}

/**
 * The job's name: unique per database and migration (so every test database gets its own),
 * within the 63 bytes of cron.job.jobname (a longer one keeps a hash of the whole).
 */
export function backfillJobName(database: string, id: string): string {
  return fitIdentifier(`pgshift backfill ${database} ${id}`, "");
}

/** The second job's: it VACUUMs the table while the backfill runs (backfill.vacuumEveryRows, vacuumCadence.ts). */
export function vacuumJobName(database: string, id: string): string {
  return fitIdentifier(`pgshift vacuum ${database} ${id}`, "");
}

async function here(db: ClientBase): Promise<{ db: string; role: string }> {
  const { rows } = await db.query<{ db: string; role: string }>(`SELECT current_database() AS db, current_user AS role`);
  return rows[0];
}

async function jobName(db: ClientBase, ctx: PlanContext): Promise<string> {
  return backfillJobName((await here(db)).db, ctx.names.id);
}

/**
 * Schedules the job (every minute; it runs to the end, and pg_cron never runs two of one job at
 * once) and, unless backfill.vacuumEveryRows is 0, the VACUUM job beside it (vacuumCadence.ts):
 * the procedure cannot VACUUM, and autovacuum does not see the dead rows of a CALL still
 * running. Idempotent.
 */
export async function scheduleBackfillJob(db: ClientBase, conn: ConnectionConfig, ctx: PlanContext): Promise<number> {
  const at = await here(db);
  const jobs: [string, string, string][] = [[backfillJobName(at.db, ctx.names.id), "* * * * *", backfillCallSql(ctx)]];
  const vacuumEvery = vacuumEveryRowsOf(ctx.spec.backfill.vacuumEveryRows, (await reltuples(db, ctx.facts.table.qualifiedName)) ?? 0);
  if (vacuumEvery > 0) jobs.push([vacuumJobName(at.db, ctx.names.id), vacuumJobSchedule(vacuumEvery), vacuumSql(ctx)]);
  return withCron(db, conn, async (cron) => {
    const ids: number[] = [];
    for (const [name, schedule, command] of jobs) {
      const { rows } = await cron.query<{ id: string }>(`SELECT cron.schedule_in_database($1, $2, $3, $4, $5, true) AS id`, [name, schedule, command, at.db, at.role]);
      ids.push(Number(rows[0].id));
    }
    if (jobs.length === 1) await cron.query(`SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1`, [vacuumJobName(at.db, ctx.names.id)]);
    return ids[0];
  });
}

export interface JobStatus {
  jobid: number;
  /** The last run's status (starting, running, succeeded, failed) and message, if it ran. */
  lastRun: { status: string; message: string | null; start: string | null; end: string | null } | null;
}

export async function backfillJobStatus(db: ClientBase, conn: ConnectionConfig, ctx: PlanContext): Promise<JobStatus | null> {
  if (!(await cronDatabaseName(db))) return null;
  const name = await jobName(db, ctx);
  return withCron(db, conn, async (cron) => {
    const { rows } = await cron.query<{ jobid: string }>(`SELECT jobid FROM cron.job WHERE jobname = $1`, [name]);
    if (!rows[0]) return null;
    const jobid = Number(rows[0].jobid);
    const { rows: runs } = await cron.query<{ status: string; message: string | null; start: string | null; end: string | null }>(
      `SELECT status, return_message AS message, start_time::text AS start, end_time::text AS "end" FROM cron.job_run_details WHERE jobid = $1 ORDER BY runid DESC LIMIT 1`,
      [jobid],
    );
    return { jobid, lastRun: runs[0] ?? null };
  });
}

/**
 * Unschedules the job and ends a run in flight (its batch rolls back; the checkpoint stays at
 * the last committed batch), waiting until that backend is gone. Idempotent; a server without
 * pg_cron has no job.
 */
export async function unscheduleBackfillJob(db: ClientBase, conn: ConnectionConfig, ctx: PlanContext): Promise<boolean> {
  if (!(await cronDatabaseName(db))) return false;
  const at = await here(db);
  const names = [backfillJobName(at.db, ctx.names.id), vacuumJobName(at.db, ctx.names.id)];
  const found = await withCron(db, conn, async (cron) => {
    const { rows } = await cron.query<{ jobid: string }>(`SELECT jobid FROM cron.job WHERE jobname = ANY ($1::text[])`, [names]);
    for (const r of rows) await cron.query(`SELECT cron.unschedule($1::bigint)`, [r.jobid]);
    return rows.length > 0;
  });
  // the runs' backends, in this database, run exactly these commands
  const running = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = ANY ($1::text[])`;
  for (let i = 0; i < 100; i++) {
    const { rows } = await db.query<{ pid: number }>(running, [[backfillCallSql(ctx), vacuumSql(ctx)]]);
    if (rows.length === 0) break;
    for (const r of rows) await db.query(`SELECT pg_terminate_backend($1)`, [r.pid]);
    await new Promise((res) => setTimeout(res, 100));
  }
  return found;
}
