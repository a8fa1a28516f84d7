import type { ObjectNames } from "../snapshot";
import { functionNames, oldName } from "../names";
import { shadowObjects } from "./expand";
import type { PlanContext } from "./facts";

/**
 * Every name a migration creates over its life (expand, cutover, rollback), by kind. pgshift
 * recognises its own objects by these exact names, never by a pattern: a user's index called
 * `n_idx__pgshift_keep` is the user's. Pre-flight refuses a migration one of whose names is
 * already taken, and leaves other migrations' names out of its table snapshot.
 */
export function ownedNames(ctx: PlanContext): ObjectNames {
  const n = ctx.names;
  const objects = shadowObjects(ctx);
  const copies = (kind: "index" | "constraint") =>
    objects.filter((o) => (kind === "index" ? o.kind === "index" : o.kind !== "index" && o.kind !== "not null")).flatMap((o) => [o.name, oldName(o.original)]);
  return {
    columns: [n.shadowColumn, n.oldColumn],
    indexes: copies("index"),
    constraints: [...copies("constraint"), n.notNullCheck],
    triggers: [n.forwardInsertTrigger, n.forwardUpdateTrigger, n.reverseInsertTrigger, n.reverseUpdateTrigger, n.coverTrigger],
    functions: [...functionNames(n), n.backfillProcedure],
  };
}

/** The union of several migrations' names. */
export function unionOfNames(all: ObjectNames[]): ObjectNames {
  const merge = (k: keyof ObjectNames) => [...new Set(all.flatMap((o) => o[k]))];
  return { columns: merge("columns"), indexes: merge("indexes"), constraints: merge("constraints"), triggers: merge("triggers"), functions: merge("functions") };
}
