/**
 * Per-batch samples of a running backfill: its checkpoint (rows scanned) read from the state
 * row every 50 ms on a connection of its own, with the bench process's RSS (the client runner
 * runs in this process). Every change of the checkpoint is a committed batch (two batches
 * committed within one poll are one sample), so the samples show whether the cost per row and
 * the memory stay flat from the first batch to the last.
 */
import { Client } from "pg";
import { MB } from "./rssSampler";

export interface BatchSample {
  /** ms since the backfill started. */
  ms: number;
  rowsScanned: number;
  rssMb: number;
}

/** The first and last tenth of the samples: rows/s and peak RSS in each; and every tenth. */
export interface Flatness {
  samples: number;
  firstRowsPerSec: number;
  lastRowsPerSec: number;
  firstRssMb: number;
  lastRssMb: number;
  /** Each tenth of the batches in order: rows scanned at its end, its rows/s, its peak RSS. */
  tenths: { rowsScanned: number; rowsPerSec: number; rssMb: number }[];
}

export class BatchSampler {
  readonly samples: BatchSample[] = [];
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly url: string, private readonly stateTable: string) {}

  start(): void {
    const t0 = Date.now();
    this.loop = (async () => {
      const c = new Client({ connectionString: this.url, application_name: "bench-batch-sampler" });
      await c.connect();
      let last = -1;
      try {
        while (this.running) {
          const { rows } = await c.query<{ n: string | null }>(`SELECT max((backfill->>'rowsScanned')::bigint)::text AS n FROM ${this.stateTable}`);
          const n = Number(rows[0]?.n ?? 0);
          if (n !== last) {
            this.samples.push({ ms: Date.now() - t0, rowsScanned: n, rssMb: process.memoryUsage().rss / MB });
            last = n;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await c.end().catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Rows/s and RSS over the first and the last tenth of the batches (at least 2 samples each). */
export function flatness(samples: BatchSample[]): Flatness | null {
  const batches = samples.filter((s) => s.rowsScanned > 0);
  if (batches.length < 4) return null;
  const k = Math.max(2, Math.floor(batches.length / 10));
  const rate = (part: BatchSample[]) => (part[part.length - 1].rowsScanned - part[0].rowsScanned) / Math.max(0.001, (part[part.length - 1].ms - part[0].ms) / 1000);
  const first = batches.slice(0, k);
  const last = batches.slice(-k);
  const tenths = Array.from({ length: 10 }, (_, i) => batches.slice(Math.floor((i * batches.length) / 10), Math.floor(((i + 1) * batches.length) / 10) + 1))
    .filter((part) => part.length >= 2)
    .map((part) => ({ rowsScanned: part[part.length - 1].rowsScanned, rowsPerSec: rate(part), rssMb: Math.max(...part.map((s) => s.rssMb)) }));
  return {
    tenths,
    samples: batches.length,
    firstRowsPerSec: rate(first),
    lastRowsPerSec: rate(last),
    firstRssMb: Math.max(...first.map((s) => s.rssMb)),
    lastRssMb: Math.max(...last.map((s) => s.rssMb)),
  };
}
