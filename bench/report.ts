/**
 * The bench's results: bench/results/summary.json (the fields issue #7 names), results.json
 * (everything, for tools), results.md (for people, linking the plots), latency.svg,
 * backfill.svg, and the summary printed at the end of the run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fmtInt, textTable } from "../scripts/lib/format";
import type { Flatness } from "./batchSampler";
import { latencySvg, type LatencySeries } from "./latencySvg";
import type { Measurement } from "./measure";
import { benchCommand, REPO } from "./options";
import type { Skipped } from "./pgshiftLifecycle";
import type { MachineInfo, RunInfo } from "./runInfo";
import { MB } from "./rssSampler";
import type { PgbenchResult, RunSummary } from "./summary";
import { svgChart } from "./svg";

export interface BenchReport {
  run: RunInfo;
  machine: MachineInfo;
  summary: RunSummary;
  results: Measurement[];
  pgbench: PgbenchResult | null;
  latency: LatencySeries[];
  skipped: Skipped[];
}

const RESULT_FILES = ["summary.json", "results.md", "results.json", "latency.svg", "backfill.svg"];

const fmtS = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtRatio = (r: number) => `${r.toFixed(2)}x`;
const fmtBytes = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GB` : `${(b / MB).toFixed(0)} MB`);

/** Writes every result file into `out` (created if missing). */
export function writeResults(out: string, report: BenchReport): void {
  const { run, machine, summary, results, pgbench, latency, skipped } = report;
  fs.mkdirSync(out, { recursive: true });
  const durable = machine.settings.fsync === "on" ? "production settings" : "fsync off";
  const subtitle = `${fmtInt(run.rows)} rows (${fmtBytes(run.tableBytes)} with indexes), PostgreSQL ${machine.postgresMajor} (${durable}), ${machine.nproc} shared cores, ${run.date.slice(0, 10)}`;
  const write = (f: string, text: string) => fs.writeFileSync(path.join(out, f), text);
  write("summary.json", JSON.stringify(summary.json, null, 2) + "\n");
  write("results.json", JSON.stringify({ run, machine, summary: summary.json, ratios: summary.ratios, targets: summary.targets, rounds: summary.rounds, rss: summary.rss, pgbench, skipped, results, latency }, null, 2) + "\n");
  write("latency.svg", latencySvg(latency, subtitle));
  write("backfill.svg", svgChart(results, subtitle));
  write("results.md", resultsMarkdown(report));
}

function flatnessLines(f: Flatness | null | undefined): string[] {
  if (!f) return ["- per-batch samples: too few batches to compare the first tenth with the last"];
  return [
    `- per batch (${f.samples} samples of the checkpoint, results.json has them all): ${fmtInt(f.firstRowsPerSec)} rows/s over the first tenth of the batches, ${fmtInt(f.lastRowsPerSec)} rows/s over the last tenth; RSS ${f.firstRssMb.toFixed(0)} MB then ${f.lastRssMb.toFixed(0)} MB`,
    "",
    "| tenth of the batches | rows scanned by its end | rows/s | peak RSS |",
    "|---:|---:|---:|---:|",
    ...f.tenths.map((t, i) => `| ${i + 1} | ${fmtInt(t.rowsScanned)} | ${fmtInt(t.rowsPerSec)} | ${t.rssMb.toFixed(0)} MB |`),
  ];
}

