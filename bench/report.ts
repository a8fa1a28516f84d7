/**
 * The bench's results: bench/results/results.json (everything, for tools), results.md (for
 * people, linking backfill.svg) and the summary printed at the end of the run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fmtInt, textTable } from "../scripts/lib/format";
import type { Measurement } from "./measure";
import { benchCommand, REPO } from "./options";
import type { MachineInfo, RunInfo } from "./runInfo";
import { MB } from "./rssSampler";
import type { RunSummary } from "./summary";
import { svgChart } from "./svg";

export interface BenchReport {
  run: RunInfo;
  machine: MachineInfo;
  summary: RunSummary;
  results: Measurement[];
}

const RESULT_FILES = ["results.md", "results.json", "backfill.svg"];

const fmtS = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtRatio = (r: number) => `${r.toFixed(2)}x`;
const fmtBytes = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GB` : `${(b / MB).toFixed(0)} MB`);

/** Writes results.json, backfill.svg and results.md into `out` (created if missing). */
export function writeResults(out: string, report: BenchReport): void {
  const { run, machine, summary, results } = report;
  fs.mkdirSync(out, { recursive: true });
  const subtitle = `${fmtInt(run.rows)} rows (${fmtBytes(run.tableBytes)} with indexes), PostgreSQL ${machine.postgresMajor}, ${machine.nproc} cores, app writer running throughout, ${run.date.slice(0, 10)}`;
  fs.writeFileSync(path.join(out, "results.json"), JSON.stringify({ run, machine, ratios: summary.ratios, rss: summary.rss, results }, null, 2) + "\n");
  fs.writeFileSync(path.join(out, "backfill.svg"), svgChart(results, subtitle));
  fs.writeFileSync(path.join(out, "results.md"), resultsMarkdown(report));
}

function resultsMarkdown({ run, machine, summary, results }: BenchReport): string {
  const { ratios, alter, backfill, expand, throttledBackfill } = summary;
  const rssBackfill = summary.rss.backfill;
  return [
    `# pgshift bench: ${fmtInt(run.rows)} rows`,
    "",
    `Produced by \`${benchCommand()}\` (bench/backfill.bench.ts) on ${run.date} at commit ${run.commit}${run.sourceDirty ? " (with uncommitted changes in src/ or components/)" : ""}; every number below comes from that one run.`,
    "Each operation ran on its own freshly created, vacuumed and analyzed copy of the same table, on one PostgreSQL server,",
    `while an application-like writer (test/support/writer.ts: one connection alternating INSERT and UPDATE ... WHERE id = $1, ${run.writerPauseMs} ms pause)`,
    "ran against it. \"Longest writer stall\" is the longest single writer statement during the operation: how long the application was blocked.",
    "",
    markdownTable(results),
    "",
    "![wall time and writer stall per operation](backfill.svg)",
    "",
    "## Ratios (same run)",
    "",
    `- pgshift backfill step / one plain UPDATE (no index on shadow): **${fmtRatio(ratios.pgshiftBackfillOverPlainUpdate)}**`,
    `- pgshift whole expand / (plain UPDATE + CREATE INDEX after it): **${fmtRatio(ratios.pgshiftExpandOverPlainUpdatePlusIndex)}**`,
    `- UPDATE with the shadow index built first / plain UPDATE: **${fmtRatio(ratios.indexFirstUpdateOverPlainUpdate)}** (why pgshift builds index copies after the backfill)`,
    `- ALTER's writer stall / pgshift backfill's writer stall: **${fmtRatio(ratios.alterStallOverPgshiftBackfillStall)}** (${fmtMs(alter.writerStallMs)} vs ${fmtMs(backfill.writerStallMs)})`,
    `- ALTER's writer stall / pgshift whole expand's writer stall: **${fmtRatio(ratios.alterStallOverPgshiftExpandStall)}** (${fmtMs(alter.writerStallMs)} vs ${fmtMs(expand.writerStallMs)})`,
    `- pgshift whole expand / ALTER wall time: **${fmtRatio(ratios.pgshiftExpandOverAlter)}** (pgshift trades total time for no blocking)`,
    ...(throttledBackfill ? [`- throttled backfill (pauseMs 20) / default backfill: **${fmtRatio(ratios.throttledBackfillOverBackfill)}**`] : []),
    "",
    "## Memory (bench process RSS, sampled every 100 ms; the backfill runs in this process)",
    "",
    `- during the pgshift backfill: ${rssBackfill.beforeMb.toFixed(0)} MB before, ${rssBackfill.peakMb.toFixed(0)} MB peak over ${rssBackfill.samples} samples (${rssBackfill.growthMb >= 0 ? "+" : ""}${rssBackfill.growthMb.toFixed(1)} MB): keyset batches never hold the table in memory`,
    `- whole run: peak ${summary.rss.run.peakMb.toFixed(0)} MB`,
    "",
    "## Machine",
    "",
    `- nproc: ${machine.nproc} (${machine.cpu}), ${machine.memoryGb} GB RAM, Node ${machine.node}`,
    `- PostgreSQL: ${machine.postgres} (${machine.server})`,
    `- server settings: ${Object.entries(machine.settings).map(([k, v]) => `${k}=${v}`).join(", ")} (the test rig turns fsync, synchronous_commit and full_page_writes off: commits and checkpoints cost less than on a production server)`,
    `- rows: ${fmtInt(run.rows)}; table size (pg_total_relation_size, fresh): ${fmtBytes(run.tableBytes)} (${fmtInt(run.tableBytes)} bytes, ${run.bytesPerRow.toFixed(0)} bytes/row; heap ${fmtBytes(run.heapBytes)})`,
    `- date: ${run.date}; bench wall time ${run.durationS.toFixed(0)} s; load average (1/5/15 min) ${run.loadAvgStart.join(" / ")} at the start, ${run.loadAvgEnd.join(" / ")} at the end`,
    "",
  ].join("\n");
}

