/**
 * Graph shape of the ColumnTypeChange component under Pulumi mocks: which children exist, their
 * type tokens, names, parents and dependsOn order. Mocks prove nothing about what a stage does
 * in a database (test/integration and test/e2e do that); they only pin the resource graph,
 * whose names and types are resource identity.
 *
 * The component plans the migration with planMigration(), which connects to PostgreSQL. Unit
 * tests have no database, so before the component module is loaded, the cached module
 * src/planning/planMigration is swapped for a copy whose planMigration returns a fixed plan (built from
 * the hand-made fixture). The swap is undone after the tests.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { ColumnTypeChange as ColumnTypeChangeClass, ColumnTypeChangeArgs } from "../../components/ColumnTypeChange";
import type { ConnectionConfig } from "../../src/db/connection";
import { InvalidSpecError } from "../../src/errors";
import { migrationNames } from "../../src/names";
import { planMirrorTrigger, planShadowColumn, planShadowIndexes } from "../../src/plan/expand";
import { untouched } from "../../src/plan/facts";
import { statementsOf } from "../../src/plan/step";
import type { MigrationPlan } from "../../src/planning/planMigration";
import { parseSpec, withoutStage, type ColumnChangeSpec, type Stage } from "../../src/spec";
import { fileContext } from "./support/fixtures";

/** The parts of the engine's RegisterResourceRequest this test reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getDependenciesList(): string[];
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
interface Registration {
  type: string;
  name: string;
  custom: boolean;
  parent: string;
  dependencies: string[];
  /** Inputs as sent to the engine: secrets still wrapped in their signature object. */
  inputs: Record<string, unknown>;
  urn?: string;
}
type Monitor = { registerResource(req: RegisterRequest, callback: (err: unknown, res: { getUrn(): string } | undefined) => void): Promise<void> };

const PASSWORD = "s3cret-pw";
const COMPONENT_TYPE = "pgshift:index:ColumnTypeChange";
const CHILD = (t: string) => `pulumi-nodejs:dynamic/pgshift:${t}`;
const EXPAND_CHILDREN = [
  ["shadow-column", "ShadowColumn"],
  ["mirror-trigger", "MirrorTrigger"],
  ["backfill", "Backfill"],
  ["shadow-indexes", "ShadowIndexes"],
] as const;

function fixedPlan(spec: ColumnChangeSpec = parseSpec({ table: "contentcuration_file", column: "file_size", toType: "bigint", stage: "expand" })): MigrationPlan {
  const ctx = fileContext();
  const fresh = untouched(ctx.facts);
  const names = migrationNames("public", "contentcuration_file", "file_size");
  return {
    id: names.id,
    recordedStage: null,
    reversible: true,
    irreversibleReason: null,
    shadowColumn: names.shadowColumn,
    childSpec: withoutStage(spec),
    statements: {
      shadowColumn: statementsOf(planShadowColumn(ctx, fresh)),
      mirrorTrigger: statementsOf(planMirrorTrigger(ctx, fresh)),
      backfill: ["-- backfill"],
      shadowIndexes: statementsOf(planShadowIndexes(ctx, fresh)),
      cutover: ["-- cutover"],
      contract: ["-- contract"],
    },
    warnings: [],
    family: [],
    observed: { table: { schema: "public", name: "contentcuration_file" }, recordedStage: null, tableBytes: 8192 },
  };
}

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

