/**
 * The server's WAL position and finished checkpoints over the run, read every 200 ms: how many
 * bytes of WAL each phase wrote (server-wide, so pgbench's and the writer's share is in it too)
 * and how many checkpoints ended in it (a checkpoint ends by flushing every file it wrote, the
 * moment the disk is busiest). They are there to explain pgbench's p99 by phase: its commits
 * wait for the disk. Measured on this machine's PostgreSQL (production settings), pgbench -R
 * 100 beside one loop of in-place (HOT) UPDATEs writing 37 MB/s of WAL: p99 3 ms -> 99 ms; beside
 * one CPU-bound query: 3 ms -> 4 ms; beside two: 13 ms.
 */
import { Client } from "pg";
import type { Phase } from "./measure";

const SAMPLE_EVERY_MS = 200;

export interface WalSample {
  t: number;
  bytes: number;
  checkpoints: number;
}

/** Checkpoints finished since the statistics were reset: PostgreSQL 17 moved them to pg_stat_checkpointer. */
const CHECKPOINTS_SQL = {
  checkpointer: `(SELECT num_timed + num_requested FROM pg_stat_checkpointer)`,
  bgwriter: `(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)`,
};

/**
 * WAL bytes written and checkpoints finished between two epoch-ms times: bytes interpolated
 * between the samples around each time; checkpoints from the sample before the start to the one
 * after the end, so one that finished near an edge counts. Null outside the samples.
 */
export function walBetween(s: WalSample[], start: number, end: number): { bytes: number; checkpoints: number } | null {
  if (s.length === 0 || start < s[0].t || end > s[s.length - 1].t || end < start) return null;
  const at = (t: number, edge: "start" | "end"): { bytes: number; checkpoints: number } => {
    const i = s.findIndex((x) => x.t >= t);
    if (i === 0 || s[i].t === t) return s[i];
    const a = s[i - 1];
    const b = s[i];
    return { bytes: a.bytes + ((b.bytes - a.bytes) * (t - a.t)) / (b.t - a.t), checkpoints: edge === "start" ? a.checkpoints : b.checkpoints };
  };
  const a = at(start, "start");
  const b = at(end, "end");
  return { bytes: b.bytes - a.bytes, checkpoints: b.checkpoints - a.checkpoints };
}

export class WalSampler {
  private samples: WalSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private client: Client | undefined;
  private reading = false;
  private checkpointsSql = CHECKPOINTS_SQL.bgwriter;

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    this.client = new Client({ connectionString: this.url, application_name: "bench-wal-sampler" });
    await this.client.connect();
    const { rows } = await this.client.query<{ v: boolean }>(`SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL AS v`);
    if (rows[0].v) this.checkpointsSql = CHECKPOINTS_SQL.checkpointer;
    await this.sample();
    // a failed read only leaves a gap: the phases around it are interpolated
    this.timer = setInterval(() => void this.sample().catch(() => undefined), SAMPLE_EVERY_MS);
  }

  private async sample(): Promise<void> {
    if (!this.client || this.reading) return;
    this.reading = true;
    try {
      const { rows } = await this.client.query<{ b: number; c: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS b, ${this.checkpointsSql} AS c`);
      this.samples.push({ t: Date.now(), bytes: rows[0].b, checkpoints: Number(rows[0].c) });
    } finally {
      this.reading = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sample().catch(() => undefined);
    await this.client?.end().catch(() => undefined);
  }

  /**
   * Each phase's WAL (bytes, MB/s over its duration) and the checkpoints that finished in it;
   * null for a phase shorter than two samples, whose rate would be its neighbours' interpolated.
   */
  byPhase(phases: Phase[]): Record<string, { bytes: number; mbPerSec: number; checkpoints: number } | null> {
    return Object.fromEntries(
      phases.map((p) => {
        const w = p.end - p.start < 2 * SAMPLE_EVERY_MS ? null : walBetween(this.samples, p.start, p.end);
        return [p.id, w === null ? null : { ...w, mbPerSec: w.bytes / 1024 / 1024 / ((p.end - p.start) / 1000) }];
      }),
    );
  }
}
