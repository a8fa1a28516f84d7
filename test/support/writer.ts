import { Client } from "pg";

/**
 * An application-like writer: inserts and updates rows of a table in a loop until stopped,
 * recording every failed statement and the longest time one statement took (how long the
 * application was blocked). It keeps a ledger of the last value it wrote per key, so a test
 * can check that every write survived.
 */
export interface WriterStats {
  inserts: number;
  updates: number;
  failures: string[];
  maxLatencyMs: number;
  /** key -> the value the writer last wrote to the column. */
  ledger: Map<number, number>;
}

export interface WriterOptions {
  url: string;
  table: string;
  column: string;
  /** Highest existing id: updates pick ids up to it. */
  maxId: number;
  /** Extra columns for INSERTs (name -> SQL value expression). */
  insertExtras?: Record<string, string>;
  pauseMs?: number;
  /** Called after every statement: when it ended (epoch ms), how long it took, whether it succeeded (the bench's latency trace). */
  onStatement?: (endedAt: number, latencyMs: number, ok: boolean) => void;
}

export function startWriter(opts: WriterOptions): { stop(): Promise<WriterStats>; stats: WriterStats } {
  const stats: WriterStats = { inserts: 0, updates: 0, failures: [], maxLatencyMs: 0, ledger: new Map() };
  let running = true;
  const loop = (async () => {
    const db = new Client({ connectionString: opts.url, application_name: "test-writer" });
    await db.connect();
    const extras = Object.entries(opts.insertExtras ?? {});
    const cols = [opts.column, ...extras.map(([c]) => c)].map((c) => `"${c}"`).join(", ");
    const vals = ["$1", ...extras.map(([, v]) => v)].join(", ");
    let i = 0;
    try {
      while (running) {
        i++;
        const value = 1_000_000 + i;
        const t0 = Date.now();
        let ok = true;
        try {
          if (i % 2 === 0) {
            const { rows } = await db.query(`INSERT INTO ${opts.table} (${cols}) VALUES (${vals}) RETURNING id`, [value]);
            stats.ledger.set(Number(rows[0].id), value);
            stats.inserts++;
          } else {
            const id = 1 + ((i * 7919) % opts.maxId);
            await db.query(`UPDATE ${opts.table} SET "${opts.column}" = $1 WHERE id = $2`, [value, id]);
            stats.ledger.set(id, value);
            stats.updates++;
          }
        } catch (err) {
          ok = false;
          stats.failures.push(err instanceof Error ? err.message : String(err));
        }
        const t1 = Date.now();
        stats.maxLatencyMs = Math.max(stats.maxLatencyMs, t1 - t0);
        opts.onStatement?.(t1, t1 - t0, ok);
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    } finally {
      await db.end();
    }
  })();
  return {
    stats,
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}
