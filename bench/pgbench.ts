/**
 * PostgreSQL's own pgbench (TPC-B, `pgbench -i -s 10`) running in its own database on the
 * bench's server for the whole run, at a fixed rate, with a per-transaction log: what every
 * other application on the server sees while the table is changed. Its transactions are then
 * grouped by the run's phases (tps, p50/p99/max latency, failed transactions per phase).
 *
 * pgbench writes its log through stdio buffers and loses the last few KB when it is stopped
 * by a signal, so it keeps running for a tail (BENCH_PGBENCH_TAIL_MS) after the last phase
 * and the report says whether the log covers every phase.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createTestDatabase, type TestDatabase } from "../test/support/pg";
import type { Phase } from "./measure";
import { sleep } from "./measure";
import { percentile, type Timed } from "./stats";

export interface PgbenchSettings {
  bin: string;
  scale: number;
  clients: number;
  /** Target transactions per second (-R): latency is then counted from each transaction's scheduled start, so a stall shows in full. */
  rate: number;
}

/** pgbench's numbers for one phase. */
export interface PgbenchWindow {
  id: string;
  label: string;
  seconds: number;
  transactions: number;
  tps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failed: number;
  /** WAL the whole server wrote during the phase, MB/s (bench/walSampler.ts); null when not sampled. */
  walMbPerSec?: number | null;
  /** Checkpoints that finished during the phase; null when not sampled. */
  checkpoints?: number | null;
}

interface Transaction extends Timed {
  failed: boolean;
}

/** Runs `bin args`, resolving with its output; rejects with stderr when it fails. */
function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.slice(0, 3).join(" ")} exited ${code}: ${out.trim().split("\n").slice(-3).join(" | ")}`))));
  });
}

/**
 * One line of pgbench's per-transaction log (PostgreSQL 15): `client_id transaction_no time
 * script_no time_epoch time_us [schedule_lag]`, `time` in microseconds or `failed` /
 * `serialization` / `deadlock` (with --failures-detailed); time_epoch.time_us is when it ended.
 */
export function parseLogLine(line: string): Transaction | null {
  const f = line.trim().split(/\s+/);
  if (f.length < 6) return null;
  const t = Number(f[4]) * 1000 + Number(f[5]) / 1000;
  if (!Number.isFinite(t)) return null;
  const failed = !/^\d+$/.test(f[2]);
  return { t, ms: failed ? 0 : Number(f[2]) / 1000, failed };
}

/** Groups transactions by the phase they ended in. */
export function windowStats(txs: Transaction[], phases: Phase[]): PgbenchWindow[] {
  return phases.map((p) => {
    const inside = txs.filter((x) => x.t >= p.start && x.t <= p.end);
    const ok = inside.filter((x) => !x.failed).map((x) => x.ms);
    const seconds = (p.end - p.start) / 1000;
    return {
      id: p.id,
      label: p.label,
      seconds,
      transactions: inside.length,
      tps: seconds > 0 ? inside.length / seconds : 0,
      p50Ms: percentile(ok, 50),
      p99Ms: percentile(ok, 99),
      maxMs: ok.reduce((m, v) => Math.max(m, v), 0),
      failed: inside.length - ok.length,
    };
  });
}

export class Pgbench {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderr = "";
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgshift-pgbench-"));
  private db: TestDatabase | undefined;

  constructor(private readonly settings: PgbenchSettings) {}

  /** Creates its database and its TPC-B tables (`pgbench -i -s <scale>`). */
  async init(): Promise<void> {
    this.db = await createTestDatabase("bench_pgbench");
    await run(this.settings.bin, ["-i", "-q", "-s", String(this.settings.scale), this.db.url]);
  }

  /** Starts the run in the background (it runs until stop()). */
  start(): void {
    if (!this.db) throw new Error("pgbench: init() first");
    const { bin, clients, rate } = this.settings;
    const args = ["-n", "-c", String(clients), "-j", String(Math.min(2, clients)), "-R", String(rate), "-T", "86400", "--failures-detailed", "--log", `--log-prefix=${path.join(this.dir, "tx")}`, this.db.url];
    const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on("exit", () => resolve()));
    this.child = child;
  }

  /** Stops the run after `tailMs` more; returns its transactions and the clients that aborted. */
  async stop(tailMs: number): Promise<{ transactions: Transaction[]; abortedClients: string[]; loggedUntil: number }> {
    await sleep(tailMs);
    this.child?.kill("SIGINT");
    await this.exited;
    const transactions: Transaction[] = [];
    for (const f of fs.readdirSync(this.dir)) {
      for (const line of fs.readFileSync(path.join(this.dir, f), "utf8").split("\n")) {
        const tx = parseLogLine(line);
        if (tx) transactions.push(tx);
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    await this.db?.drop();
    const abortedClients = this.stderr.split("\n").filter((l) => /aborted/.test(l));
    return { transactions, abortedClients, loggedUntil: transactions.reduce((m, x) => Math.max(m, x.t), 0) };
  }
}
