/**
 * pgroll (xataio/pgroll v0.16.2, built by scripts/build-pgroll.sh) making the same change on an
 * identical fresh table, under the same writer: `pgroll init`, `pgroll baseline` (it adopts
 * the existing schema), then `pgroll start` of an alter_column type migration (it adds the new
 * column, triggers, backfills in batches, builds the index copies) and `pgroll complete` (the
 * swap). pgroll runs at its defaults (batch size 1000, no delay), as pgshift does.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { COLUMN, TABLE, TO_TYPE } from "../scripts/lib/fileTable";
import { freshTable } from "./freshTable";
import { measure, roundId, roundLabel, type BenchRig, type Measurement } from "./measure";
import { REPO } from "./options";
import { failedOverlapping, longestOverlapping } from "./stats";

const exec = promisify(execFile);

/** The pgroll binary: BENCH_PGROLL_BIN, else the one scripts/build-pgroll.sh builds (or already built). */
export async function pgrollBin(): Promise<string> {
  if (process.env.BENCH_PGROLL_BIN) return process.env.BENCH_PGROLL_BIN;
  process.stdout.write("  [pgroll: scripts/build-pgroll.sh (builds once from the Go module proxy, minutes)]\n");
  const { stdout } = await exec("bash", [path.join(REPO, "scripts", "build-pgroll.sh")], { maxBuffer: 16 * 1024 * 1024 });
  return path.join(stdout.trim().split("\n").pop() ?? "", "pgroll");
}

/** pgroll speaks lib/pq: a URL with sslmode=disable for the local server. */
function pqUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set("sslmode", "disable");
  return u.toString();
}

export async function benchPgroll(rig: BenchRig, bin: string, round = 1): Promise<Measurement[]> {
  const { rows } = rig.options;
  const id = roundId("pgroll", round);
  const label = roundLabel(round);
  const db = await freshTable(rows, id);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgshift-pgroll-"));
  const pgroll = (...args: string[]) => exec(bin, ["--postgres-url", pqUrl(db.url), ...args], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const migration = path.join(dir, "02_file_size_bigint.json");
  fs.writeFileSync(migration, JSON.stringify({ operations: [{ alter_column: { table: TABLE, column: COLUMN, type: TO_TYPE, up: COLUMN, down: COLUMN } }] }, null, 2));
  try {
    await pgroll("init");
    await pgroll("baseline", "01_baseline", dir, "-y");
    const steps: Record<string, number> = {};
    const whole = await measure(rig, db, id, `pgroll start + complete${label}`, "", async () => {
      for (const step of ["start", "complete"] as const) {
        const start = Date.now();
        const t0 = performance.now();
        await pgroll(step, migration);
        steps[step] = performance.now() - t0;
        rig.phases.push({ id: `${id}-${step}`, label: `pgroll ${step}${label}`, start, end: Date.now() });
      }
      return { steps };
    });
    const trace = rig.traces.get(id);
    const phase = (id: string) => rig.phases.find((p) => p.id === id);
    const stall = (id: string) => {
      const p = phase(id);
      return p && trace ? longestOverlapping(trace.samples, p.start, p.end) : 0;
    };
    const failed = (id: string) => {
      const p = phase(id);
      return p && trace ? failedOverlapping(trace.samples, p.start, p.end) : 0;
    };
    const firstFailure = (id: string) => (failed(id) > 0 ? whole.firstFailure : null);
    whole.notes = `start ${(steps.start / 1000).toFixed(2)} s (new column, triggers, batches of 1000, index copies), complete ${(steps.complete / 1000).toFixed(2)} s (the swap)`;
    const start: Measurement = {
      ...whole,
      id: `${id}-start`,
      operation: `pgroll start (expand: column, triggers, backfill, index copies)${label}`,
      wallMs: steps.start,
      rowsPerSec: rows / (steps.start / 1000),
      writerStallMs: stall(`${id}-start`),
      failedWrites: failed(`${id}-start`),
      firstFailure: firstFailure(`${id}-start`),
      notes: "pgroll v0.16.2 at its defaults (backfill batch size 1000, no delay)",
    };
    const done = `${id}-complete`;
    const complete: Measurement = { ...whole, id: done, operation: `pgroll complete (the swap)${label}`, wallMs: steps.complete, rowsPerSec: null, writerStallMs: stall(done), failedWrites: failed(done), firstFailure: firstFailure(done), notes: "drops the triggers and the old column, renames the new one: not one transaction" };
    return [start, complete, whole];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}
