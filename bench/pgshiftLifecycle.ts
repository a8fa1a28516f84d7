/**
 * pgshift's whole lifecycle, measured through the real provider handlers (src/provider
 * create(), the code each dynamic resource runs): the expand children (shadow column, mirror
 * trigger, backfill, index copies), then cutover and contract, one after the other on one
 * fresh table under one writer, each step recorded as a phase (pgbench is grouped by them) and
 * its stall read from the writer's trace. The backfill is sampled per batch (BatchSampler).
 */
import { performance } from "node:perf_hooks";
import type { BudgetedCheckpoint } from "../src/backfill/checkpoint";
import { withClient } from "../test/support/pg";
import { create, type ChildInputs } from "../src/provider";
import type { ChildKind } from "../src/provider/inputs";
import { stateTableName } from "../src/sql/state";
import { DEFAULT_BACKFILL, parseSpec, withoutStage, type BackfillOptions } from "../src/spec";
import { COLUMN, TABLE, TO_TYPE } from "../scripts/lib/fileTable";
import { UsageError } from "../scripts/lib/env";
import { BatchSampler, flatness } from "./batchSampler";
import { freshTable, tableSize } from "./freshTable";
import { measure, sleep, type BenchRig, type Measurement } from "./measure";
import { MB } from "./rssSampler";
import { failedOverlapping, longestOverlapping } from "./stats";

/** The children in the order the component creates them through the stages. */
const EXPAND_KINDS: ChildKind[] = ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes"];
const LIFECYCLE_KINDS: ChildKind[] = [...EXPAND_KINDS, "cutover", "contract"];

/** What one step cost and returned. */
interface StepTiming {
  start: number;
  end: number;
  wallMs: number;
  result: Record<string, unknown>;
  rssPeakMb: number;
  rssSamples: number;
}

/** A measurement the bench could not take here, and why (results.md lists it). */
export interface Skipped {
  id: string;
  operation: string;
  reason: string;
}

/**
 * Whether this build of pgshift has `backfill.runner: "database"` (pg_cron; being built on
 * branch `engine`) and the server has pg_cron: the options as parseSpec returns them keep only
 * the options it knows, so a runner it does not know is dropped, not refused.
 */
