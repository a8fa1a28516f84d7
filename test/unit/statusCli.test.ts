// `pgshift status` without a server: where it connects, what its messages may say, and the
// exit code 2 of every bad command line (in-process, so no database is needed).
import assert from "node:assert/strict";
import { describeTarget, resolveCliConnection, safeMessage, UsageError } from "../../src/cli/connection";
import { EXIT_OK, EXIT_USAGE, main, type CliIo } from "../../src/cli/main";

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (t) => (out += t), stderr: (t) => (err += t), env };
  const code = await main(argv, io);
  return { code, out, err };
}

describe("status: the connection", () => {
  const PG = { PGHOST: "db.internal", PGPORT: "6432", PGUSER: "ops", PGPASSWORD: "pw", PGDATABASE: "shop", PGSSLMODE: "require" };

  it("--connection first, then DATABASE_URL, then the PG* variables", () => {
    assert.deepEqual(resolveCliConnection("postgresql://a@h/d", { DATABASE_URL: "postgresql://b@h/d", ...PG }), { connectionString: "postgresql://a@h/d" });
    assert.deepEqual(resolveCliConnection(undefined, { DATABASE_URL: "postgresql://b@h/d", ...PG }), { connectionString: "postgresql://b@h/d" });
    assert.deepEqual(resolveCliConnection(undefined, PG), { host: "db.internal", port: 6432, user: "ops", password: "pw", database: "shop", sslmode: "require" });
  });

  it("nothing to connect to, an empty --connection or a PGPORT that is no number: a usage error", () => {
    assert.throws(() => resolveCliConnection(undefined, {}), UsageError);
    assert.throws(() => resolveCliConnection(undefined, { PGPASSWORD: "x" }), UsageError);
    assert.throws(() => resolveCliConnection(" ", PG), UsageError);
    assert.throws(() => resolveCliConnection(undefined, { PGHOST: "h", PGPORT: "54x" }), /PGPORT must be a port number/);
  });

  it("messages never carry a password: URL user info and every known password are masked", () => {
    const conn = { connectionString: "postgresql://ops:p%40ss@db:5432/shop" };
    assert.equal(safeMessage("failed for postgresql://ops:p%40ss@db:5432/shop", conn, {}), "failed for postgresql://***@db:5432/shop");
    assert.equal(safeMessage("echo p@ss and p%40ss", conn, {}), "echo *** and ***");
    assert.equal(safeMessage("bad\npassword hunter2", { host: "h" }, { PGPASSWORD: "hunter2" }), "bad password ***");
    assert.equal(safeMessage("x s3 y", { connectionString: "host=h password='s3'" }, {}), "x *** y");
  });

  it("names the target without user info", () => {
    assert.equal(describeTarget({ connectionString: "postgresql://ops:pw@db:5432/shop" }, {}), "db:5432/shop");
    assert.equal(describeTarget({ host: "db", port: 5432, database: "shop", password: "pw" }, {}), "db:5432/shop");
    assert.equal(describeTarget({ connectionString: "host=db password=pw" }, {}), "the given connection string");
  });
});

describe("status: the command line", () => {
  it("--help and --version exit 0", async () => {
    const help = await run(["status", "--help"]);
    assert.equal(help.code, EXIT_OK);
    assert.match(help.out, /--connection <url>/);
    assert.match(help.out, /--schema <schema>/);
    assert.match(help.out, /--json/);
    const version = await run(["--version"]);
    assert.equal(version.code, EXIT_OK);
    assert.match(version.out, /^\d+\.\d+\.\d+/);
  });

  const bad: [string, string[], RegExp][] = [
    ["no command", [], /Usage: pgshift/],
    ["an unknown command", ["stats"], /unknown command 'stats'/],
    ["an unknown option", ["status", "--bogus"], /unknown option '--bogus'/],
    ["--schema without its value", ["status", "--schema"], /argument missing/],
    ["an empty --schema", ["status", "--schema", "", "--connection", "postgresql://h/d"], /--schema is empty/],
    ["an extra argument", ["status", "public"], /too many arguments/],
    ["no connection anywhere", ["status"], /no database connection: pass --connection/],
  ];
  for (const [what, argv, message] of bad) {
    it(`${what}: exit 2 and a message on stderr`, async () => {
      const r = await run(argv);
      assert.equal(r.code, EXIT_USAGE, r.err);
      assert.match(r.err, message);
      assert.equal(r.out, "");
    });
  }
});
