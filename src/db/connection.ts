import type { Client, ClientConfig } from "pg";
import { asError, ConnectionLostError, InvalidSpecError, isConnectionLoss, PgShiftError } from "../errors";

/**
 * How to reach the database. Either a libpq connection string / URL or the same fields the
 * @pulumi/postgresql provider reads. Always a secret resource input: never logged, never in
 * plain text in the state file.
 */
export interface ConnectionConfig {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** libpq sslmode: disable | require | verify-ca | verify-full (prefer/allow are treated as disable). */
  sslmode?: string;
  /** Give up connecting after this many seconds (@pulumi/postgresql's connectTimeout). */
  connectTimeout?: number;
}

/**
 * The fields of @pulumi/postgresql's ProviderArgs (the `new postgresql.Provider(name, args)`
 * object, and its `postgresql:*` stack config keys), with their Inputs resolved. Declared here
 * structurally so users need not install that package; test/unit/connection.test.ts checks at
 * compile time that its ProviderArgs fits.
 */
export interface PostgresqlProviderFields {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  database?: string;
  sslmode?: string;
  sslMode?: string;
  connectTimeout?: number;
  scheme?: string;
  superuser?: boolean;
  expectedVersion?: string;
  maxConnections?: number;
  databaseUsername?: string;
  sslrootcert?: string;
  clientcert?: unknown;
  awsRdsIamAuth?: boolean;
  awsRdsIamProfile?: string;
  awsRdsIamRegion?: string;
  awsRdsIamProviderRoleArn?: string;
  azureIdentityAuth?: boolean;
  azureTenantId?: string;
  gcpIamImpersonateServiceAccount?: string;
}

/**
 * One ConnectionConfig from either form: pgshift's own fields (`user`) or @pulumi/postgresql's
 * (`username`, `sslMode`). Cloud IAM logins, client certificates and other schemes than
 * `postgres` are refused with what to do instead: pgshift connects with libpq settings.
 * (superuser, expectedVersion, maxConnections and databaseUsername only shape what that
 * provider does, and are ignored.)
 */
export function normalizeConnection(c: ConnectionConfig & PostgresqlProviderFields): ConnectionConfig {
  const unsupported = [
    c.awsRdsIamAuth ? "awsRdsIamAuth" : "",
    c.azureIdentityAuth ? "azureIdentityAuth" : "",
    c.gcpIamImpersonateServiceAccount ? "gcpIamImpersonateServiceAccount" : "",
    c.clientcert ? "clientcert" : "",
    c.sslrootcert ? "sslrootcert" : "",
    c.scheme && c.scheme !== "postgres" ? `scheme ${JSON.stringify(c.scheme)}` : "",
  ].filter(Boolean);
  if (unsupported.length) {
    throw new InvalidSpecError(
      `the connection uses ${unsupported.join(", ")}, which pgshift does not support: it connects with host, port, username, password, database and sslmode. ` +
        `Give pgshift its own \`connection\` (a connection string, e.g. with a password from your secret store) for this database.`,
    );
  }
  const user = c.user ?? c.username;
  const sslmode = c.sslmode ?? c.sslMode;
  return {
    ...(c.connectionString ? { connectionString: c.connectionString } : {}),
    ...(c.host ? { host: c.host } : {}),
    ...(c.port ? { port: Number(c.port) } : {}),
    ...(user ? { user } : {}),
    ...(c.password !== undefined && c.password !== null ? { password: c.password } : {}),
    ...(c.database ? { database: c.database } : {}),
    ...(sslmode ? { sslmode } : {}),
    ...(c.connectTimeout ? { connectTimeout: Number(c.connectTimeout) } : {}),
  };
}

/**
 * The connection the environment gives: DATABASE_URL, else the libpq PG* variables; undefined
 * when neither is set. The component and `pgshift status` both end their search here.
 */
export function connectionFromEnv(env: NodeJS.ProcessEnv): ConnectionConfig | undefined {
  if (env.DATABASE_URL) return { connectionString: env.DATABASE_URL };
  if (!env.PGHOST && !env.PGDATABASE && !env.PGUSER) return undefined;
  return {
    ...(env.PGHOST ? { host: env.PGHOST } : {}),
    ...(env.PGPORT ? { port: Number(env.PGPORT) } : {}),
    ...(env.PGUSER ? { user: env.PGUSER } : {}),
    ...(env.PGPASSWORD !== undefined ? { password: env.PGPASSWORD } : {}),
    ...(env.PGDATABASE ? { database: env.PGDATABASE } : {}),
    ...(env.PGSSLMODE ? { sslmode: env.PGSSLMODE } : {}),
  };
}

export function clientConfig(conn: ConnectionConfig, applicationName = "pgshift"): ClientConfig {
  const ssl =
    conn.sslmode === undefined || ["disable", "allow", "prefer"].includes(conn.sslmode)
      ? undefined
      : { rejectUnauthorized: conn.sslmode === "verify-ca" || conn.sslmode === "verify-full" };
  return {
    ...(conn.connectionString ? { connectionString: conn.connectionString } : {}),
    ...(conn.host ? { host: conn.host } : {}),
    ...(conn.port ? { port: conn.port } : {}),
    ...(conn.user ? { user: conn.user } : {}),
    ...(conn.password !== undefined ? { password: conn.password } : {}),
    ...(conn.database ? { database: conn.database } : {}),
    ...(ssl ? { ssl } : {}),
    ...(conn.connectTimeout ? { connectionTimeoutMillis: conn.connectTimeout * 1000 } : {}),
    application_name: applicationName,
  };
}

/** A connected client; the caller ends it. `pg` is loaded here, at call time (see provider/). */
export async function connect(conn: ConnectionConfig, applicationName?: string): Promise<Client> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require("pg") as typeof import("pg");
  const client = new pg.Client(clientConfig(conn, applicationName));
  // a session that ends under us (terminated, a server restart) is reported as an 'error'
  // event; unhandled, it is an uncaught exception with a stack trace in the pulumi output.
  // It is kept for withConnection, whose failed query only says the client is not queryable.
  client.on("error", (err) => lostConnections.set(client, err));
  await client.connect();
  // A statement_timeout or idle_in_transaction_session_timeout set on the role or database
  // (ALTER ROLE ... SET) is meant for the application: pgshift's backfill batches, index
  // builds, pre-flight scans and verification run longer by design, and its waits are bounded
  // by lock_timeout instead. Its own sessions turn both off.
  try {
    await client.query(`SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0`);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** Why a client's session ended under it (its 'error' event), until the client is gone. */
const lostConnections = new WeakMap<Client, Error>();

export async function withConnection<T>(conn: ConnectionConfig, fn: (db: Client) => Promise<T>, applicationName?: string): Promise<T> {
  const db = await connect(conn, applicationName);
  try {
    return await fn(db);
  } catch (err) {
    const lost = lostConnections.get(db) ?? (isConnectionLoss(err) ? asError(err) : undefined);
    if (lost && !(err instanceof PgShiftError)) throw new ConnectionLostError(applicationName ?? "pgshift", lost.message, { cause: err });
    throw err;
  } finally {
    await db.end().catch(() => undefined);
  }
}
