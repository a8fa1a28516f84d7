/**
 * One crash trial (test/e2e/crashAnywhere.test.ts, scripts/soak.ts): a table under a
 * concurrent writer goes expand -> cutover -> expand (rollback) -> cutover -> contract, and one
 * `pulumi up` of that path is SIGKILLed, whole tree, after a seeded random statement of the
 * provider (plus a seeded delay, so the kill also lands inside statements: an index build, a
 * backfill batch). Then what an operator does: `pulumi cancel`, `pulumi up` again (or, for a
 * crashed cutover, sometimes back to `expand` first). After every stage the catalog must be
 * exactly what an uncrashed run leaves at that point (no INVALID index, orphan trigger or
 * function, half-swapped column), and at the end every write of the writer is in the table.
 */
import * as path from "node:path";
import type { Stage } from "../../index";
import { countedStatements, runPulumi, type RunnerJob } from "./crashRig";
import { fingerprint } from "./fingerprint";
import { seededRandom } from "./random";
import { createTestDatabase, withClient, type TestDatabase } from "./pg";
import { scratchDir } from "./pulumi";
import { startWriter } from "./writer";

const TABLE = "crash_t";
const COLUMN = "v";
/** The path every trial walks; one of its runs is crashed. */
export const PATH: Stage[] = ["expand", "cutover", "expand", "cutover", "contract"];
const PATH_LABEL = ["expand", "cutover", "rollback", "cutover again", "contract"];

export interface TrialSettings {
  rows: number;
  batchSize: number;
}

/** 20,000 rows in batches of 2,000: ten backfill batches to crash in, about 20 s a trial. */
export const CRASH_SETTINGS: TrialSettings = { rows: 20_000, batchSize: 2_000 };

/** The catalog after each run of PATH, and how many statements each run's provider issued. */
export interface Calibration {
  catalogs: string[][];
  statements: number[];
}

export interface TrialResult {
  seed: number;
  /** What was crashed: `cutover again @ 17+12ms (ALTER TABLE ...)`. */
  crashed: string;
  killed: boolean;
  retreated: boolean;
  rowsChecked: number;
  lost: number;
  mismatched: number;
  writerFailures: number;
  /** The longest statement of the writer, in ms (how long the application waited). */
  maxWriteMs: number;
  /** Differences from the uncrashed catalog, stage failures: empty when all is well. */
  problems: string[];
}

