/**
 * The policy pack (dist/policy, built by `npm run build`) through the real CLI:
 * `pulumi preview` / `pulumi up` with `--policy-pack` (the Automation API's policyPacks) and
 * `--policy-pack-config`. The CLI here has no pulumi-language-nodejs plugin, so it starts the
 * pack through the `pulumi-analyzer-policy-nodejs` script the package ships (dist/policy/bin),
 * put on its PATH as the README says; with that plugin (official releases) the script is unused.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { ColumnTypeChange, type Stage } from "../../index";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, repoRoot, scratchDir } from "../support/pulumi";

const TABLE = "policy_file";
const PACK = path.join(repoRoot, "dist", "policy");

async function columnExists(url: string, column: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`, [TABLE, column]);
    return rows.length > 0;
  });
}

describe("the policy pack through the real pulumi preview and up", function () {
  this.timeout(15 * 60_000);
  let db: TestDatabase;
  let configDir: string;

  before(async () => {
    assert.ok(fs.existsSync(path.join(PACK, "PulumiPolicy.yaml")), `${PACK} is not built: run npm run build`);
    db = await createTestDatabase("policy");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, file_size integer NOT NULL, chunk_size integer NOT NULL, payload text NOT NULL)`);
      // about 300 kB: above the 8 kB unthrottled ceiling the tests configure
      await c.query(`INSERT INTO ${TABLE} (file_size, chunk_size, payload) SELECT g, g % 64, repeat('x', 100) FROM generate_series(1, 2000) g`);
    });
    configDir = scratchDir("policy-config");
  });

  after(async () => {
    await db?.drop();
  });

  /** A --policy-pack-config file: the settings of each policy by its name. */
  function policyConfig(soakSeconds: number): string {
    const file = path.join(configDir, `soak-${soakSeconds}.json`);
    fs.writeFileSync(file, JSON.stringify({ "pgshift-cutover-soak": { soakSeconds }, "pgshift-backfill-throttle": { maxUnthrottledTableBytes: 8192 } }));
    return file;
  }

  /**
   * A stack whose program is one ColumnTypeChange of file_size at config `stage`, with config
   * `lockRetries` and `unthrottled` (every backfill throttle off), and with config `second`
   * another one of chunk_size on the same table.
   */
  async function policyStack(name: string): Promise<Stack> {
    const program = async () => {
      const config = new pulumi.Config();
      const common = { table: TABLE, toType: "bigint", connection: pulumi.secret(db.url) };
      const lockRetries = config.getNumber("lockRetries");
      new ColumnTypeChange(`${name}-file-size`, {
        ...common,
        column: "file_size",
        stage: config.require("stage") as Stage,
        ...(lockRetries !== undefined ? { lockRetries } : {}),
        ...(config.getBoolean("unthrottled") ? { backfill: { maxReplicationLagMs: 0, maxCommitLatencyMs: 0 } } : {}),
      });
      if (config.getBoolean("second")) new ColumnTypeChange(`${name}-chunk-size`, { ...common, column: "chunk_size", stage: "expand" });
    };
    return createStack({ projectName: `pgshift-policy-${name}`, program, pathDirs: [path.join(PACK, "bin")] });
  }

  const withPack = (soakSeconds = 3600) => ({ policyPacks: [PACK], policyPackConfigs: [policyConfig(soakSeconds)] });

  /** The preview's error and output, asserting that it was refused. */
  async function refused(op: (onOutput: (s: string) => void) => Promise<unknown>): Promise<string> {
    const out = collectOutput();
    const err = await op(out.onOutput).then(
      () => assert.fail(`expected a refusal:\n${out.text()}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    return `${err.message}\n${out.text()}`;
  }

  it("refuses going from nothing to cutover in one update (which pgshift itself allows), and the settings that are unsafe", async () => {
    const stack = await policyStack("skip");
    await stack.setConfig("stage", { value: "cutover" });
    // without the pack the same preview passes: the refusal below is the policy's
    const plain = collectOutput();
    await stack.preview({ onOutput: plain.onOutput });
    assert.doesNotMatch(plain.text(), /pgshift-one-stage-per-update/);

    const skip = await refused((onOutput) => stack.preview({ onOutput, ...withPack() }));
    assert.match(skip, /mandatory\]\s+pgshift-one-stage-per-update/);
    assert.match(skip, /would go from nothing to "cutover" in one update/);

    await stack.setAllConfig({ stage: { value: "expand" }, lockRetries: { value: "1" }, unthrottled: { value: "true" } });
    const unsafe = await refused((onOutput) => stack.preview({ onOutput, ...withPack() }));
    assert.match(unsafe, /mandatory\]\s+pgshift-lock-settings/);
    assert.match(unsafe, /lockRetries 1 is below 2 \(retries are off/);
    assert.match(unsafe, /mandatory\]\s+pgshift-backfill-throttle/);
    assert.match(unsafe, /the backfill runs with no throttle .* on a table of \d+ bytes, above 8192/);
    assert.doesNotMatch(unsafe, /pgshift-one-stage-per-update/);

    // refused at `pulumi up` too, before the first child runs: nothing in the database
    await refused((onOutput) => stack.up({ onOutput, ...withPack() }));
    assert.equal(await columnExists(db.url, "file_size__pgshift_new"), false, "a refused up added the shadow column");
  });

  it("warns when two changes touch the same table in one update, and the preview passes", async () => {
    const stack = await policyStack("two");
    await stack.setAllConfig({ stage: { value: "expand" }, second: { value: "true" } });
    const out = collectOutput();
    // with the settings file of examples/gitops: the CLI validates it against the pack's config schema
    const example = path.join(repoRoot, "examples", "gitops", "pgshift-policy.json");
    await stack.preview({ onOutput: out.onOutput, policyPacks: [PACK], policyPackConfigs: [example] });
    assert.match(out.text(), /advisory\]\s+pgshift-one-change-per-table/);
    assert.match(out.text(), /2 changes touch table "public"\."policy_file" in one update \(column (file_size|chunk_size), column (file_size|chunk_size)\)/);
  });

  it("passes compliant promotions and refuses contract until cutover has been live for the soak time", async () => {
    const stack = await policyStack("soak");
    const up = async (stage: Stage, soakSeconds = 3600) => {
      await stack.setConfig("stage", { value: stage });
      const out = collectOutput();
      const result = await stack.up({ onOutput: out.onOutput, ...withPack(soakSeconds) });
      assert.equal(result.summary.result, "succeeded", out.text());
      assert.doesNotMatch(out.text(), /pgshift-(one-stage|cutover-soak|lock-settings|backfill-throttle|one-change)/, "a compliant update reported a policy");
    };
    await up("expand");
    await up("cutover");

    await stack.setConfig("stage", { value: "contract" });
    const soak = await refused((onOutput) => stack.preview({ onOutput, ...withPack(3600) }));
    assert.match(soak, /mandatory\]\s+pgshift-cutover-soak/);
    assert.match(soak, /cutover has been live for \d+s \(since \d{4}-\d\d-\d\dT[\d:.]+Z\), less than the soak of 3600s/);
    await refused((onOutput) => stack.up({ onOutput, ...withPack(3600) }));
    assert.equal(await columnExists(db.url, "file_size__pgshift_old"), true, "a refused contract dropped the old column");

    await up("contract", 0);
    assert.equal(await columnExists(db.url, "file_size__pgshift_old"), false);
  });
});