function resultsMarkdown({ run, machine, summary, results, pgbench, skipped }: BenchReport): string {
  const backfill = results.find((m) => m.id === "pgshift-backfill");
  const rssBackfill = summary.rss.backfill;
  const s = machine.settings;
  return [
    `# pgshift bench: ${fmtInt(run.rows)} rows`,
    "",
    `Produced by \`${benchCommand()}\` (bench/backfill.bench.ts) on ${run.date} at commit ${run.commit}${run.sourceDirty ? " (with uncommitted changes in src/ or components/)" : ""}; every number below comes from that one run, on one PostgreSQL server`,
    `with fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, full_page_writes=${s.full_page_writes}.`,
    "Each operation ran on its own freshly created, vacuumed and analyzed copy of the same table,",
    `while an application-like writer (test/support/writer.ts: one connection alternating INSERT and UPDATE ... WHERE id = $1, ${run.writerPauseMs} ms pause)`,
    "ran against it, and pgbench (TPC-B) ran against its own tables on the same server for the whole run.",
    "\"Longest writer stall\" is the longest single writer statement that overlapped the operation: how long the application was blocked.",
    "",
    `**Caveat**: the machine has ${machine.nproc} cores and may be shared with other work (load average ${run.loadAvgStart.join(" / ")} at the start, ${run.loadAvgEnd.join(" / ")} at the end), so absolute times are noisy; the side-by-side ratios are the point.`,
    "",
    "## summary.json",
    "",
    "| field | value |",
    "|---|---:|",
    ...Object.entries(summary.json).map(([k, v]) => `| \`${k}\` | ${v === null ? "not measured" : typeof v === "number" && !k.endsWith("ratio") ? fmtInt(v) : String(v)} |`),
    "",
    "## Targets (issue #7)",
    "",
    "| target | measured | met |",
    "|---|---:|---|",
    ...summary.targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met === null ? "-" : t.met ? "yes" : "**no**"} |`),
    "",
    "## Operations",
    "",
    markdownTable(results),
    "",
    ...failuresMarkdown(results),
    ...(skipped.length ? ["Skipped:", "", ...skipped.map((k) => `- ${k.operation}: ${k.reason}`), ""] : []),
    "![application write latency over time: pgshift vs the plain ALTER vs pgroll](latency.svg)",
    "",
    "![wall time and writer stall per operation](backfill.svg)",
    "",
    ...pgbenchMarkdown(pgbench),
    "## Ratios (same run; with rounds, the targets' ratios are the median of the rounds')",
    "",
    ...Object.entries(summary.ratios).map(([k, v]) => `- ${k}: **${fmtRatio(v)}**`),
    "",
    "## Memory and per-batch cost (the client runner runs in the bench process)",
    "",
    rssBackfill ? `- during the pgshift backfill: ${rssBackfill.beforeMb.toFixed(0)} MB before, ${rssBackfill.peakMb.toFixed(0)} MB peak over ${rssBackfill.samples} samples (${rssBackfill.growthMb >= 0 ? "+" : ""}${rssBackfill.growthMb.toFixed(1)} MB)` : "- pgshift was not measured",
    `- whole run: peak ${summary.rss.run.peakMb.toFixed(0)} MB`,
    ...flatnessLines(backfill?.extra?.flatness as Flatness | null | undefined),
    "",
    "## Machine",
    "",
    `- nproc: ${machine.nproc} (${machine.cpu}), ${machine.memoryGb} GB RAM, Node ${machine.node}`,
    `- PostgreSQL: ${machine.postgres} (${machine.server})`,
    `- server settings: ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(", ")}`,
    `- rows: ${fmtInt(run.rows)}; table size (pg_total_relation_size, fresh): ${fmtBytes(run.tableBytes)} (${fmtInt(run.tableBytes)} bytes, ${run.bytesPerRow.toFixed(0)} bytes/row; heap ${fmtBytes(run.heapBytes)})`,
    `- date: ${run.date}; bench wall time ${run.durationS.toFixed(0)} s`,
    "",
  ].join("\n");
}

function pgbenchMarkdown(p: PgbenchResult | null): string[] {
  if (!p) return ["pgbench: not run (BENCH_PGBENCH=0).", ""];
  const wal = (w: PgbenchResult["windows"][number]) => (w.walMbPerSec === undefined || w.walMbPerSec === null ? "-" : `${w.walMbPerSec.toFixed(1)} MB/s`);
  const rows = p.windows.map((w) => `| ${w.label} | ${w.seconds.toFixed(1)} s | ${w.tps.toFixed(1)} | ${w.p50Ms.toFixed(1)} ms | ${w.p99Ms.toFixed(1)} ms | ${w.maxMs.toFixed(0)} ms | ${w.failed} | ${wal(w)} | ${w.checkpoints ?? "-"} |`);
  return [
    "## pgbench (TPC-B, its own tables, same server) by phase",
    "",
    `Latency counted from each transaction's scheduled start (-R), so a stall shows in full. Failed transactions over the whole run: ${p.failedTransactions}; aborted clients: ${p.abortedClients.length}${p.abortedClients.length ? ` (${p.abortedClients[0]})` : ""}${p.coversRun ? "" : "; NOTE: its log ends before the last phase (pgbench loses its last buffer when stopped)"}.`,
    "",
    "WAL is what the whole server wrote during the phase and checkpoints the ones that finished in it (sampled every 200 ms): pgbench's commits wait for the disk, and its statements for a core.",
    "",
    "Three references in every round: pgbench alone at the round's start (what the round's `pgbench_p99_ratio` divides by; the first after a CHECKPOINT that follows pgbench's initialization); the application writer alone on a fresh table with no migration, right before pgshift's backfill (`pgbenchP99OverApplicationAlone` divides by it); and after it, the writer beside one backend that only computes, no reads and no writes (`oneCoreBusyPgbenchP99Ratio` is its p99 over pgbench alone, `pgbenchP99OverOneCoreBusy` the backfill's over it). Every operation runs beside the writer, whose commits wait for the same disk, so the second tells the migration's share of the latency from the writer's; any backfill needs a core while it runs, so the third is the floor it cannot get under on a machine of few cores.",
    "",
    "| phase | duration | tps | p50 | p99 | max | failed | WAL | checkpoints |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
  ];
}

