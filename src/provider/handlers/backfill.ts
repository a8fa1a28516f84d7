import { progressText } from "../../backfill/progress";
import { reltuples, runBackfill } from "../../backfill/run";
import { qualified } from "../../sql/quote";
import { contextOf, requireRow, withSession } from "../session";
import type { ChildHandler } from "./types";

/**
 * The drift an unfinished backfill reports, from apply (a time budget ran out) as from refresh:
 * the provider's diff sees it, so the next `pulumi up` runs the Backfill child again and it
 * continues from its checkpoint, with or without a refresh in between.
 */
function unfinished(progress: string): string[] {
  return [`the backfill has not finished (${progress})`];
}

export const backfill: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Backfill");
      if (row.stage !== "expand") {
        return { stage: row.stage, done: true, progress: progressText({ scanned: row.backfill?.rowsScanned ?? 0, total: null, done: true }) };
      }
      const r = await runBackfill(s.db, contextOf(s, row), row.backfill, { ...s.exec, stateSchema: s.stateSchema });
      const done = r.checkpoint.done;
      const progress = progressText({ scanned: r.checkpoint.rowsScanned, total: r.total, done });
      // a budget that ran out is no failure: the up goes on, ShadowIndexes and Cutover wait for it
      return {
        stage: "expand",
        done,
        rowsScanned: r.checkpoint.rowsScanned,
        rowsUpdated: r.checkpoint.rowsUpdated,
        batches: r.batches,
        elapsedMs: r.elapsedMs,
        progress,
        ...(done ? {} : { rowsTotal: r.total, stoppedBy: r.stoppedBy, drift: unfinished(progress) }),
      };
    });
  },
  // the backfilled values live in the shadow column; ShadowColumn's delete removes them
  async remove() {},
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      const c = s.row.backfill;
      const done = s.row.stage !== "expand" || (c?.done ?? false);
      const scanned = c?.rowsScanned ?? 0;
      const base = { stage: s.row.stage, done, rowsScanned: scanned, rowsUpdated: c?.rowsUpdated ?? 0 };
      // (a finished one's phrase follows from done and rowsScanned: the component's backfillProgress writes it)
      if (done) return { ...base, drift: [] };
      // reltuples only: a refresh should not count(*) a large table
      const progress = progressText({ scanned, total: await reltuples(s.db, qualified(s.schema, s.table)), done });
      return { ...base, progress, drift: unfinished(progress) };
    });
  },
};
