import type { Client, ClientConfig } from "pg";

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
    application_name: applicationName,
  };
}

/** A connected client; the caller ends it. `pg` is loaded here, at call time (see provider/). */
export async function connect(conn: ConnectionConfig, applicationName?: string): Promise<Client> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require("pg") as typeof import("pg");
  const client = new pg.Client(clientConfig(conn, applicationName));
  await client.connect();
  return client;
}

export async function withConnection<T>(conn: ConnectionConfig, fn: (db: Client) => Promise<T>, applicationName?: string): Promise<T> {
  const db = await connect(conn, applicationName);
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => undefined);
  }
}
