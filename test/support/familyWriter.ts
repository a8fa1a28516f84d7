import { Client } from "pg";
import { ORPHANS } from "./families";

/**
 * An application of the key-family scenarios (test/support/families.ts), writing through every
 * stage: each transaction inserts an order (and, every third, moves the new order's key before
 * its children exist), two children that reference it, a content node under an existing one
 * with a file and a tag, and now and then re-points an existing child at the new order. It
 * keeps a ledger of what each child row must reference at the end.
 */
export interface FamilyWriterStats {
  transactions: number;
  failures: string[];
  maxLatencyMs: number;
  /** `table id` -> the key it must reference. */
  ledger: Map<string, string>;
  /** Orders and content nodes the writer created (their keys as last written). */
  parents: string[];
}

/**
 * Runs `body(db, i)` on one session of `url` over and over (i = 1, 2, ...), `pauseMs` apart,
 * until stop(); stop() waits for the round in flight and returns `result`.
 */
function loopUntilStopped<T>(url: string, name: string, pauseMs: number, result: T, body: (db: Client, i: number) => Promise<void>): { stop(): Promise<T> } {
  let running = true;
  const loop = (async () => {
    const db = new Client({ connectionString: url, application_name: name });
    await db.connect();
    try {
      for (let i = 1; running; i++) {
        await body(db, i);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    } finally {
      await db.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

export function startFamilyWriter(url: string): { stop(): Promise<FamilyWriterStats> } {
  const stats: FamilyWriterStats = { transactions: 0, failures: [], maxLatencyMs: 0, ledger: new Map(), parents: [] };
  return loopUntilStopped(url, "test-family-writer", 2, stats, async (db, i) => {
    const t0 = Date.now();
    try {
      await db.query("BEGIN");
      let orderId = String((await db.query(`INSERT INTO orders (note) VALUES ($1) RETURNING id`, [`w${i}`])).rows[0].id);
      if (i % 3 === 0) {
        orderId = String((await db.query(`UPDATE orders SET id = id + 100000000 WHERE id = $1 RETURNING id`, [orderId])).rows[0].id);
      }
      const item = (await db.query(`INSERT INTO order_items (order_id, qty) VALUES ($1, $2) RETURNING id`, [orderId, i])).rows[0].id;
      const invoice = (await db.query(`INSERT INTO billing.invoices (order_id, total) VALUES ($1, $2) RETURNING id`, [orderId, i])).rows[0].id;
      const moved = 1 + ((i * 7919) % 1500);
      if (i % 5 === 0) await db.query(`UPDATE order_items SET order_id = $1 WHERE id = $2`, [orderId, moved]);
      // content nodes: 32 hex digits, the same text as varchar(32) before cutover and as uuid after
      const node = (await db.query(`SELECT md5($1) AS k`, [`writer ${i}`])).rows[0].k as string;
      const parent = (await db.query(`SELECT md5($1::text) AS k`, [String(1 + (i % 300))])).rows[0].k as string;
      await db.query(`INSERT INTO contentnode (id, parent_id, title) VALUES ($1, $2, $3)`, [node, parent, `writer ${i}`]);
      const file = (await db.query(`INSERT INTO file (contentnode_id, file_size) VALUES ($1, $2) RETURNING id`, [node, i])).rows[0].id;
      await db.query(`INSERT INTO contentnode_tags (contentnode_id, tag_id) VALUES ($1, 1000 + $2)`, [node, i]);
      await db.query("COMMIT");
      stats.transactions++;
      stats.parents.push(`orders ${orderId}`, `contentnode ${node}`);
      stats.ledger.set(`order_items ${item}`, orderId);
      stats.ledger.set(`billing.invoices ${invoice}`, orderId);
      if (i % 5 === 0) stats.ledger.set(`order_items ${moved}`, orderId);
      stats.ledger.set(`file ${file}`, node);
    } catch (err) {
      stats.failures.push(err instanceof Error ? err.message : String(err));
      await db.query("ROLLBACK").catch(() => undefined);
    }
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, Date.now() - t0);
  });
}

/** Counts orphan rows of every scenario over and over until stopped; returns the largest count seen and how often it looked. */
export function startOrphanWatch(url: string): { stop(): Promise<{ max: number; checks: number; errors: string[] }> } {
  const result = { max: 0, checks: 0, errors: [] as string[] };
  return loopUntilStopped(url, "test-orphan-watch", 20, result, async (db) => {
    try {
      const n = Number((await db.query(`SELECT ${Object.values(ORPHANS).map((q) => `(${q})`).join(" + ")} AS n`)).rows[0].n);
      result.max = Math.max(result.max, n);
      result.checks++;
    } catch (err) {
      result.errors.push(err instanceof Error ? err.message : String(err));
    }
  });
}
