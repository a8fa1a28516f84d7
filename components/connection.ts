import * as pulumi from "@pulumi/pulumi";
import { connectionFromEnv, normalizeConnection, type ConnectionConfig, type PostgresqlProviderFields } from "../src/db/connection";
import { InvalidSpecError } from "../src/errors";
import { refusal } from "./refusal";

/**
 * A connection as users write it: a libpq URL / connection string, pgshift's fields, or the
 * very object a team passes to @pulumi/postgresql's `new postgresql.Provider(name, args)`
 * (its fields may be Inputs, secrets included).
 */
export type ConnectionArg = string | ConnectionConfig | { [K in keyof PostgresqlProviderFields]?: pulumi.Input<PostgresqlProviderFields[K]> };

/** The `postgresql:*` stack config keys pgshift reads (the names of @pulumi/postgresql's ProviderArgs), by type. */
const CONFIG_KEYS = {
  text: ["host", "username", "database", "sslmode", "scheme", "sslrootcert", "gcpIamImpersonateServiceAccount"],
  number: ["port", "connectTimeout"],
  boolean: ["awsRdsIamAuth", "azureIdentityAuth"],
} as const;

/**
 * Where the connection comes from, in order: the explicit `connection` argument; the stack
 * config keys @pulumi/postgresql reads (postgresql:host, port, username, password, database,
 * sslmode, ...); `DATABASE_URL`; the libpq PG* environment variables. The result is always a
 * secret. Every object form goes through one normalizeConnection.
 */
export function resolveConnection(explicit?: pulumi.Input<ConnectionArg>): pulumi.Output<ConnectionConfig> {
  const normalized = (c: unknown): ConnectionConfig => {
    if (typeof c === "string") return { connectionString: c };
    if (typeof c === "object" && c !== null) {
      try {
        return normalizeConnection(c as ConnectionConfig & PostgresqlProviderFields);
      } catch (err) {
        throw refusal(err);
      }
    }
    throw refusal(new InvalidSpecError("connection must be a connection string or an object of connection fields"));
  };
  if (explicit !== undefined) return pulumi.secret(pulumi.output(explicit).apply(normalized));
  const cfg = new pulumi.Config("postgresql");
  if (cfg.get("host") !== undefined) {
    const fields: Record<string, unknown> = {};
    const read = (keys: readonly string[], get: (k: string) => unknown) => keys.forEach((k) => get(k) !== undefined && (fields[k] = get(k)));
    read(CONFIG_KEYS.text, (k) => cfg.get(k));
    read(CONFIG_KEYS.number, (k) => cfg.getNumber(k));
    read(CONFIG_KEYS.boolean, (k) => cfg.getBoolean(k));
    return pulumi.secret(pulumi.output(cfg.getSecret("password")).apply((password) => normalized({ ...fields, ...(password !== undefined ? { password } : {}) })));
  }
  const fromEnv = connectionFromEnv(process.env);
  if (!fromEnv) {
    throw new InvalidSpecError(
      "no database connection: pass `connection`, set the postgresql:host (and username, password, database) stack config, DATABASE_URL, or the PGHOST/PGUSER/PGPASSWORD/PGDATABASE environment variables",
    );
  }
  return pulumi.secret(fromEnv);
}
