import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, type Stage } from "../../index";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, exportedState, stackBackendDir, storedStateFiles } from "../support/pulumi";

/**
 * The password of the connection appears nowhere in plain text: not in the exported stack
 * state (outside Pulumi's secret markers, see exportedOutsideSecrets), the files of the backend (every checkpoint and history entry), the stack's work dir,
 * the output of preview / up / refresh / destroy through the whole lifecycle, the error of a
 * wrong password or an unreachable host, or pgshift's state table. The role's password is
 * distinctive (random, with characters a URL encodes) and each text is searched for it raw,
 * URL-encoded and base64-encoded.
 */
/** Pulumi's marker of a secret value in a deployment: `{ [SECRET_SIG]: SECRET_VALUE, plaintext }`. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** `value` with every secret-marked value replaced by "[secret]". */
function outsideSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(outsideSecrets);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (o[SECRET_SIG] === SECRET_VALUE) return "[secret]";
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, outsideSecrets(v)]));
}

/**
 * stack.exportStack() runs `pulumi stack export --show-secrets`: it decrypts the secrets it
 * shows, each inside Pulumi's secret marker (stored encrypted: the backend files are searched
 * as they are). Everything outside a secret marker must be free of the password.
 */
async function exportedOutsideSecrets(stack: Stack, hasResources = false): Promise<string> {
  const text = await exportedState(stack);
  if (hasResources) assert.ok(text.includes(SECRET_SIG), "no secret in the exported state: the connection must be one");
  return JSON.stringify(outsideSecrets(JSON.parse(text)), null, 2);
}

describe("secrets: the password in no state, log, error or state row", function () {
  const ROLE = "pgshift_secret_owner";
  const password = `Sekr3t-${randomBytes(6).toString("hex")}/@#`;
  const wrongPassword = `Wr0ng-${randomBytes(6).toString("hex")}/@#`;
  const forms = (p: string) => [p, encodeURIComponent(p), Buffer.from(p).toString("base64")];
  let db: TestDatabase;
  const url = (pw: string, host?: string) => {
    const u = new URL(db.url);
    u.username = ROLE;
    u.password = encodeURIComponent(pw);
    if (host) u.host = host;
    return u.toString();
  };
  const texts: { where: string; text: string }[] = [];

  before(async () => {
    db = await createTestDatabase("secrets");
    await withClient(db.url, async (c) => {
      await c.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
      await c.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
      await c.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${ROLE}`);
      await c.query(`CREATE TABLE t (id serial PRIMARY KEY, n integer NOT NULL)`);
      await c.query(`INSERT INTO t (n) SELECT g FROM generate_series(1, 2000) g`);
      await c.query(`ALTER TABLE t OWNER TO ${ROLE}`);
    });
  });

  after(async () => {
    await db?.drop();
    await withClient(new URL("/postgres", db.url).toString(), (c) => c.query(`DROP ROLE IF EXISTS ${ROLE}`)).catch(() => undefined);
  });

  function assertNowhere(pw: string): void {
    assert.ok(texts.length > 0);
    for (const { where, text } of texts) {
      for (const form of forms(pw)) {
        const at = text.indexOf(form);
        // the password itself is masked in the message: the context shows where it was found
        const context = at < 0 ? "" : `${text.slice(Math.max(0, at - 300), at)}<PASSWORD>${text.slice(at + form.length, at + form.length + 100)}`;
        assert.ok(at < 0, `the password (${form === pw ? "plain" : form === forms(pw)[1] ? "URL-encoded" : "base64"}) is in ${where}: ...${context}...`);
      }
    }
  }

  function stackFor(name: string, connection: string): Promise<Stack> {
    return createStack({
      projectName: `pgshift-secrets-${name}`,
      program: async () => {
        new ColumnTypeChange("n", { table: "t", column: "n", toType: "bigint", stage: new pulumi.Config().require("stage") as Stage, connection: pulumi.secret(connection) });
      },
    });
  }

  it("through the whole lifecycle: state, backend files, work dir, output, state table", async () => {
    const stack = await stackFor("lifecycle", url(password));
    const out = collectOutput();
    const step = async (what: string, stage: Stage, run: () => Promise<unknown>) => {
      await stack.setConfig("stage", { value: stage });
      out.clear();
      await run();
      texts.push({ where: `the output of ${what}`, text: out.text() });
      texts.push({ where: `the exported state after ${what}`, text: await exportedOutsideSecrets(stack, what.startsWith("up")) });
    };
    await step("preview (expand)", "expand", () => stack.preview({ onOutput: out.onOutput }));
    await step("up (expand)", "expand", () => stack.up({ onOutput: out.onOutput }));
    await step("refresh", "expand", () => stack.refresh({ onOutput: out.onOutput }));
    await step("up (cutover)", "cutover", () => stack.up({ onOutput: out.onOutput }));
    await step("preview (contract)", "contract", () => stack.preview({ onOutput: out.onOutput }));
    await step("up (contract)", "contract", () => stack.up({ onOutput: out.onOutput }));
    await step("refresh after contract", "contract", () => stack.refresh({ onOutput: out.onOutput }));
    await withClient(db.url, async (c) => {
      const { rows } = await c.query<{ r: string }>(`SELECT row_to_json(m)::text AS r FROM pgshift_migrations m`);
      assert.equal(rows.length, 1);
      texts.push({ where: "the state table row", text: rows[0].r });
    });
    await step("destroy", "contract", () => stack.destroy({ onOutput: out.onOutput }));
    for (const [i, text] of storedStateFiles(stackBackendDir(stack)).entries()) texts.push({ where: `backend file ${i}`, text });
    const workDir = stack.workspace.workDir;
    for (const f of fs.readdirSync(workDir, { recursive: true, encoding: "utf8" })) {
      const p = path.join(workDir, f);
      if (fs.statSync(p).isFile()) texts.push({ where: `work dir file ${f}`, text: fs.readFileSync(p, "utf8") });
    }
    // the search itself works: the password is where it belongs (in the connection given)
    assert.ok(url(password).includes(encodeURIComponent(password)));
    assertNowhere(password);
  });

  for (const [name, connection, pw] of [
    ["wrong password", () => url(wrongPassword), wrongPassword],
    ["unreachable host", () => url(password, "127.0.0.1:9"), password],
  ] as const) {
    it(`${name}: the error names the failure, not the password`, async () => {
      const stack = await stackFor(name.replace(/ /g, "-"), connection());
      await stack.setConfig("stage", { value: "expand" });
      const out = collectOutput();
      const err = await stack.up({ onOutput: out.onOutput }).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, "the up succeeded");
      assert.match(`${err.message}\n${out.text()}`, name === "wrong password" ? /password authentication failed/ : /ECONNREFUSED|connect/);
      texts.length = 0;
      texts.push({ where: "the error", text: err.message }, { where: "the output", text: out.text() }, { where: "the exported state", text: await exportedOutsideSecrets(stack) });
      assertNowhere(pw);
    });
  }
});