describe("ColumnTypeChange graph (Pulumi mocks)", function () {
  // the first dynamic resource serializes the provider shim (closure serialization): allow for it
  this.timeout(10_000);

  const registrations: Registration[] = [];
  const planCalls: { conn: ConnectionConfig; spec: ColumnChangeSpec }[] = [];
  let ColumnTypeChange: typeof ColumnTypeChangeClass;
  let restore: () => void = () => undefined;

  /** toType of the recorded migration, as the mocked plan reports it (undefined: the one given). */
  let recordedToType: string | undefined;
  /** The stage of the state row, as the mocked plan reports it. */
  let recordedStage: Stage | null = null;
  before(async () => {
    // swap planMigration before the component module is loaded (see the file comment)
    const planPath = require.resolve("../../src/planning/planMigration");
    const componentPath = require.resolve("../../components/ColumnTypeChange");
    require(planPath);
    const entry = require.cache[planPath];
    assert.ok(entry);
    const realExports: unknown = entry.exports;
    entry.exports = {
      ...(realExports as object),
      planMigration: async (conn: ConnectionConfig, spec: ColumnChangeSpec) => {
        planCalls.push({ conn, spec });
        return { ...fixedPlan(spec), recordedStage, childSpec: { ...withoutStage(spec), toType: recordedToType ?? spec.toType } };
      },
    };
    delete require.cache[componentPath];
    ({ ColumnTypeChange } = require(componentPath) as typeof import("../../components/ColumnTypeChange"));
    restore = () => {
      entry.exports = realExports;
      delete require.cache[componentPath];
    };

    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: args.inputs }),
        call: (args) => args.inputs,
      },
      "project",
      "stack",
      false,
      "organization",
    );
    // record parent and dependencies, which the Mocks interface does not pass on
    const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      const r: Registration = {
        type: req.getType(),
        name: req.getName(),
        custom: req.getCustom(),
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        inputs: req.getObject()?.toJavaScript() ?? {},
      };
      registrations.push(r);
      return register(req, (err, res) => {
        if (res) r.urn = res.getUrn();
        callback(err, res);
      });
    };
  });

  after(() => {
    restore();
    pulumi.runtime.resetOptions("", "", -1, "", "", false, "");
  });

  beforeEach(() => {
    recordedToType = undefined;
    registrations.length = 0;
    planCalls.length = 0;
  });

  const args = (extra: Partial<ColumnTypeChangeArgs> = {}): ColumnTypeChangeArgs => ({
    table: "contentcuration_file",
    column: "file_size",
    toType: "bigint",
    stage: "expand",
    connection: `postgres://app:${PASSWORD}@db.internal:5432/app`,
    ...extra,
  });

  /** Builds the component and waits until every resource it creates is registered. */
  async function build(name: string, extra: Partial<ColumnTypeChangeArgs> = {}) {
    const c = new ColumnTypeChange(name, args(extra));
    const steps = [c.children.shadowColumn, c.children.mirrorTrigger, c.children.backfill, c.children.shadowIndexes, c.children.cutover, c.children.contract].filter((s) => s !== undefined);
    await Promise.all([promiseOf(c.urn), ...steps.map((s) => promiseOf(s.urn))]);
    await promiseOf(c.statements);
    const byName = (n: string) => {
      const r = registrations.find((x) => x.name === n);
      assert.ok(r, `${n} registered; got ${registrations.map((x) => x.name).join(", ")}`);
      return r;
    };
    return { c, byName };
  }

  it("expand: one component and four children, parented to it, chained by dependsOn in order", async () => {
    const { byName } = await build("file-size");
    const component = byName("file-size");
    assert.equal(component.type, COMPONENT_TYPE);
    assert.equal(component.custom, false);
    assert.ok(component.urn);

    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [[COMPONENT_TYPE, "file-size"], ...EXPAND_CHILDREN.map(([suffix, type]) => [CHILD(type), `file-size-${suffix}`])],
    );
    let previous: string | undefined;
    for (const [suffix, type] of EXPAND_CHILDREN) {
      const child = byName(`file-size-${suffix}`);
      assert.equal(child.custom, true);
      assert.equal(child.parent, component.urn, `${suffix} is parented to the component`);
      assert.ok(child.urn?.endsWith(`::${COMPONENT_TYPE}$${CHILD(type)}::file-size-${suffix}`), child.urn);
      assert.deepEqual(child.dependencies, previous ? [previous] : [], `${suffix} depends on the previous child only`);
      previous = child.urn;
    }
  });

  it("children carry the toType the migration was started with when the plan says it names the same type (int8 for bigint)", async () => {
    recordedToType = "bigint";
    const { byName } = await build("same-type", { toType: "int8" });
    for (const [suffix] of EXPAND_CHILDREN) {
      const spec = byName(`same-type-${suffix}`).inputs.spec as { toType?: string };
      assert.equal(spec.toType, "bigint", `${suffix} keeps toType "bigint" (a changed toType would make the provider replace it)`);
    }
  });

  it("plans once, with the connection and the validated spec, and hands each child its own statements", async () => {
    const { c } = await build("plan-inputs");
    assert.equal(planCalls.length, 1);
    assert.deepEqual(planCalls[0].conn, { connectionString: `postgres://app:${PASSWORD}@db.internal:5432/app` });
    assert.equal(planCalls[0].spec.stage, "expand");
    assert.equal(planCalls[0].spec.backfill.batchSize, 5000);
    const plan = fixedPlan();
    assert.deepEqual(await promiseOf(c.children.shadowColumn!.statements), plan.statements.shadowColumn);
    assert.deepEqual(await promiseOf(c.children.mirrorTrigger!.statements), plan.statements.mirrorTrigger);
    assert.deepEqual(await promiseOf(c.children.shadowIndexes!.statements), plan.statements.shadowIndexes);
    assert.equal(await promiseOf(c.shadowColumn), "file_size__pgshift_new");
  });

  it("children get the connection as a secret input, the password nowhere else, and a spec without the stage", async () => {
    await build("secrets", { stage: "contract" });
    const children = registrations.filter((r) => r.custom);
    assert.equal(children.length, 6);
    const isSecret = (v: unknown) =>
      typeof v === "object" && v !== null && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
    for (const child of children) {
      const { connection, ...rest } = child.inputs;
      assert.ok(isSecret(connection), `${child.name}: connection is a secret`);
      assert.equal(typeof rest.__provider, "string", `${child.name}: the serialized provider is among the inputs checked`);
      assert.ok(!JSON.stringify(rest).includes(PASSWORD), `${child.name}: no password outside the secret (provider closure included)`);
      assert.ok(!isSecret(rest.statements), `${child.name}: statements readable in preview`);
      const spec = rest.spec as Record<string, unknown>;
      assert.equal(spec.column, "file_size");
      assert.ok(!("stage" in spec), `${child.name}: promoting the stage must not change this child's inputs`);
    }
  });

  it("cutover adds a Cutover child after ShadowIndexes; contract adds Contract after Cutover", async () => {
    const cut = await build("cut", { stage: "cutover" });
    assert.equal(cut.c.children.contract, undefined);
    const cutover = cut.byName("cut-cutover");
    assert.equal(cutover.type, CHILD("Cutover"));
    assert.equal(cutover.parent, cut.byName("cut").urn);
    assert.deepEqual(cutover.dependencies, [cut.byName("cut-shadow-indexes").urn]);

    const con = await build("con", { stage: "contract" });
    const contract = con.byName("con-contract");
    assert.equal(contract.type, CHILD("Contract"));
    assert.equal(contract.parent, con.byName("con").urn);
    assert.deepEqual(contract.dependencies, [con.byName("con-cutover").urn]);
    assert.equal(registrations.filter((r) => r.name.startsWith("con")).length, 7);
  });

  it("ShadowIndexes asks to swap back only at expand over a row at cutover (a Cutover Pulumi may not have recorded)", async () => {
    try {
      recordedStage = "cutover";
      const back = await build("back");
      assert.equal(back.byName("back-shadow-indexes").inputs.rollBack, true);
      for (const other of ["shadow-column", "mirror-trigger", "backfill"]) assert.equal(back.byName(`back-${other}`).inputs.rollBack, undefined, other);
      const staying = await build("staying", { stage: "cutover" });
      assert.equal(staying.byName("staying-shadow-indexes").inputs.rollBack, false);
      recordedStage = "expand";
      const fresh = await build("fresh");
      assert.equal(fresh.byName("fresh-shadow-indexes").inputs.rollBack, false);
    } finally {
      recordedStage = null;
    }
  });

  it("expand has no Cutover or Contract child", async () => {
    const { c } = await build("only-expand");
    assert.equal(c.children.cutover, undefined);
    assert.equal(c.children.contract, undefined);
    assert.ok(!registrations.some((r) => r.type === CHILD("Cutover") || r.type === CHILD("Contract")));
  });

  it("invalid arguments throw InvalidSpecError from the constructor, synchronously, before any child", () => {
    const cases: [Partial<ColumnTypeChangeArgs>, string][] = [
      [{ stage: "bogus" as ColumnTypeChangeArgs["stage"] }, 'stage must be one of "expand", "cutover", "contract" (got "bogus")'],
      [{ table: "a.b.c" }, 'table name "a.b.c" must be "table" or "schema.table"'],
      [{ toType: "bigint; drop table x" }, 'toType "bigint; drop table x" is not a type name'],
      [{ backfill: { batchSize: -1 } }, "backfill.batchSize must be a positive integer (got -1)"],
    ];
    for (const [extra, message] of cases) {
      assert.throws(
        () => new ColumnTypeChange("bad", args(extra)),
        (err: unknown) => err instanceof InvalidSpecError && err.message.startsWith(message),
      );
    }
    assert.ok(!registrations.some((r) => r.name.startsWith("bad-")), "no child registered");
    assert.equal(planCalls.length, 0);
  });
});
