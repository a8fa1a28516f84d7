/**
 * `npm run demo`: the whole pgshift lifecycle on a live table, in one command, with no setup.
 *
 * 1. starts an embedded PostgreSQL and fills `contentcuration_file` with DEMO_ROWS rows
 *    (default 1,000,000) and an index on (checksum, file_size);
 * 2. starts an application-like writer (inserts and updates in a loop) that records every
 *    failed statement and the longest time one statement took;
 * 3. shows `pulumi preview` of stage expand and the SQL each child will run, then runs
 *    the real `pulumi up` for each stage of DEMO_STAGES (default expand,cutover,contract),
 *    streaming the engine output (the backfill's progress lines with rows/s and ETA are in it)
 *    and printing a short summary after each stage;
 * 4. checks that every write the application made is in the table, prints a final table,
 *    stops the writer and the embedded server, and exits 0 (non-zero with a message on failure).
 *
 * Environment: DEMO_ROWS (rows to create), DEMO_STAGES (comma-separated stages to run in order,
 * e.g. "expand" to stop early), DEMO_WRITER_PAUSE_MS (pause between writer statements, default 5).
 * The rig's own variables apply too: PGSHIFT_TEST_PG_MAJOR=14 for the embedded PostgreSQL 14,
 * PGSHIFT_TEST_DATABASE_URL to use another server instead of the embedded one.
 *
 * The demo (and bench/) reuse the test rig in test/support/ on purpose: the embedded server
 * (pg.ts), the inline Automation API stacks on a file backend with the locally built CLI
 * (pulumi.ts) and the application writer (writer.ts) are the ones the e2e tests use, so the
 * demo shows exactly what the tests check, and there is one place to fix when the rig changes.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import { ColumnTypeChange } from "../index";
import { STAGES, type Stage } from "../src/spec";
import { createTestDatabase, stopTestServer, testServer, withClient, type TestDatabase } from "../test/support/pg";
import { cleanupPulumiWork, collectOutput, createStack } from "../test/support/pulumi";
import { startWriter, type WriterStats } from "../test/support/writer";

const TABLE = "contentcuration_file";
const COLUMN = "file_size";
const TO_TYPE = "bigint";

// ---------------------------------------------------------------------------------------------
// options

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.replace(/[_,]/g, ""));
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
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

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// formatting

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtSec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function banner(text: string): void {
  const line = "=".repeat(Math.max(10, 92 - text.length - 4));
  process.stdout.write(`\n== ${text} ${line}\n`);
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const cell = (s: string, i: number) => (rightAlign[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (r: string[]) => `  ${r.map(cell).join("  ")}`.trimEnd();
  return [line(header), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`, ...rows.map(line)].join("\n");
}

function log(text = ""): void {
  process.stdout.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// database helpers

/** `name type` of the column and of pgshift's shadow/old copies of it, in column order. */
async function columnTypes(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND (attname = $2 OR attname LIKE $2 || '\\_\\_pgshift\\_%')
        ORDER BY attnum`,
      [TABLE, COLUMN],
    );
    return rows.map((r) => `${r.name} ${r.type}`).join(", ");
  });
}

async function typeOf(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
      [TABLE, COLUMN],
    );
    return rows[0]?.t ?? "(missing)";
  });
}

/** Keys of the writer's ledger whose row is missing or holds another value than the writer's last write. */
async function ledgerMismatches(url: string, ledger: Map<number, number>): Promise<{ checked: number; missing: number; different: number }> {
  const ids = [...ledger.keys()];
  const values = ids.map((id) => ledger.get(id)!);
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ missing: number; different: number }>(
      `SELECT count(*) FILTER (WHERE t.id IS NULL)::int AS missing,
              count(*) FILTER (WHERE t.id IS NOT NULL AND t.${COLUMN}::bigint IS DISTINCT FROM l.v)::int AS different
         FROM unnest($1::int[], $2::bigint[]) AS l(id, v) LEFT JOIN ${TABLE} t ON t.id = l.id`,
      [ids, values],
    );
    return { checked: ids.length, missing: rows[0].missing, different: rows[0].different };
  });
}

// ---------------------------------------------------------------------------------------------
// the demo

interface StageReport {
  stage: Stage;
  durationMs: number;
  changes: string;
  backfill: { rowsUpdated: number; rowsScanned: number; batches: number; elapsedMs: number } | null;
  columnType: string;
  columns: string;
  inserts: number;
  updates: number;
  failedWrites: number;
  longestStallMs: number;
}

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

async function main(): Promise<number> {
  const rows = envInt("DEMO_ROWS", 1_000_000, 1);
  const stages = envStages();
  const writerPauseMs = envInt("DEMO_WRITER_PAUSE_MS", 5, 0);
  const demoStarted = Date.now();

  banner("pgshift demo");
  log(`  ${TABLE}.${COLUMN}: integer -> ${TO_TYPE} on ${fmtInt(rows)} rows, stages ${stages.join(" -> ")}, under a live writer`);

  // ---- database
  let t0 = Date.now();
  const server = await testServer();
  const external = !!process.env.PGSHIFT_TEST_DATABASE_URL;
  log(`  PostgreSQL ${server.major} (${external ? new URL(server.url).host : "embedded"}) ready in ${fmtSec(Date.now() - t0)}`);
  const db: TestDatabase = await createTestDatabase("pgshift_demo");
  t0 = Date.now();
  await withClient(db.url, async (c) => {
    await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, checksum text NOT NULL, ${COLUMN} integer NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO ${TABLE} (checksum, ${COLUMN}) SELECT md5(g::text), (g * 37) % 2000000 FROM generate_series(1, $1::int) g`, [rows]);
    await c.query(`CREATE INDEX ${TABLE}_checksum_size_idx ON ${TABLE} (checksum, ${COLUMN})`);
    await c.query(`VACUUM ANALYZE ${TABLE}`);
  });
  const size = await withClient(db.url, async (c) => (await c.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size($1::regclass)) AS s`, [TABLE])).rows[0].s);
  log(`  created ${TABLE} (${fmtInt(rows)} rows, ${size} with indexes) in ${fmtSec(Date.now() - t0)}`);

  // ---- the application
  const writer = startWriter({ url: db.url, table: TABLE, column: COLUMN, maxId: rows, insertExtras: { checksum: "md5(random()::text)" }, pauseMs: writerPauseMs });
  const stats: WriterStats = writer.stats;
  log(`  writer started: one connection, INSERT / UPDATE ... WHERE id = $1 alternately, ${writerPauseMs} ms pause between statements`);

  const reports: StageReport[] = [];
  let failure: string | null = null;
  try {
    // ---- the stack: the program a platform team would write, stage from stack config
    const program = async () => {
      const change = new ColumnTypeChange("file-size", {
        table: TABLE,
        column: COLUMN,
        toType: TO_TYPE,
        stage: new pulumi.Config().require("stage") as Stage,
        connection: pulumi.secret(db.url),
      });
      return { shadowColumn: change.shadowColumn, backfill: change.backfill, recordedStage: change.recordedStage, reversible: change.reversible };
    };
    t0 = Date.now();
    const stack: Stack = await createStack({ projectName: "pgshift-demo", stackName: "demo", program, config: { stage: { value: stages[0] } } });
    log(`  Pulumi stack ready in ${fmtSec(Date.now() - t0)} (inline program, local file backend)`);

    if (stages[0] === "expand") {
      banner(`pulumi preview (stage ${stages[0]})`);
      const out = collectOutput(true);
      // The CLI shows the children's `statements` input only with --diff, and cuts long strings
      // there (its --show-full-output flag has no Automation API option): print them in full from
      // the preview's own engine events instead, the exact values pulumi up will get.
      const planned: { type: string; statements: string[] }[] = [];
      await stack.preview({
        onOutput: out.onOutput,
        onEvent: (e: EngineEvent) => {
          const m = e.resourcePreEvent?.metadata;
          const statements = m?.new?.inputs?.statements;
          if (m && Array.isArray(statements)) planned.push({ type: m.type.replace(/^.*:/, ""), statements: statements.map(String) });
        },
      });
      banner("the SQL of each child, as planned by this preview from the live catalog");
      for (const p of planned) {
        log(`  ${p.type}:`);
        p.statements.forEach((sql, i) => log(`    [${i}] ${sql.replace(/\n/g, "\n        ")}`));
      }
    }

    for (const stage of stages) {
      banner(`pulumi up (stage ${stage})`);
      await stack.setConfig("stage", { value: stage });
      const failedBefore = stats.failures.length;
      stats.maxLatencyMs = 0; // the writer keeps a running maximum: reset it to measure this stage alone
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
        const first = (err instanceof Error ? err.message : String(err)).split("\n").filter((l) => /error|failed/i.test(l)).slice(0, 5).join("\n    ");
        throw new Error(`pulumi up (stage ${stage}) failed${first ? `:\n    ${first}` : ""}`);
      }
      const durationMs = Date.now() - began;
      const bf = result.outputs.backfill?.value as Record<string, number> | undefined;
      const changes = Object.entries(result.summary.resourceChanges ?? {})
        .filter(([k]) => k !== "same")
        .map(([k, v]) => `${v} ${k}`)
        .join(", ");
      const report: StageReport = {
        stage,
        durationMs,
        changes: changes || "none",
        backfill: backfillRan && bf ? { rowsUpdated: Number(bf.rowsUpdated ?? 0), rowsScanned: Number(bf.rowsScanned ?? 0), batches: Number(bf.batches ?? 0), elapsedMs: Number(bf.elapsedMs ?? 0) } : null,
        columnType: await typeOf(db.url),
        columns: await columnTypes(db.url),
        inserts: stats.inserts,
        updates: stats.updates,
        failedWrites: stats.failures.length - failedBefore,
        longestStallMs: stats.maxLatencyMs,
      };
      reports.push(report);
      printStageSummary(report);
    }
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }

  // ---- the application stops; did every write survive?
  const final = await writer.stop();
  let ledger: Awaited<ReturnType<typeof ledgerMismatches>> | null = null;
  if (!failure) {
    ledger = await ledgerMismatches(db.url, final.ledger);
  }

  if (reports.length > 0) {
    banner("summary");
    log(
      table(
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
    log(`  total wall time ${fmtSec(Date.now() - demoStarted)}`);
    log();
    log("  What each stage did:");
    for (const stage of [...new Set(reports.map((r) => r.stage))]) {
      log(`  ${stage.padEnd(9)}${STAGE_DOES[stage].join(`\n  ${" ".repeat(9)}`)}`);
    }
    if (stages[stages.length - 1] !== "contract") {
      log(`  (stopped at ${stages[stages.length - 1]}; DEMO_STAGES=expand,cutover,contract runs them all)`);
    }
  }

  if (failure) {
    log(`\ndemo FAILED: ${failure}`);
    return 1;
  }
  const failed = reports.reduce((n, r) => n + r.failedWrites, 0);
  if (final.failures.length > 0 || failed > 0) {
    log(`\ndemo FAILED: the application saw ${final.failures.length} failed statement(s); first: ${final.failures[0]}`);
    return 1;
  }
  if (ledger && (ledger.missing > 0 || ledger.different > 0)) {
    log(`\ndemo FAILED: writes were lost (${ledger.missing} rows missing, ${ledger.different} with another value)`);
    return 1;
  }
  log(`\ndemo OK`);
  return 0;
}

function printStageSummary(r: StageReport): void {
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

async function cleanup(): Promise<void> {
  // drops the demo database and stops the embedded server (its data dir is deleted), then
  // removes the stack's scratch dirs under .work/
  await stopTestServer().catch((err) => log(`  (could not stop the PostgreSQL server: ${err instanceof Error ? err.message : String(err)})`));
  await cleanupPulumiWork().catch(() => undefined);
}

main()
  .catch((err: unknown) => {
    log(`\ndemo FAILED: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    // the Automation API leaves gRPC servers open: exit explicitly
    process.exit(code);
  });
