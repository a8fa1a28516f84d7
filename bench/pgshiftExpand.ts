/**
 * pgshift's expand, measured through the real provider handlers (src/provider create(), the
 * code each dynamic resource runs): shadow column, mirror trigger, backfill, index copies, each
 * step in its own writer window. Yields two measurements: the backfill step alone and the whole
 * expand.
 */
import { performance } from "node:perf_hooks";
import { create, type ChildInputs } from "../src/provider";
import type { ChildKind } from "../src/provider/inputs";
import { DEFAULT_BACKFILL, parseSpec, withoutStage, type BackfillOptions } from "../src/spec";
import { COLUMN, TABLE, TO_TYPE } from "../scripts/lib/fileTable";
import { freshTable } from "./freshTable";
import { measure, sleep, type BenchRig, type Measurement } from "./measure";
import { MB } from "./rssSampler";

/** The expand's children, in the order the component creates them. */
const EXPAND_KINDS: ChildKind[] = ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes"];

/** What one step cost and returned. */
interface StepTiming {
  wallMs: number;
  stallMs: number;
  failures: string[];
  statements: number;
  result: Record<string, unknown>;
  rssPeakMb: number;
  rssSamples: number;
}

export async function benchPgshift(rig: BenchRig, label: string, backfill: BackfillOptions): Promise<Measurement[]> {
  const { rows } = rig.options;
  const db = await freshTable(rows, label);
  const throttled = (backfill.pauseMs ?? 0) > 0;
  const suffix = throttled ? `, throttled (pauseMs ${backfill.pauseMs})` : "";
  const spec = withoutStage(parseSpec({ table: TABLE, column: COLUMN, toType: TO_TYPE, stage: "expand", backfill }));
  const inputs = (kind: ChildKind): ChildInputs => ({ kind, connection: { connectionString: db.url }, spec, statements: [] });
  try {
    const steps: Record<string, StepTiming> = {};
    const whole = await measure(rig, db, `${label}-expand`, `pgshift whole expand${suffix}`, "", async (writer) => {
      for (const kind of EXPAND_KINDS) {
        writer.begin();
        const t0 = performance.now();
        const { outs } = await create(inputs(kind));
        const t1 = performance.now();
        await sleep(0);
        const w = writer.end();
        const rss = rig.sampler.window(t0, t1);
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
      rowsPerSec: (r.rowsScanned ?? rows) / (b.wallMs / 1000),
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