function markdownTable(ms: Measurement[]): string {
  const head = "| operation | wall time | rows/s | longest writer stall | failed writes | notes |\n|---|---:|---:|---:|---:|---|";
  const rows = ms.map((m) => `| ${m.operation} | ${fmtS(m.wallMs)} | ${m.rowsPerSec ? fmtInt(m.rowsPerSec) : "-"} | ${fmtMs(m.writerStallMs)} | ${m.failedWrites} | ${m.notes} |`);
  return [head, ...rows].join("\n");
}

/** The end-of-run summary on stdout: the results table, the ratios, memory, table size, the files written. */
export function printResults(out: string, { run, machine, summary, results }: BenchReport): void {
  const rssBackfill = summary.rss.backfill;
  const rows = results.map((m) => [m.operation, fmtS(m.wallMs), m.rowsPerSec ? fmtInt(m.rowsPerSec) : "-", fmtMs(m.writerStallMs), String(m.failedWrites), `${m.rssPeakMb.toFixed(0)} MB`]);
  const table = textTable(["operation", "wall time", "rows/s", "writer stall", "failed", "peak RSS"], rows, [false, true, true, true, true, true]);
  process.stdout.write(`\n${table}\n\n`);
  for (const [k, v] of Object.entries(summary.ratios)) process.stdout.write(`  ${k.padEnd(40)} ${fmtRatio(v)}\n`);
  process.stdout.write(`  backfill RSS: ${rssBackfill.beforeMb.toFixed(0)} MB before, ${rssBackfill.peakMb.toFixed(0)} MB peak (${rssBackfill.samples} samples)\n`);
  process.stdout.write(`  table: ${fmtBytes(run.tableBytes)} (${run.bytesPerRow.toFixed(0)} bytes/row), PostgreSQL ${machine.postgresMajor}, ${machine.nproc} cores\n`);
  process.stdout.write(`  wrote ${RESULT_FILES.map((f) => path.relative(REPO, path.join(out, f))).join(", ")}\n`);
}
