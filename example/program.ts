import * as pulumi from "@pulumi/pulumi";
// In your own project: import { ColumnTypeChange, type Stage } from "pgshift";
import { ColumnTypeChange, type Stage } from "../index";

/**
 * The GitOps example: everything comes from stack config, so a change is promoted by a pull
 * request that edits one line of Pulumi.<stack>.yaml (`pgshift-example:stage`).
 *
 * The connection comes from the same keys @pulumi/postgresql reads:
 *   pulumi config set postgresql:host db.internal
 *   pulumi config set postgresql:username app_owner
 *   pulumi config set --secret postgresql:password ...
 *   pulumi config set postgresql:database app
 */
export function program(): Record<string, pulumi.Input<unknown>> {
  const cfg = new pulumi.Config();
  const change = new ColumnTypeChange("file-size", {
    table: cfg.get("table") ?? "contentcuration_file",
    column: cfg.get("column") ?? "file_size",
    toType: cfg.get("toType") ?? "bigint",
    stage: cfg.require("stage") as Stage,
    backfill: {
      batchSize: cfg.getNumber("batchSize") ?? 5000,
      pauseMs: cfg.getNumber("pauseMs") ?? 0,
    },
  });
  return {
    recordedStage: change.recordedStage,
    reversible: change.reversible,
    irreversibleReason: change.irreversibleReason,
    backfill: change.backfill,
    statements: change.statements,
  };
}
