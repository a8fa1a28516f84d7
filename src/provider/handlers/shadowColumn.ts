import { runSteps } from "../../db/executor";
import { claimMigration, deleteMigration, insertMigration, saveCheckpoint } from "../../db/state";
import { planRemoveShadowColumn, planShadowColumn } from "../../plan/expand";
import { planContext } from "../../plan/facts";
import { familyContexts } from "../../plan/family";
import { preflight } from "../../preflight/preflight";
import { execFor, familyLive, live, memberRow, runForEachMember, withSession } from "../session";
import type { ChildHandler } from "./types";

export const shadowColumn: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      if (s.row && s.row.stage !== "expand") return { stage: s.row.stage, shadowColumn: s.names.shadowColumn };
      // the rows are written before any DDL, so a crash after them still knows what to undo
      const facts = s.row?.facts ?? (await preflight(s.db, s.spec));
      const owner = inputs.owner ?? null;
      if (!s.row) await insertMigration(s.db, s.stateSchema, { id: s.names.id, stage: "expand", facts, spec: s.spec, owner });
      else if (!s.row.owner && inputs.owner) await claimMigration(s.db, s.stateSchema, s.names.id, inputs.owner);
      const root = planContext(s.spec, facts);
      const members = familyContexts(root);
      // one row per member of a key family (its own checkpoint, stage and reversibility), linked
      // to the root by its facts; written again on every run, so a crash between them is healed
      for (const m of members.slice(1)) await insertMigration(s.db, s.stateSchema, { id: m.names.id, stage: "expand", facts: m.facts, spec: m.spec, owner });
      const liveOf = await familyLive(s, members);
      let statements = 0;
      let lockRetries = 0;
      for (const m of members) {
        const state = liveOf(m);
        const row = s.row ? await memberRow(s, s.row, m) : null;
        if (row?.backfill && !state.columns.includes(m.names.shadowColumn)) {
          // the shadow column was dropped behind pgshift's back: its backfill starts over
          log(`pgshift: ${m.names.id}: the shadow column is gone; adding it again and resetting the backfill checkpoint`);
          await saveCheckpoint(s.db, s.stateSchema, m.names.id, null);
        }
        const stats = await runSteps(s.db, planShadowColumn(m, state), execFor(s, m));
        statements += stats.statements;
        lockRetries += stats.lockRetries;
      }
      return { stage: "expand", shadowColumn: s.names.shadowColumn, fromType: facts.from.formatted, toType: facts.to.formatted, statements, lockRetries };
    });
  },
  async remove(props, log) {
    await withSession(props, log, async (s) => {
      if (!s.row) return;
      if (s.row.stage !== "expand") {
        log(`pgshift: ${s.names.id} reached ${s.row.stage}; the former shadow column is the real column now, nothing to drop`);
        return;
      }
      await runForEachMember(s, s.row, planRemoveShadowColumn);
      for (const m of familyContexts(planContext(s.spec, s.row.facts)).slice(1)) await deleteMigration(s.db, s.stateSchema, m.names.id);
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