export async function databaseRunnerSkip(url: string): Promise<string | null> {
  const asked: Record<string, unknown> = { runner: "database" };
  let kept: Record<string, unknown>;
  try {
    kept = { ...parseSpec({ table: TABLE, column: COLUMN, toType: TO_TYPE, stage: "expand", backfill: asked as BackfillOptions }).backfill };
  } catch (err) {
    return `backfill.runner "database" is refused by this build: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (kept.runner !== "database") return "this build of pgshift has no backfill.runner option";
  const preloaded = await withClient(url, async (c) => (await c.query<{ v: string }>(`SELECT current_setting('shared_preload_libraries') AS v`)).rows[0].v);
  if (!/\bpg_cron\b/.test(preloaded)) return `the bench's server does not preload pg_cron (shared_preload_libraries = '${preloaded}')`;
  return null;
}

/**
 * The finished backfill's checkpoint, from the state row: what the in-database runner did (its
 * Backfill apply returned before the first batch), with `spent`, the time of its own runs.
 */
async function finalCheckpoint(url: string): Promise<BudgetedCheckpoint | null> {
  return withClient(url, async (c) => (await c.query<{ backfill: BudgetedCheckpoint | null }>(`SELECT backfill FROM ${stateTableName("public")} LIMIT 1`)).rows[0]?.backfill ?? null);
}

/** Waits until the state row says the backfill is done (the database runner returns at once and works in pg_cron). */
async function backfillDone(url: string): Promise<void> {
  for (;;) {
    const done = await withClient(url, async (c) => (await c.query<{ done: boolean | null }>(`SELECT bool_and((backfill->>'done')::boolean) AS done FROM ${stateTableName("public")}`)).rows[0]?.done);
    if (done) return;
    await sleep(200);
  }
}

/**
 * A BENCH_VARIANTS entry as the backfill options pgshift takes: validated as a user's would be
 * (a bad value stops the bench before the server starts), and refused where it names an option
 * parseSpec does not keep (a misspelt one would otherwise measure the default under its name).
 */
export function variantOptions(v: Record<string, unknown>): BackfillOptions {
  const kept = parseSpec({ table: TABLE, column: COLUMN, toType: TO_TYPE, stage: "expand", backfill: v as BackfillOptions }).backfill;
  const unknown = Object.keys(v).filter((k) => !(k in kept));
  if (unknown.length > 0) throw new UsageError(`BENCH_VARIANTS: backfill has no option ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  return v as BackfillOptions;
}

/** What the operations of a lifecycle are named with after their step, from its label and options (benchPgshift's default). */
function variantOf(label: string, backfill: BackfillOptions): string {
  if ((backfill.pauseMs ?? 0) > 0) return `, throttled (pauseMs ${backfill.pauseMs})`;
  if (label.endsWith("-db")) return ", database runner";
  return backfill.workers === 2 ? ", two workers (workers 2)" : "";
}

export async function benchPgshift(rig: BenchRig, label: string, backfill: BackfillOptions, variant = variantOf(label, backfill)): Promise<Measurement[]> {
  const { rows } = rig.options;
  const db = await freshTable(rows, label);
  const spec = withoutStage(parseSpec({ table: TABLE, column: COLUMN, toType: TO_TYPE, stage: "expand", backfill }));
  const inputs = (kind: ChildKind): ChildInputs => ({ kind, connection: { connectionString: db.url }, spec, statements: [] });
  const batches = new BatchSampler(db.url, stateTableName("public"));
  try {
    rig.size ??= await tableSize(db);
    const steps: Partial<Record<ChildKind, StepTiming>> = {};
    const whole = await measure(rig, db, `${label}-lifecycle`, `pgshift whole lifecycle${variant}`, "", async () => {
      for (const kind of LIFECYCLE_KINDS) {
        const start = Date.now();
        const t0 = performance.now();
        if (kind === "backfill") batches.start();
        const { outs } = await create(inputs(kind));
        if (kind === "backfill") {
          await backfillDone(db.url);
          await batches.stop();
          if (outs.result?.runner === "database") outs.result = { ...outs.result, ...(await finalCheckpoint(db.url)) };
        }
        const t1 = performance.now();
        const end = Date.now();
        const rss = rig.sampler.window(t0, t1);
        steps[kind] = { start, end, wallMs: t1 - t0, result: outs.result, rssPeakMb: rss.peak / MB, rssSamples: rss.samples };
        rig.phases.push({ id: `${label}-${kind}`, label: `pgshift ${kind}${variant}`, start, end });
      }
    });
    const trace = rig.traces.get(`${label}-lifecycle`);
    const step = (k: ChildKind): StepTiming => {
      const s = steps[k];
      if (!s) throw new Error(`bench: pgshift step ${k} did not run`);
      return s;
    };
    const stallOver = (start: number, end: number) => (trace ? longestOverlapping(trace.samples, start, end) : 0);
    const failuresOver = (start: number, end: number) => (trace ? failedOverlapping(trace.samples, start, end) : 0);
    const derived = (id: string, operation: string, from: ChildKind, to: ChildKind, notes: string, rowsPerSec: number | null, extra?: Record<string, unknown>): Measurement => {
      const a = step(from);
      const b = step(to);
      const kinds = LIFECYCLE_KINDS.slice(LIFECYCLE_KINDS.indexOf(from), LIFECYCLE_KINDS.indexOf(to) + 1);
      return {
        ...whole,
        id: `${label}-${id}`,
        operation: `${operation}${variant}`,
        wallMs: kinds.reduce((sum, k) => sum + step(k).wallMs, 0),
        rowsPerSec,
        writerStallMs: stallOver(a.start, b.end),
        failedWrites: failuresOver(a.start, b.end),
        rssPeakMb: Math.max(whole.rssBeforeMb, ...kinds.map((k) => step(k).rssPeakMb)),
        rssSamples: kinds.reduce((sum, k) => sum + step(k).rssSamples, 0),
        notes,
        ...(extra ? { extra } : {}),
      };
    };
    const b = step("backfill");
    const r = b.result as { rowsScanned?: number; rowsUpdated?: number; batches?: number; order?: string; runner?: string; spent?: { ms: number }; workers?: number; pauses?: number; pausedMs?: number };
    // the in-database runner's rate over its own runs: its wall time also holds the wait for
    // pg_cron's next minute, which the note gives apart
    const inDatabase = r.runner === "database" && r.spent && r.spent.ms > 0;
    const backfillSeconds = inDatabase ? r.spent!.ms / 1000 : b.wallMs / 1000;
    const waited = inDatabase ? `; the job's own runs ${backfillSeconds.toFixed(1)} s of ${(b.wallMs / 1000).toFixed(1)} s (pg_cron starts jobs on the minute)` : "";
    const paused = r.pauses ? `; the throttles paused it ${r.pauses.toLocaleString("en-US")} times, ${((r.pausedMs ?? 0) / 1000).toFixed(1)} s in all` : "";
    const flat = flatness(batches.samples);
    whole.notes = LIFECYCLE_KINDS.map((k) => `${k} ${(step(k).wallMs / 1000).toFixed(2)} s`).join(", ");
    return [
      derived("backfill", "pgshift backfill step", "backfill", "backfill",
        `${(r.batches ?? 0).toLocaleString("en-US")} ${r.order ?? "keyset"} batches (adaptive size, target ${spec.backfill.targetBatchMs ?? DEFAULT_BACKFILL.targetBatchMs} ms), ${(r.rowsUpdated ?? 0).toLocaleString("en-US")} rows updated, a transaction and checkpoint per batch${r.workers ? `, ${r.workers} worker${r.workers === 1 ? "" : "s"} at once (backfill.workers)` : ""}${paused}${waited}`,
        (r.rowsScanned ?? rows) / backfillSeconds, { result: b.result, flatness: flat, batchSamples: batches.samples }),
      derived("expand", "pgshift whole expand", "shadow-column", "shadow-indexes", EXPAND_KINDS.map((k) => `${k} ${(step(k).wallMs / 1000).toFixed(2)} s`).join(", ") + "; index copies CONCURRENTLY", null),
      derived("cutover", "pgshift cutover (the swap)", "cutover", "cutover", "verify, then one transaction under lock_timeout: rename, sequence, constraints, reverse trigger; ANALYZE", null),
      derived("contract", "pgshift contract", "contract", "contract", "old indexes dropped CONCURRENTLY, then one short transaction drops the old column", null),
      whole,
    ];
  } finally {
    await batches.stop().catch(() => undefined);
    await db.drop();
  }
}
