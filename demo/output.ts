/**
 * Everything the demo prints of its own (the engine's output is streamed as it comes): section
 * banners, the planned SQL, a summary after each stage and the final table.
 */
import type { Stage } from "../src/spec";
import { COLUMN, TO_TYPE } from "../scripts/lib/fileTable";
import { fmtInt, textTable } from "../scripts/lib/format";
import type { LedgerCheck } from "./catalog";
import type { PlannedSql, StageReport } from "./stages";

export const fmtSec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function log(text = ""): void {
  process.stdout.write(`${text}\n`);
}

export function banner(text: string): void {
  const line = "=".repeat(Math.max(10, 92 - text.length - 4));
  process.stdout.write(`\n== ${text} ${line}\n`);
}

/** What each stage does, in words, for the final summary. */
const STAGE_DOES: Record<Stage, string[]> = {
  expand: [
    `adds the shadow column ${COLUMN}__pgshift_new ${TO_TYPE}, installs a change-guarded trigger that mirrors`,
    "every INSERT/UPDATE into it, backfills the existing rows in keyset batches (one short transaction",
    "each, checkpointed), then builds the index copies CONCURRENTLY. The application sees nothing.",
  ],
  cutover: [
    "one short transaction under lock_timeout (with retries): renames the old column away and the shadow",
    `to ${COLUMN}, moves default/NOT NULL/indexes over, and reverses the trigger so the old column keeps`,
    "receiving writes. Reversible: set the stage back to expand and run pulumi up.",
  ],
  contract: ["drops the reverse trigger, the old column and its indexes. Final: the change is done."],
};

export function printPlannedSql(planned: PlannedSql[]): void {
  banner("the SQL of each child, as planned by this preview from the live catalog");
  for (const p of planned) {
    log(`  ${p.type}:`);
    p.statements.forEach((sql, i) => log(`    [${i}] ${sql.replace(/\n/g, "\n        ")}`));
  }
}

export function printStageSummary(r: StageReport): void {
  log();
  log(`-- ${r.stage}: done in ${fmtSec(r.durationMs)} (${r.changes})`);
  if (r.backfill) {
    const rate = r.backfill.elapsedMs > 0 ? (r.backfill.rowsScanned * 1000) / r.backfill.elapsedMs : 0;
    log(`   rows backfilled      ${fmtInt(r.backfill.rowsUpdated)} (${fmtInt(r.backfill.rowsScanned)} scanned in ${fmtInt(r.backfill.batches)} batches, ${fmtSec(r.backfill.elapsedMs)}, ${fmtInt(rate)} rows/s)`);
  } else {
    log(`   rows backfilled      - (no backfill in this stage)`);
  }
  log(`   ${COLUMN} is now     ${r.columnType}   [columns: ${r.columns}]`);
  log(`   writer so far        ${fmtInt(r.inserts)} inserts, ${fmtInt(r.updates)} updates`);
  log(`   failed app writes    ${r.failedWrites}`);
  log(`   longest app stall    ${fmtInt(r.longestStallMs)} ms (longest single writer statement during this stage)`);
}

/** The final table of all stages run, the ledger check (null when a stage failed) and what each stage did. */
export function printSummary(reports: StageReport[], stages: Stage[], ledger: LedgerCheck | null, totalMs: number): void {
  banner("summary");
  log(
    textTable(
      ["stage", "pulumi up", "rows backfilled", `${COLUMN} type`, "writer inserts", "writer updates", "failed writes", "longest stall"],
      reports.map((r) => [
        r.stage,
        fmtSec(r.durationMs),
        r.backfill ? fmtInt(r.backfill.rowsUpdated) : "-",
        r.columnType,
        fmtInt(r.inserts),
        fmtInt(r.updates),
        String(r.failedWrites),
        `${fmtInt(r.longestStallMs)} ms`,
      ]),
      [false, true, true, false, true, true, true, true],
    ),
  );
  log(`  (writer counts are cumulative; failed writes and longest stall are per stage; longest stall = the longest`);
  log(`   single writer statement, i.e. the longest the application was blocked)`);
  if (ledger) {
    const ok = ledger.missing === 0 && ledger.different === 0;
    log(`  ledger check: ${fmtInt(ledger.checked)} rows the writer wrote last; ${ok ? "every one holds the writer's last value" : `${ledger.missing} missing, ${ledger.different} with another value`}`);
  }
  log(`  total wall time ${fmtSec(totalMs)}`);
  log();
  log("  What each stage did:");
  for (const stage of [...new Set(reports.map((r) => r.stage))]) {
    log(`  ${stage.padEnd(9)}${STAGE_DOES[stage].join(`\n  ${" ".repeat(9)}`)}`);
  }
  const last = stages[stages.length - 1];
  if (last !== "contract") {
    log(`  (stopped at ${last}; DEMO_STAGES=expand,cutover,contract runs them all)`);
  }
}
