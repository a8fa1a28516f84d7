import { runBackfill } from "../../backfill/run";
import { contextOf, requireRow, withSession } from "../session";
import type { ChildHandler } from "./types";

export const backfill: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Backfill");
      if (row.stage !== "expand") return { stage: row.stage, done: true };
      const r = await runBackfill(s.db, contextOf(s, row), row.backfill, { ...s.exec, stateSchema: s.stateSchema });
      return {
        stage: "expand",
        done: r.checkpoint.done,
        rowsScanned: r.checkpoint.rowsScanned,
        rowsUpdated: r.checkpoint.rowsUpdated,
        batches: r.batches,
        elapsedMs: r.elapsedMs,
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
      return {
        stage: s.row.stage,
        done,
        rowsScanned: c?.rowsScanned ?? 0,
        rowsUpdated: c?.rowsUpdated ?? 0,
        drift: done ? [] : ["the backfill has not finished"],
      };
    });
  },
};
