import { runSteps } from "../../db/executor";
import { claimMigration, deleteMigration, insertMigration, saveCheckpoint } from "../../db/state";
import { planRemoveShadowColumn, planShadowColumn } from "../../plan/expand";
import { planContext } from "../../plan/facts";
import { preflight } from "../../preflight/preflight";
import { live, withSession } from "../session";
import type { ChildHandler } from "./types";

export const shadowColumn: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      if (s.row && s.row.stage !== "expand") return { stage: s.row.stage, shadowColumn: s.names.shadowColumn };
      // the row is written before any DDL, so a crash after it still knows what to undo
      const facts = s.row?.facts ?? (await preflight(s.db, s.spec));
      if (!s.row) await insertMigration(s.db, s.stateSchema, { id: s.names.id, stage: "expand", facts, spec: s.spec, owner: inputs.owner ?? null });
      else if (!s.row.owner && inputs.owner) await claimMigration(s.db, s.stateSchema, s.names.id, inputs.owner);
      const ctx = planContext(s.spec, facts);
      const state = await live(s);
      if (s.row?.backfill && !state.columns.includes(s.names.shadowColumn)) {
        // the shadow column was dropped behind pgshift's back: its backfill starts over
        log(`pgshift: ${s.names.id}: the shadow column is gone; adding it again and resetting the backfill checkpoint`);
        await saveCheckpoint(s.db, s.stateSchema, s.names.id, null);
      }
      const stats = await runSteps(s.db, planShadowColumn(ctx, state), s.exec);
      return { stage: "expand", shadowColumn: s.names.shadowColumn, fromType: facts.from.formatted, toType: facts.to.formatted, ...stats };
    });
  },
  async remove(props, log) {
    await withSession(props, log, async (s) => {
      if (!s.row) return;
      if (s.row.stage !== "expand") {
        log(`pgshift: ${s.names.id} reached ${s.row.stage}; the former shadow column is the real column now, nothing to drop`);
        return;
      }
      await runSteps(s.db, planRemoveShadowColumn(planContext(s.spec, s.row.facts), await live(s)), s.exec);
      await deleteMigration(s.db, s.stateSchema, s.names.id);
    });
  },
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      if (s.row.stage !== "expand") return { stage: s.row.stage, shadowColumn: s.names.shadowColumn };
      const state = await live(s);
      if (!state.columns.includes(s.names.shadowColumn)) return null;
      return { stage: s.row.stage, shadowColumn: s.names.shadowColumn, type: state.columnTypes[s.names.shadowColumn] };
    });
  },
};