async function setUp(db: TestDatabase, rows: number): Promise<void> {
  await withClient(db.url, async (c) => {
    await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, ${COLUMN} integer NOT NULL DEFAULT 0 CHECK (${COLUMN} >= 0))`);
    await c.query(`CREATE INDEX ${TABLE}_v_idx ON ${TABLE} (${COLUMN})`);
    await c.query(`INSERT INTO ${TABLE} (${COLUMN}) SELECT g FROM generate_series(1, $1) g`, [rows]);
  });
}

/** The catalog minus what a writer changes (nothing here) and the scratch of other tests. */
async function catalogOf(url: string): Promise<string[]> {
  return withClient(url, async (c) => (await fingerprint(c)).catalog);
}

function jobFor(db: TestDatabase, dirs: { workDir: string; backendDir: string }, settings: TrialSettings, stage: Stage, op: RunnerJob["op"] = "up"): RunnerJob {
  return {
    op,
    projectName: "pgshift-crash",
    ...dirs,
    url: db.url,
    change: { table: TABLE, column: COLUMN, toType: "bigint", stage, backfill: { batchSize: settings.batchSize, maxBatchSize: settings.batchSize } },
  };
}

async function mustSucceed(job: RunnerJob, what: string): Promise<void> {
  const outcome = await runPulumi(job);
  if (outcome.killed || !outcome.result?.ok) {
    throw new Error(`${what} failed: ${outcome.result?.error ?? "killed"}\n${outcome.log.slice(-3000)}`);
  }
}

/** Walks PATH once without a crash, recording the catalog after each run and the statement counts. */
export async function calibrate(settings: TrialSettings): Promise<Calibration> {
  const db = await createTestDatabase("crash_calibration");
  try {
    await setUp(db, settings.rows);
    const dirs = { workDir: scratchDir("stacks", "crash-cal"), backendDir: scratchDir("backends", "crash-cal") };
    const cal: Calibration = { catalogs: [], statements: [] };
    for (const [i, stage] of PATH.entries()) {
      const statementLog = path.join(dirs.workDir, `statements-${i}.log`);
      await mustSucceed({ ...jobFor(db, dirs, settings, stage), statementLog }, `calibration ${PATH_LABEL[i]}`);
      cal.statements.push(countedStatements(statementLog).length);
      cal.catalogs.push(await catalogOf(db.url));
    }
    return cal;
  } finally {
    await db.drop();
  }
}

function catalogDiff(actual: string[], expected: string[]): string[] {
  const a = new Set(actual);
  const e = new Set(expected);
  return [...actual.filter((l) => !e.has(l)).map((l) => `+ ${l}`), ...expected.filter((l) => !a.has(l)).map((l) => `- ${l}`)];
}

/** A crash chosen instead of drawn from the seed: which run of the path, at which statement, and whether to go back to expand after it. */
export interface ChosenCrash {
  position: number;
  at: number;
  delayMs: number;
  retreat: boolean;
}

export async function runTrial(seed: number, settings: TrialSettings, cal: Calibration, chosen?: ChosenCrash): Promise<TrialResult> {
  const random = seededRandom(seed);
  // consecutive seeds crash consecutive runs of the path, so any PATH.length trials cover every
  // stage; the statement, the delay and the retreat are random
  const position = chosen?.position ?? seed % PATH.length;
  const at = chosen?.at ?? 1 + Math.floor(random() * cal.statements[position]);
  // half the kills right after the statement is sent, the rest up to 60 ms into it
  const delayMs = chosen?.delayMs ?? (random() < 0.5 ? 0 : Math.floor(random() * 60));
  const retreat = chosen?.retreat ?? (PATH[position] === "cutover" && random() < 0.5);
  const result: TrialResult = { seed, crashed: `${PATH_LABEL[position]} @ ${at}+${delayMs}ms`, killed: false, retreated: false, rowsChecked: 0, lost: 0, mismatched: 0, writerFailures: 0, maxWriteMs: 0, problems: [] };

  const db = await createTestDatabase(`crash_${seed}`);
  await setUp(db, settings.rows);
  const writer = startWriter({ url: db.url, table: TABLE, column: COLUMN, maxId: settings.rows, pauseMs: 2 });
  try {
    const dirs = { workDir: scratchDir("stacks", `crash-${seed}`), backendDir: scratchDir("backends", `crash-${seed}`) };
    const check = async (i: number, label: string, allowed = [cal.catalogs[i]]) => {
      const now = await catalogOf(db.url);
      const diffs = allowed.map((c) => catalogDiff(now, c));
      const best = diffs.reduce((a, b) => (b.length < a.length ? b : a));
      if (best.length) result.problems.push(`after ${label}: the catalog differs from an uncrashed run:\n  ${best.join("\n  ")}`);
    };
    for (const [i, stage] of PATH.entries()) {
      if (i !== position) {
        await mustSucceed(jobFor(db, dirs, settings, stage), PATH_LABEL[i]);
        await check(i, PATH_LABEL[i]);
        continue;
      }
      const statementLog = path.join(dirs.workDir, `statements-${i}.log`);
      const crashed = await runPulumi({ ...jobFor(db, dirs, settings, stage), crash: { at, delayMs }, statementLog });
      result.killed = crashed.killed;
      const hit = countedStatements(statementLog)[at - 1];
      if (hit) result.crashed += ` (${hit.replace(/^\d+ /, "").slice(0, 70)})`;
      if (!crashed.killed && !crashed.result?.ok) result.problems.push(`${PATH_LABEL[i]} failed without a crash: ${crashed.result?.error ?? crashed.log.slice(-2000)}`);
      if (crashed.killed) {
        await mustSucceed(jobFor(db, dirs, settings, stage, "cancel"), "pulumi cancel");
        if (retreat) {
          // the operator gives up on this cutover for now: back to expand, as an uncrashed
          // expand (first or after a rollback) leaves it
          result.retreated = true;
          await mustSucceed(jobFor(db, dirs, settings, "expand"), "back to expand after the crashed cutover");
          await check(i, "back to expand after the crashed cutover", [cal.catalogs[0], cal.catalogs[2]]);
        }
        await mustSucceed(jobFor(db, dirs, settings, stage), `${PATH_LABEL[i]} after the crash`);
      }
      await check(i, `${PATH_LABEL[i]} after the crash`);
    }
  } catch (err) {
    result.problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    const stats = await writer.stop();
    result.writerFailures = stats.failures.length;
    result.maxWriteMs = stats.maxLatencyMs;
    if (stats.failures.length) result.problems.push(`the writer failed ${stats.failures.length} time(s): ${stats.failures[0]}`);
    await withClient(db.url, async (c) => {
      const { rows } = await c.query<{ id: number; v: string }>(`SELECT id, ${COLUMN}::text AS v FROM ${TABLE}`);
      const actual = new Map(rows.map((r) => [Number(r.id), r.v]));
      // every original row (value = id unless the writer changed it) and every write of the writer
      const expected = new Map<number, string>();
      for (let id = 1; id <= settings.rows; id++) expected.set(id, String(id));
      for (const [id, v] of stats.ledger) expected.set(id, String(v));
      result.rowsChecked = expected.size;
      const samples: string[] = [];
      for (const [id, v] of expected) {
        const got = actual.get(id);
        if (got === undefined) result.lost++;
        else if (got !== v) result.mismatched++;
        if ((got === undefined || got !== v) && samples.length < 5) samples.push(`id ${id}: wrote ${v}, reads ${got ?? "(no row)"}`);
      }
      if (samples.length) result.problems.push(`${result.lost} row(s) lost, ${result.mismatched} mismatched, e.g. ${samples.join("; ")}`);
    });
    await db.drop();
  }
  return result;
}

/** One line per trial, and the soak's summary line. */
export function trialLine(r: TrialResult): string {
  const verdict = r.problems.length || r.lost || r.mismatched ? "FAIL" : "ok";
  return `seed=${r.seed} ${verdict} crashed=${JSON.stringify(r.crashed)} killed=${r.killed} retreated=${r.retreated} rows=${r.rowsChecked} lost=${r.lost} mismatched=${r.mismatched} longest_write_ms=${r.maxWriteMs}`;
}

export function summaryLine(results: TrialResult[], seed: number): string {
  const sum = (f: (r: TrialResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return (
    `trials=${results.length} seed=${seed} killed=${sum((r) => (r.killed ? 1 : 0))} retreated=${sum((r) => (r.retreated ? 1 : 0))} ` +
    `rows=${sum((r) => r.rowsChecked)} lost=${sum((r) => r.lost)} mismatched=${sum((r) => r.mismatched)} ` +
    `writer_failures=${sum((r) => r.writerFailures)} longest_write_ms=${Math.max(0, ...results.map((r) => r.maxWriteMs))} failed_trials=${sum((r) => (r.problems.length || r.lost || r.mismatched ? 1 : 0))}`
  );
}
