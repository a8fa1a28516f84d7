import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
// types only: the @pulumi/postgresql provider plugin cannot be built here, and nothing loads it
import type { ProviderArgs } from "@pulumi/postgresql";
import { clientConfig, normalizeConnection, type PostgresqlProviderFields } from "../../src/db/connection";
import { InvalidSpecError } from "../../src/errors";

// Compile-time proof that the object a team passes to `new postgresql.Provider(name, args)`
// fits pgshift's connection: if @pulumi/postgresql adds or retypes a field, tsc fails here.
type Resolved = { [K in keyof ProviderArgs]: pulumi.Unwrap<ProviderArgs[K]> };
const fitsProviderArgs: (args: Resolved) => PostgresqlProviderFields = (args) => args;
void fitsProviderArgs;

describe("connection settings (@pulumi/postgresql's ProviderArgs and pgshift's own)", () => {
  it("maps the provider's field names onto pgshift's", () => {
    assert.deepEqual(normalizeConnection({ host: "db", port: 6432, username: "app", password: "pw", database: "studio", sslMode: "require", connectTimeout: 7, superuser: false }), {
      host: "db",
      port: 6432,
      user: "app",
      password: "pw",
      database: "studio",
      sslmode: "require",
      connectTimeout: 7,
    });
  });

  it("keeps pgshift's own form as it is, and a connection string", () => {
    assert.deepEqual(normalizeConnection({ connectionString: "postgres://a@b/c" }), { connectionString: "postgres://a@b/c" });
    assert.deepEqual(normalizeConnection({ host: "db", user: "app", sslmode: "disable" }), { host: "db", user: "app", sslmode: "disable" });
  });

  it("turns connectTimeout (seconds) into the driver's milliseconds", () => {
    assert.equal(clientConfig({ host: "db", connectTimeout: 7 }).connectionTimeoutMillis, 7000);
  });

  for (const [field, args] of [
    ["awsRdsIamAuth", { host: "db", awsRdsIamAuth: true }],
    ["azureIdentityAuth", { host: "db", azureIdentityAuth: true }],
    ["gcpIamImpersonateServiceAccount", { host: "db", gcpIamImpersonateServiceAccount: "sa@x" }],
    ["scheme \"awspostgres\"", { host: "db", scheme: "awspostgres" }],
    ["clientcert", { host: "db", clientcert: { cert: "c", key: "k" } }],
  ] as const) {
    it(`refuses ${field} with what to do instead`, () => {
      assert.throws(
        () => normalizeConnection(args),
        (err: Error) => err instanceof InvalidSpecError && err.message.includes(`uses ${field}, which pgshift does not support`) && /Give pgshift its own `connection`/.test(err.message),
      );
    });
  }
});
