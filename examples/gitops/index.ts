import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange, type Stage } from "pgshift";

// Everything comes from the stack's config (Pulumi.<stack>.yaml), so promoting the change is
// a pull request that edits one line: `pgshift-gitops:stage`. No `connection` argument: pgshift
// reads the postgresql:* keys (host, port, username, password, database, sslmode), the same
// keys @pulumi/postgresql reads, and treats the result as a secret.
const config = new pulumi.Config();

const maxDurationMs = config.getNumber("backfillMaxDurationMs");

const change = new ColumnTypeChange("column-type-change", {
  table: config.require("table"),
  column: config.require("column"),
  toType: config.require("toType"),
  // a typo ("cutovr") is refused before anything runs: stage must be one of "expand", ...
  stage: config.require("stage") as Stage,
  // Optional time budget per deploy: the backfill stops at a checkpoint when it runs out, the
  // up succeeds, and the next `pulumi up` continues from there.
  ...(maxDurationMs !== undefined ? { backfill: { maxDurationMs } } : {}),
});

// What the workflow posts on each pull request, and what a reviewer checks before advancing.
/** `backfill in progress: N of M rows (P%)` or `backfill done: N rows`. */
export const backfillProgress = change.backfillProgress;
/** The stage the database had reached when this program ran (null before the first expand). */
export const recordedStage = change.recordedStage;
/** Whether cutover -> expand is still lossless, and if not, why. */
export const reversible = change.reversible;
export const irreversibleReason = change.irreversibleReason;
/** Every SQL statement each child runs, as planned from the catalog. */
export const statements = change.statements;
