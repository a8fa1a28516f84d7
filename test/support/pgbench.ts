/**
 * PostgreSQL's own pgbench (TPC-B) as the application during a whole pgshift lifecycle
 * (test/e2e/pgbenchWorkload.test.ts; scale 10 under `npm run soak`). pgbench runs in 5-second
 * rounds until the lifecycle is done, so every round reports its processed and failed
 * transactions; its per-transaction log gives the longest transaction. Afterwards every
 * account's balance must equal the sum of its history rows.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange, type Stage } from "../../index";
import { createTestDatabase, withClient } from "./pg";
import { collectOutput, createStack, scratchDir } from "./pulumi";

const execFileAsync = promisify(execFile);

/** Debian's pgbench (package postgresql-15); it works against the embedded servers of 14 to 18. */
const CANDIDATES = [process.env.PGBENCH, "/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"].filter((p): p is string => !!p);

export const PGBENCH_MISSING =
  "pgbench not found (looked at $PGBENCH, /usr/lib/postgresql/15/bin/pgbench, /usr/bin/pgbench). " +
  "Install it with `apt-get install -y --no-install-recommends postgresql-15` (Debian 12 ships pgbench in the server package; " +
  "it works against the embedded servers of PostgreSQL 14 to 18), " +
  "or point PGBENCH at a pgbench binary.";

export function findPgbench(): string {
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new Error(PGBENCH_MISSING);
  return found;
}

export interface PgbenchOptions {
  scale: number;
  clients: number;
  column: "abalance" | "aid";
}

export interface PgbenchResult extends PgbenchOptions {
  transactions: number;
  failedTransactions: number;
  /** Accounts whose balance is not the sum of their history rows. */
  balanceMismatches: number;
  /** The longest pgbench transaction, in ms (its per-transaction log). */
  maxLatencyMs: number;
  type: string;
  problems: string[];
}

interface Round {
  processed: number;
  failed: number;
  aborted: string[];
}

function parseRound(out: string, code: number | null): Round {
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
  const aborted = out.split("\n").filter((l) => /aborted|ERROR|FATAL/.test(l));
  if (code !== 0 && !aborted.length) aborted.push(`pgbench exited with ${code}: ${out.slice(-500)}`);
  return { processed, failed, aborted };
}

function runRound(bin: string, url: string, clients: number, logPrefix: string): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["-n", "-c", String(clients), "-j", "2", "-T", "5", "-l", `--log-prefix=${logPrefix}`, url], { cwd: path.dirname(logPrefix) });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve(parseRound(out, code)));
  });
}

/** The longest transaction in pgbench's per-transaction logs (field 3: latency in microseconds). */
function maxLatencyMs(dir: string): number {
  let max = 0;
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith("pgbench_log"))) {
    for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      const us = Number(line.split(" ")[2]);
      if (us > max) max = us;
    }
  }
  return Math.round(max / 1000);
}

export async function pgbenchLifecycle(opts: PgbenchOptions): Promise<PgbenchResult> {
  const bin = findPgbench();
  const db = await createTestDatabase(`pgbench_${opts.column}`);
  const result: PgbenchResult = { ...opts, transactions: 0, failedTransactions: 0, balanceMismatches: 0, maxLatencyMs: 0, type: "", problems: [] };
  const logDir = scratchDir("pgbench", opts.column);
  try {
    await execFileAsync(bin, ["-i", "-q", "-s", String(opts.scale), db.url], { maxBuffer: 16 * 1024 * 1024 });
    const program = async () => {
      new ColumnTypeChange(`pgbench-${opts.column}`, {
        table: "pgbench_accounts",
        column: opts.column,
        toType: "bigint",
        stage: new pulumi.Config().require("stage") as Stage,
        connection: pulumi.secret(db.url),
      });
    };
    const stack = await createStack({ projectName: `pgshift-pgbench-${opts.column}`, program });
    let done = false;
    const load = (async () => {
      for (let i = 0; !done; i++) {
        const r = await runRound(bin, db.url, opts.clients, path.join(logDir, `pgbench_log_${i}`));
        result.transactions += r.processed;
        result.failedTransactions += r.failed + (r.aborted.length ? 1 : 0);
        if (r.aborted.length) result.problems.push(`pgbench round ${i}: ${r.aborted.slice(0, 3).join("; ")}`);
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 1000));
      for (const stage of ["expand", "cutover", "contract"] as const) {
        await stack.setConfig("stage", { value: stage });
        const out = collectOutput();
        const up = await stack.up({ onOutput: out.onOutput }).catch((err: Error) => err);
        if (up instanceof Error) {
          result.problems.push(`pulumi up ${stage} failed: ${up.message}`);
          break;
        }
      }
      // one more round after contract: the application goes on against the finished column
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      done = true;
      await load;
    }
    result.maxLatencyMs = maxLatencyMs(logDir);
    await withClient(db.url, async (c) => {
      const { rows: t } = await c.query<{ t: string }>(
        `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'pgbench_accounts'::regclass AND attname = $1`,
        [opts.column],
      );
      result.type = t[0]?.t ?? "(missing)";
      if (result.type !== "bigint") result.problems.push(`pgbench_accounts.${opts.column} is ${result.type}, not bigint`);
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgbench_accounts a
           LEFT JOIN (SELECT aid, sum(delta) AS total FROM pgbench_history GROUP BY aid) h ON h.aid = a.aid
          WHERE a.abalance <> coalesce(h.total, 0)`,
      );
      result.balanceMismatches = rows[0].n;
      if (rows[0].n) result.problems.push(`${rows[0].n} account(s) whose balance is not the sum of their history`);
      const { rows: sums } = await c.query<{ b: string; h: string }>(
        `SELECT (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches)::text AS b, (SELECT coalesce(sum(delta), 0) FROM pgbench_history)::text AS h`,
      );
      if (sums[0].b !== sums[0].h) result.problems.push(`branch balances sum to ${sums[0].b}, history to ${sums[0].h}`);
    });
    if (result.transactions === 0) result.problems.push("pgbench processed no transaction");
  } finally {
    await db.drop();
  }
  return result;
}

export function pgbenchLine(r: PgbenchResult): string {
  return (
    `pgbench column=${r.column} scale=${r.scale} clients=${r.clients} ${r.problems.length ? "FAIL" : "ok"} type=${r.type} ` +
    `transactions=${r.transactions} failed=${r.failedTransactions} balance_mismatches=${r.balanceMismatches} longest_transaction_ms=${r.maxLatencyMs}`
  );
}
