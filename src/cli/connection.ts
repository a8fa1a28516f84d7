/**
 * Where `pgshift status` connects, the component's order less what only exists in Pulumi
 * (components/connection.ts reads the postgresql:* stack config second): `--connection`,
 * else DATABASE_URL, else the libpq PG* environment variables. Pure.
 */
import { connectionFromEnv, type ConnectionConfig } from "../db/connection";

export class UsageError extends Error {}

export function resolveCliConnection(explicit: string | undefined, env: NodeJS.ProcessEnv): ConnectionConfig {
  if (explicit !== undefined) {
    if (explicit.trim() === "") throw new UsageError("--connection is empty");
    return { connectionString: explicit };
  }
  if (!env.DATABASE_URL && env.PGPORT !== undefined && !/^\d+$/.test(env.PGPORT)) throw new UsageError(`PGPORT must be a port number, not ${JSON.stringify(env.PGPORT)}`);
  const fromEnv = connectionFromEnv(env);
  if (!fromEnv) {
    throw new UsageError("no database connection: pass --connection <url>, or set DATABASE_URL, or the PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE environment variables");
  }
  return fromEnv;
}

/** Connect timeout in ms: libpq's PGCONNECT_TIMEOUT (seconds) when set, else 10 s. */
export function connectTimeoutMs(env: NodeJS.ProcessEnv): number {
  const s = Number(env.PGCONNECT_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 10_000;
}

/** Every password the configuration could carry: the field, PGPASSWORD, and the URL's. */
function secretsOf(conn: ConnectionConfig, env: NodeJS.ProcessEnv): string[] {
  const secrets = [conn.password, env.PGPASSWORD];
  for (const text of [conn.connectionString, env.DATABASE_URL]) {
    if (!text) continue;
    try {
      const url = new URL(text);
      secrets.push(url.password, decodeURIComponent(url.password), url.searchParams.get("password") ?? undefined);
    } catch {
      // a key=value connection string
      const m = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/.exec(text);
      if (m) secrets.push(m[1], m[1].replace(/^'|'$/g, ""));
    }
  }
  return secrets.filter((s): s is string => typeof s === "string" && s.length > 0);
}

/**
 * A one-line error message that cannot carry the password: URLs lose their user info, and
 * every known password is masked wherever it appears.
 */
export function safeMessage(message: string, conn: ConnectionConfig | undefined, env: NodeJS.ProcessEnv): string {
  let text = message.replace(/\s+/g, " ").trim().replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1***@");
  const secrets = conn ? secretsOf(conn, env) : [];
  for (const s of secrets.sort((a, b) => b.length - a.length)) text = text.split(s).join("***");
  return text;
}

/** Where the connection goes, for messages: host:port/database, never the user info. */
export function describeTarget(conn: ConnectionConfig, env: NodeJS.ProcessEnv): string {
  if (conn.connectionString) {
    try {
      const url = new URL(conn.connectionString);
      return `${url.hostname || env.PGHOST || "localhost"}${url.port ? `:${url.port}` : ""}${url.pathname.length > 1 ? url.pathname : ""}`;
    } catch {
      return "the given connection string";
    }
  }
  return `${conn.host ?? "localhost"}${conn.port ? `:${conn.port}` : ""}${conn.database ? `/${conn.database}` : ""}`;
}
