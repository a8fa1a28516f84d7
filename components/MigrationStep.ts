import * as pulumi from "@pulumi/pulumi";
import type { ConnectionConfig } from "../src/db/connection";
import type { StepKind } from "../src/provider/inputs";
import type { MigrationSpec } from "../src/spec";
import { stepProvider } from "./provider";

/** Pulumi type name of each child (`pulumi-nodejs:dynamic/pgshift:<Type>`). Never rename: it is resource identity. */
export const STEP_TYPES: Record<StepKind, string> = {
  "shadow-column": "ShadowColumn",
  "mirror-trigger": "MirrorTrigger",
  backfill: "Backfill",
  "shadow-indexes": "ShadowIndexes",
  cutover: "Cutover",
  contract: "Contract",
};

export interface MigrationStepArgs {
  connection: pulumi.Input<ConnectionConfig>;
  spec: pulumi.Input<MigrationSpec>;
  /** The SQL the step will run, shown by `pulumi preview`. */
  statements: pulumi.Input<string[]>;
  /** `organization/project/stack/component`: who runs the migration. */
  owner: string;
}

/** One child of a ColumnTypeChange: a dynamic resource run by src/provider. */
export class MigrationStep extends pulumi.dynamic.Resource {
  declare readonly kind: pulumi.Output<StepKind>;
  declare readonly statements: pulumi.Output<string[]>;
  /** What the step found or did (rows backfilled, objects built, status ...). */
  declare readonly result: pulumi.Output<Record<string, unknown>>;

  constructor(kind: StepKind, name: string, args: MigrationStepArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      stepProvider,
      name,
      { kind, ...args, result: undefined },
      // outputs carry the connection (delete needs it): keep it a secret there too
      { ...opts, additionalSecretOutputs: ["connection"] },
      "pgshift",
      STEP_TYPES[kind],
    );
  }
}
