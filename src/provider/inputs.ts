import type { ConnectionConfig } from "../db/connection";
import type { MigrationSpec } from "../spec";

/** The child resources of a ColumnTypeChange, one dynamic resource each. */
export const STEP_KINDS = ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes", "cutover", "contract"] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Inputs of every child resource. */
export interface StepInputs {
  kind: StepKind;
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
}

/** A resolved table: its schema and name. */
export interface TableRef {
  schema: string;
  name: string;
}

/** Outputs: the inputs plus what the step found or did. */
export interface StepOutputs extends StepInputs {
  result: Record<string, unknown>;
}
