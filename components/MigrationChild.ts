import * as pulumi from "@pulumi/pulumi";
import type { ConnectionConfig } from "../src/db/connection";
import { CHILDREN, type ChildKind } from "../src/children";
import type { Observed } from "../src/policy/rules";
import type { MigrationSpec } from "../src/spec";
import { stepProvider } from "./provider";

export interface MigrationChildArgs {
  connection: pulumi.Input<ConnectionConfig>;
  spec: pulumi.Input<MigrationSpec>;
  /** The SQL the child will run, shown by `pulumi preview`. */
  statements: pulumi.Input<string[]>;
  /** `organization/project/stack/component`: who runs the migration. */
  owner: string;
  /** What the planning read, for the policy pack (a policy sees child inputs, never the component's arguments). */
  observed: pulumi.Input<Observed>;
  /** The Contract child only: when the cutover committed (the Cutover child's output), for the soak policy. */
  cutoverAt?: pulumi.Input<string | null>;
  /** The ShadowIndexes child only: swap back a cutover Pulumi may not have recorded (src/provider/inputs.ts). */
  rollBack?: pulumi.Input<boolean>;
}

/** One child of a ColumnTypeChange: a dynamic resource run by src/provider. */
export class MigrationChild extends pulumi.dynamic.Resource {
  declare readonly kind: pulumi.Output<ChildKind>;
  declare readonly statements: pulumi.Output<string[]>;
  /** What the child found or did (rows backfilled, objects built, status ...). */
  declare readonly result: pulumi.Output<Record<string, unknown>>;

  constructor(kind: ChildKind, name: string, args: MigrationChildArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      stepProvider,
      name,
      { kind, ...args, result: undefined },
      // outputs carry the connection (delete needs it): keep it a secret there too
      { ...opts, additionalSecretOutputs: ["connection"] },
      "pgshift",
      CHILDREN.find((c) => c.kind === kind)!.type,
    );
  }
}