/** What the application's failed writes said, per operation (the whole-run rows repeat their steps'). */
function failuresMarkdown(ms: Measurement[]): string[] {
  const failed = ms.filter((m) => m.failedWrites > 0 && m.firstFailure);
  if (failed.length === 0) return ["No application write failed during any operation.", ""];
  return ["Failed application writes (the writer uses the table under its own name, as an application not changed for the migration does):", "", ...failed.map((m) => `- ${m.operation}: ${m.failedWrites}, the first: \`${m.firstFailure}\``), ""];
}

function markdownTable(ms: Measurement[]): string {
  const head = "| operation | wall time | rows/s | longest writer stall | failed writes | notes |\n|---|---:|---:|---:|---:|---|";
  const rows = ms.map((m) => `| ${m.operation} | ${fmtS(m.wallMs)} | ${m.rowsPerSec ? fmtInt(m.rowsPerSec) : "-"} | ${fmtMs(m.writerStallMs)} | ${m.failedWrites} | ${m.notes} |`);
  return [head, ...rows].join("\n");
}

/** The end-of-run summary on stdout: the results table, summary.json, the targets, the files written. */
export function printResults(out: string, { summary, results }: BenchReport): void {
  const rows = results.map((m) => [m.operation, fmtS(m.wallMs), m.rowsPerSec ? fmtInt(m.rowsPerSec) : "-", fmtMs(m.writerStallMs), String(m.failedWrites), `${m.rssPeakMb.toFixed(0)} MB`]);
  const table = textTable(["operation", "wall time", "rows/s", "writer stall", "failed", "peak RSS"], rows, [false, true, true, true, true, true]);
  process.stdout.write(`\n${table}\n\n`);
  for (const [k, v] of Object.entries(summary.json)) process.stdout.write(`  ${k.padEnd(28)} ${v === null ? "-" : v}\n`);
  for (const t of summary.targets) process.stdout.write(`  [${t.met === null ? " " : t.met ? "x" : "!"}] ${t.target}: ${t.measured}\n`);
  process.stdout.write(`  wrote ${RESULT_FILES.map((f) => path.relative(REPO, path.join(out, f))).join(", ")}\n`);
}
