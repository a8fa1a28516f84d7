import * as pulumi from "@pulumi/pulumi";
import type { ConnectionConfig } from "../src/db/connection";
import { InvalidSpecError } from "../src/errors";
import { refusal } from "./refusal";

/** A connection as users write it: a libpq URL / connection string, or fields. */
export type ConnectionArg = string | ConnectionConfig;

/**
 * Where the connection comes from, in order: the explicit `connection` argument; the stack
 * config keys @pulumi/postgresql reads (postgresql:host, port, username, password, database,
 * sslmode); the libpq PG* environment variables. The result is always a secret.
 */
export function resolveConnection(explicit?: pulumi.Input<ConnectionArg>): pulumi.Output<ConnectionConfig> {
  if (explicit !== undefined) {
    return pulumi.secret(
      pulumi.output(explicit).apply((c): ConnectionConfig => {
        if (typeof c === "string") return { connectionString: c };
        if (typeof c === "object" && c !== null) return c as ConnectionConfig;
        throw refusal(new InvalidSpecError("connection must be a connection string or an object of connection fields"));
      }),
    );
  }
  const cfg = new pulumi.Config("postgresql");
  const host = cfg.get("host");
  if (host !== undefined) {
    const port = cfg.getNumber("port");
    return pulumi.secret(
      pulumi.output(cfg.getSecret("password")).apply((password): ConnectionConfig => ({
        host,
        ...(port ? { port } : {}),
        ...(cfg.get("username") ? { user: cfg.get("username") } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(cfg.get("database") ? { database: cfg.get("database") } : {}),
        ...(cfg.get("sslmode") ? { sslmode: cfg.get("sslmode") } : {}),
      })),
    );
  }
  const env = process.env;
  if (!env.PGHOST && !env.PGDATABASE && !env.PGUSER && !env.DATABASE_URL) {
    throw new InvalidSpecError(
      "no database connection: pass `connection`, set the postgresql:host (and username, password, database) stack config, or the PGHOST/PGUSER/PGPASSWORD/PGDATABASE environment variables",
    );
  }
  return pulumi.secret({
    ...(env.PGHOST ? { host: env.PGHOST } : {}),
    ...(env.PGPORT ? { port: Number(env.PGPORT) } : {}),
    ...(env.PGUSER ? { user: env.PGUSER } : {}),
    ...(env.PGPASSWORD !== undefined ? { password: env.PGPASSWORD } : {}),
    ...(env.PGDATABASE ? { database: env.PGDATABASE } : {}),
    ...(env.PGSSLMODE ? { sslmode: env.PGSSLMODE } : {}),
  });
}
