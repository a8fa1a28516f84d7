import type { ChildKind } from "../children";
import type { ConnectionConfig } from "../db/connection";
import type { Observed } from "../policy/rules";
import type { MigrationSpec } from "../spec";

export { CHILD_KINDS, type ChildKind } from "../children";

/** Inputs of every child resource. */
export interface ChildInputs {
  kind: ChildKind;
  /** Secret. */
  connection: ConnectionConfig;
  spec: MigrationSpec;
  /** The SQL this step runs against the table as it was planned: what `pulumi preview` shows. */
  statements: string[];
  /** `organization/project/stack/component` of the ColumnTypeChange: the migration's owner. */
  owner?: string;
  /**
   * The table the migration resolved to when this child was created (never set by the
   * program): from then on the child acts on it, whatever `spec.table` resolves to later.
   */
  table?: TableRef;
  /**
   * What the program read when it planned this update (the recorded stage, the table and its
   * size), for the policy pack (src/policy/rules.ts). Neither diff nor the handlers use it, so
   * a new value is no change of the child.
   */
  observed?: Observed;
  /** The Contract child only: the Cutover child's `result.cutoverAt`, for the policy pack's soak rule. */
  cutoverAt?: string | null;
  /**
   * The ShadowIndexes child only: true when the component asks for expand while the state row
   * says cutover. The step back is the Cutover child's delete, but a Cutover whose swap
   * committed just before its `pulumi up` was killed was never recorded by Pulumi, and has no
   * delete: this child then swaps back (the same rollback). A new true is a change (diff).
   */
  rollBack?: boolean;
}

/** A resolved table: its schema and name. */
export interface TableRef {
  schema: string;
  name: string;
}

/** Outputs: the inputs plus what the step found or did. */
export interface ChildOutputs extends ChildInputs {
  result: Record<string, unknown>;
}
