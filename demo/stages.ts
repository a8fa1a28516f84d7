/**
 * The demo's Pulumi side: the stack (the program a platform team would write, its stage read
 * from stack config), the preview that shows the planned SQL, and one real `pulumi up` per
 * stage, each turned into a StageReport of what it did and what the application saw meanwhile.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import { ColumnTypeChange } from "../index";
import type { Stage } from "../src/spec";
import { collectOutput, createStack } from "../test/support/pulumi";
import type { AppWriter } from "../scripts/lib/appWriter";
import { COLUMN, TABLE, TO_TYPE } from "../scripts/lib/fileTable";
import { columnTypes, typeOf } from "./catalog";

export interface StageReport {
  stage: Stage;
  durationMs: number;
  /** pulumi up's resource changes other than "same", e.g. "4 create". */
  changes: string;
  backfill: { rowsUpdated: number; rowsScanned: number; batches: number; elapsedMs: number } | null;
  columnType: string;
  columns: string;
  /** Writer totals since it started. */
  inserts: number;
  updates: number;
  /** Writer failures and longest statement during this stage alone. */
  failedWrites: number;
  longestStallMs: number;
}

/** The inline-program stack on the rig's local file backend, at stage `firstStage`. */
export async function createDemoStack(url: string, firstStage: Stage): Promise<Stack> {
  const program = async () => {
    const change = new ColumnTypeChange("file-size", {
      table: TABLE,
      column: COLUMN,
      toType: TO_TYPE,
      stage: new pulumi.Config().require("stage") as Stage,
      connection: pulumi.secret(url),
    });
    return { shadowColumn: change.shadowColumn, backfill: change.backfill, recordedStage: change.recordedStage, reversible: change.reversible };
  };
  return createStack({ projectName: "pgshift-demo", stackName: "demo", program, config: { stage: { value: firstStage } } });
}

/** What one child resource will run, as planned by a preview. */
export interface PlannedSql {
  type: string;
  statements: string[];
}

/**
 * `pulumi preview`, streamed, returning each child's planned SQL. The CLI shows the children's
 * `statements` input only with --diff, and cuts long strings there (its --show-full-output flag
 * has no Automation API option): the SQL is taken from the preview's own engine events instead,
 * the exact values pulumi up will get.
 */
export async function previewPlannedSql(stack: Stack): Promise<PlannedSql[]> {
  const out = collectOutput(true);
  const planned: PlannedSql[] = [];
  await stack.preview({
    onOutput: out.onOutput,
    onEvent: (e: EngineEvent) => {
      const m = e.resourcePreEvent?.metadata;
      const statements = m?.new?.inputs?.statements;
      if (m && Array.isArray(statements)) planned.push({ type: m.type.replace(/^.*:/, ""), statements: statements.map(String) });
    },
  });
  return planned;
}

/** Sets the stage in stack config and runs the real `pulumi up`, streaming the engine output. */
export async function runStage(stack: Stack, stage: Stage, writer: AppWriter, url: string): Promise<StageReport> {
  await stack.setConfig("stage", { value: stage });
  writer.begin(); // measure this stage alone
  let backfillRan = false;
  const out = collectOutput(true);
  const began = Date.now();
  let result: UpResult;
  try {
    result = await stack.up({
      onOutput: out.onOutput,
      onEvent: (e: EngineEvent) => {
        const m = e.resOutputsEvent?.metadata;
        if (m && /:Backfill$/.test(m.type) && (m.op === "create" || m.op === "update")) backfillRan = true;
      },
    });
  } catch (err) {
    // the engine's message is long (the whole log): keep the lines that say what failed
    const first = (err instanceof Error ? err.message : String(err)).split("\n").filter((l) => /error|failed/i.test(l)).slice(0, 5).join("\n    ");
    throw new Error(`pulumi up (stage ${stage}) failed${first ? `:\n    ${first}` : ""}`);
  }
  const durationMs = Date.now() - began;
  // the component's backfill output keeps the last run's counts: show them only if it ran in this stage
  const bf = result.outputs.backfill?.value as Record<string, number> | undefined;
  const changes = Object.entries(result.summary.resourceChanges ?? {})
    .filter(([k]) => k !== "same")
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
  const columnType = await typeOf(url);
  const columns = await columnTypes(url);
  const window = writer.end();
  return {
    stage,
    durationMs,
    changes: changes || "none",
    backfill: backfillRan && bf ? { rowsUpdated: Number(bf.rowsUpdated ?? 0), rowsScanned: Number(bf.rowsScanned ?? 0), batches: Number(bf.batches ?? 0), elapsedMs: Number(bf.elapsedMs ?? 0) } : null,
    columnType,
    columns,
    inserts: writer.stats.inserts,
    updates: writer.stats.updates,
    failedWrites: window.failures.length,
    longestStallMs: window.stallMs,
  };
}
