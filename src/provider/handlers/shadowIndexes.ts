import { progressText } from "../../backfill/progress";
import { reltuples } from "../../catalog/tableSize";
import { planRemoveShadowIndexes, planShadowIndexes, shadowObjects } from "../../plan/expand";
import { lateReferences } from "../../preflight/family";
import { contextOf, familyOf, readWhileExpanding, removeWhileExpanding, requireRow, runForEachMember, unfinishedBackfill, withSession } from "../session";
import { readMigration } from "../../db/state";
import { rollBackCutover } from "./cutover";
import type { ChildHandler } from "./types";

export const shadowIndexes: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      let row = requireRow(s, "ShadowIndexes");
      if (inputs.rollBack && row.stage === "cutover") {
        log(`pgshift: ${s.names.id}: the state row says cutover but the stage asked for is expand: swapping back`);
        await rollBackCutover(s, row);
        row = (await readMigration(s.db, s.stateSchema, row.id)) ?? row;
      }
      if (row.stage !== "expand") return { stage: row.stage };
      const ctx = contextOf(s, row);
      const unfinished = await unfinishedBackfill(s, row);
      if (unfinished) {
        // a time budget stopped the backfill: building the copies now would index a half-filled
        // column, and every later backfill batch would maintain them. Build nothing, succeed,
        // and report it as drift so the next `pulumi up` runs this child again after the backfill.
        const m = unfinished.ctx;
        const progress = progressText({ scanned: unfinished.row?.backfill?.rowsScanned ?? 0, total: await reltuples(s.db, m.facts.table.qualifiedName), done: false });
        const waiting = `index copies not built yet: waiting for the backfill (${progress}${m.names.id === ctx.names.id ? "" : ` of ${m.names.id}`})`;
        log(`pgshift: ${s.names.id}: ${waiting}; the next pulumi up builds them once it has finished`);
        return { stage: "expand", objects: shadowObjects(ctx).map((o) => o.name), built: false, waiting, drift: [waiting] };
      }
      const stats = await runForEachMember(s, row, planShadowIndexes);
      return { stage: "expand", objects: familyOf(s, row).flatMap((m) => shadowObjects(m).map((o) => o.name)), ...stats };
    });
  },
  remove: removeWhileExpanding(planRemoveShadowIndexes),
  read: readWhileExpanding(async (s, row, state) => {
    const objects = shadowObjects(contextOf(s, row));
    const late = await lateReferences(s.db, familyOf(s, row));
    const missing = objects.filter((o) => !(o.kind === "index" ? state.indexes[o.name] : state.constraints[o.name])).map((o) => o.name);
    const invalid = objects
      .filter((o) => (o.kind === "index" ? state.indexes[o.name]?.valid === false : state.constraints[o.name]?.validated === false))
      .map((o) => o.name);
    return {
      stage: row.stage,
      objects: objects.map((o) => o.name),
      missing,
      invalid,
      drift: [...missing.map((m) => `${m} is missing`), ...invalid.map((i) => `${i} is not valid`)],
      // a foreign key added after expand that references a member: the cutover will refuse it
      ...(late.length ? { lateReferences: late.map((l) => `foreign key ${l.name} on ${l.table} references ${l.column}`) } : {}),
    };
  }),
};
