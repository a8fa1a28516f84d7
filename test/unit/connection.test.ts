import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
// types only: the @pulumi/postgresql provider plugin cannot be built here, and nothing loads it
import type { ProviderArgs } from "@pulumi/postgresql";
import { clientConfig, normalizeConnection, type PostgresqlProviderFields } from "../../src/db/connection";
import { ConnectionLostError, InvalidSpecError, isConnectionLoss } from "../../src/errors";

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

describe("isConnectionLoss and ConnectionLostError", () => {
  const withCode = (code: string) => Object.assign(new Error("x"), { code });
  it("connection exceptions (class 08) and the shutdown codes are losses; a lock timeout, a cancel or a plain error are not", () => {
    for (const code of ["57P01", "57P02", "57P03", "08006", "08003"]) assert.ok(isConnectionLoss(withCode(code)), code);
    for (const err of [withCode("55P03"), withCode("57014"), new Error("boom"), "text"]) assert.ok(!isConnectionLoss(err), String(err));
  });
  it("names what was running, PostgreSQL's reason and the way forward", () => {
    const e = new ConnectionLostError("pgshift Backfill", "terminating connection due to administrator command");
    assert.match(e.message, /^the connection to the database was lost during pgshift Backfill: terminating connection due to administrator command\. /);
    assert.match(e.message, /run pulumi up again/);
    assert.equal(e.name, "ConnectionLostError");
  });
});
