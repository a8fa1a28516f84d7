import { planMirrorTrigger, planRemoveMirrorTrigger } from "../../plan/expand";
import { readWhileExpanding, removeWhileExpanding, requireRow, runForEachMember, withSession } from "../session";
import type { ChildHandler } from "./types";

export const mirrorTrigger: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "MirrorTrigger");
      if (row.stage !== "expand") return { stage: row.stage };
      const stats = await runForEachMember(s, row, planMirrorTrigger);
      return { stage: "expand", triggers: [s.names.forwardInsertTrigger, s.names.forwardUpdateTrigger], ...stats };
    });
  },
  remove: removeWhileExpanding(planRemoveMirrorTrigger),
  read: readWhileExpanding((s, row, state) => {
    const present = [s.names.forwardInsertTrigger, s.names.forwardUpdateTrigger].filter((t) => state.triggers.includes(t));
    if (present.length === 0) return null;
    const missing = [s.names.forwardInsertTrigger, s.names.forwardUpdateTrigger].filter((t) => !present.includes(t));
    return { stage: row.stage, triggers: present, drift: missing.map((t) => `trigger ${t} is missing`) };
  }),
};
