import { progressText } from "../../backfill/progress";
import { reltuples, runBackfill } from "../../backfill/run";
import { qualified } from "../../sql/quote";
import { execFor, familyOf, memberRow, requireRow, unfinishedBackfill, withSession } from "../session";
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
      // every member of a key family has its own backfill and checkpoint (in its own row), run
      // in the family's order (parents first); one that stops unfinished (its time budget)
      // stops the run, and the next pulumi up continues there
      let scanned = 0;
      let updated = 0;
      let batches = 0;
      let elapsedMs = 0;
      const members = familyOf(s, row);
      for (const m of members) {
        const start = (await memberRow(s, row, m))?.backfill ?? null;
        if (start?.done) {
          scanned += start.rowsScanned;
          updated += start.rowsUpdated;
          continue;
        }
        const r = await runBackfill(s.db, m, start, { ...execFor(s, m), stateSchema: s.stateSchema });
        scanned += r.checkpoint.rowsScanned;
        updated += r.checkpoint.rowsUpdated;
        batches += r.batches;
        elapsedMs += r.elapsedMs;
        if (!r.checkpoint.done) {
          const progress = progressText({ scanned: r.checkpoint.rowsScanned, total: r.total, done: false }) + (members.length > 1 ? ` (of ${m.names.id})` : "");
          // a budget that ran out is no failure: the up goes on, ShadowIndexes and Cutover wait for it
          return { stage: "expand", done: false, rowsScanned: scanned, rowsUpdated: updated, batches, elapsedMs, progress, rowsTotal: r.total, stoppedBy: r.stoppedBy, drift: unfinished(progress) };
        }
      }
      return { stage: "expand", done: true, rowsScanned: scanned, rowsUpdated: updated, batches, elapsedMs, progress: progressText({ scanned, total: null, done: true }) };
    });
  },
  // the backfilled values live in the shadow column; ShadowColumn's delete removes them
  async remove() {},
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      const c = s.row.backfill;
      const done = s.row.stage !== "expand" || (await unfinishedBackfill(s, s.row)) === null;
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
