/**
 * The demo's environment variables: DEMO_ROWS (rows to create, default 1,000,000), DEMO_STAGES
 * (comma-separated stages to run in order, e.g. "expand" to stop early; default all three),
 * DEMO_WRITER_PAUSE_MS (pause between writer statements, default 5). The rig's own variables
 * apply too (test/support/pg.ts reads them): PGSHIFT_TEST_PG_MAJOR=14 for the embedded
 * PostgreSQL 14, PGSHIFT_TEST_DATABASE_URL to use another server instead of the embedded one.
 */
import { STAGES, type Stage } from "../src/spec";
import { envInt, UsageError } from "../scripts/lib/env";

export interface DemoOptions {
  rows: number;
  stages: Stage[];
  writerPauseMs: number;
}

/** Throws UsageError (printed without a stack) for a bad value. */
export function readDemoOptions(): DemoOptions {
  return {
    rows: envInt("DEMO_ROWS", 1_000_000, 1),
    stages: envStages(),
    writerPauseMs: envInt("DEMO_WRITER_PAUSE_MS", 5, 0),
  };
}

function envStages(): Stage[] {
  const raw = process.env.DEMO_STAGES;
  if (raw === undefined || raw.trim() === "") return [...STAGES];
  const stages = raw.split(/[\s,]+/).filter(Boolean);
  const bad = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (bad.length > 0 || stages.length === 0) {
    throw new UsageError(`DEMO_STAGES: unknown stage(s) ${bad.join(", ") || "(none)"}; use a comma-separated list of ${STAGES.join(", ")} (e.g. "expand" or "expand,cutover")`);
  }
  return stages as Stage[];
}
