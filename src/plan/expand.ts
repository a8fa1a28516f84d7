import { copyName } from "../names";
import {
  convertFunctionSql,
  dropFunctionSql,
  dropTriggerSql,
  forwardTriggerFunctionSql,
  forwardTriggersSql,
} from "../sql/functions";
import { dropIndexConcurrentlySql, shadowConstraintDefinition, shadowIndexSql } from "../sql/indexes";
import { ident } from "../sql/quote";
import type { LiveState, PlanContext } from "./facts";
import { isMovedKey } from "./family";
import { alone, transaction, type Step } from "./step";

/**
 * Expand, as three plans (one per child resource) plus their inverses. Each takes the live
 * state and leaves out what already exists, so a re-run after a crash converges.
 */

export function planShadowColumn(ctx: PlanContext, live: LiveState): Step[] {
  const t = ctx.facts.table.qualifiedName;
  const steps: Step[] = [];
  if (!live.columns.includes(ctx.names.shadowColumn)) {
    // nullable, no default: a catalog-only change, no table rewrite
    steps.push(transaction("add the shadow column", `ALTER TABLE ${t} ADD COLUMN ${ident(ctx.names.shadowColumn)} ${ctx.facts.to.formatted}`));
  }
  if (!live.functions.includes(ctx.names.convertFunction)) {
    steps.push(transaction("create the conversion function", convertFunctionSql(ctx)));
  }
  return steps;
}

export function planRemoveShadowColumn(ctx: PlanContext, live: LiveState): Step[] {
  const steps: Step[] = [];
  if (live.columns.includes(ctx.names.shadowColumn)) {
    steps.push(
      transaction("drop the shadow column", `ALTER TABLE ${ctx.facts.table.qualifiedName} DROP COLUMN IF EXISTS ${ident(ctx.names.shadowColumn)}`),
    );
  }
  if (live.functions.includes(ctx.names.convertFunction)) {
    steps.push(transaction("drop the conversion function", dropFunctionSql(ctx, ctx.names.convertFunction)));
  }
  return steps;
}

export function planMirrorTrigger(ctx: PlanContext, live: LiveState): Step[] {
  const n = ctx.names;
  const missing = [n.forwardInsertTrigger, n.forwardUpdateTrigger].some((t) => !live.triggers.includes(t));
  if (!missing && live.functions.includes(n.forwardTriggerFunction)) return [];
  // function and both triggers in one transaction: the column is mirrored completely or not at all
  return [
    transaction(
      "create the mirror trigger",
      forwardTriggerFunctionSql(ctx),
      dropTriggerSql(ctx, n.forwardInsertTrigger),
      dropTriggerSql(ctx, n.forwardUpdateTrigger),
      ...forwardTriggersSql(ctx),
    ),
  ];
}

export function planRemoveMirrorTrigger(ctx: PlanContext, live: LiveState): Step[] {
  const n = ctx.names;
  const steps: Step[] = [];
  const present = [n.forwardInsertTrigger, n.forwardUpdateTrigger].filter((t) => live.triggers.includes(t));
  if (present.length) steps.push(transaction("drop the mirror trigger", ...present.map((t) => dropTriggerSql(ctx, t))));
  if (live.functions.includes(n.forwardTriggerFunction)) {
    steps.push(transaction("drop the mirror trigger function", dropFunctionSql(ctx, n.forwardTriggerFunction)));
  }
  return steps;
}

/**
 * Steps that leave a valid index `name`: nothing when it exists and is valid; otherwise drop
 * an INVALID leftover of a failed CREATE INDEX CONCURRENTLY, then build it (a retry drops the
 * leftover of the failed attempt first).
 */
export function ensureIndexSteps(schema: string, name: string, existing: { valid: boolean } | undefined, description: string, createSql: string): Step[] {
  if (existing?.valid) return [];
  const drop = dropIndexConcurrentlySql(schema, name);
  return [...(existing ? [alone(`drop the invalid leftover index ${name}`, drop)] : []), alone(description, createSql, [drop])];
}

/** The shadow copies of everything that covers the column, in the order they are built. */
export interface ShadowObject {
  kind: "index" | "check" | "foreign key" | "not null";
  /** Name of the original object (for NOT NULL: the column). */
  original: string;
  /** Name of the copy on the shadow column. */
  name: string;
}

export function shadowObjects(ctx: PlanContext): ShadowObject[] {
  const t = ctx.facts.table;
  const objects: ShadowObject[] = t.indexes
    .filter((i) => i.coversColumn)
    .map((i) => ({ kind: "index", original: i.name, name: copyName(i.name) }));
  // a foreign key the swap moves (one of a key family's) is not copied: it could not reference
  // the parent's old column from the new type; the swap re-adds it between the new columns
  for (const c of t.constraints.filter((c) => c.coversColumn && (c.type === "c" || (c.type === "f" && !isMovedKey(ctx, t.qualifiedName, c.name))))) {
    objects.push({ kind: c.type === "c" ? "check" : "foreign key", original: c.name, name: copyName(c.name) });
  }
  if (t.column.notNull) objects.push({ kind: "not null", original: t.column.name, name: ctx.names.notNullCheck });
  return objects;
}

export function planShadowIndexes(ctx: PlanContext, live: LiveState): Step[] {
  const t = ctx.facts.table;
  const shadow = ctx.names.shadowColumn;
  const steps: Step[] = [];
  for (const obj of shadowObjects(ctx)) {
    if (obj.kind === "index") {
      const index = t.indexes.find((i) => i.name === obj.original)!;
      steps.push(
        ...ensureIndexSteps(
          t.schema,
          obj.name,
          live.indexes[obj.name],
          `build index ${obj.name} (copy of ${obj.original})`,
          shadowIndexSql(t.qualifiedName, index, t.column.name, shadow, obj.name, ctx.facts.to.typeName),
        ),
      );
      continue;
    }
    const definition =
      obj.kind === "not null"
        ? `CHECK (${ident(shadow)} IS NOT NULL) NOT VALID`
        : shadowConstraintDefinition(t.constraints.find((c) => c.name === obj.original)!, t.column.name, shadow);
    const existing = live.constraints[obj.name];
    if (!existing) {
      steps.push(transaction(`add ${obj.kind} constraint ${obj.name} (NOT VALID)`, `ALTER TABLE ${t.qualifiedName} ADD CONSTRAINT ${ident(obj.name)} ${definition}`));
    }
    if (!existing || !existing.validated) {
      steps.push(alone(`validate ${obj.name}`, `ALTER TABLE ${t.qualifiedName} VALIDATE CONSTRAINT ${ident(obj.name)}`));
    }
  }
  return steps;
}

export function planRemoveShadowIndexes(ctx: PlanContext, live: LiveState): Step[] {
  const t = ctx.facts.table;
  const steps: Step[] = [];
  for (const obj of shadowObjects(ctx)) {
    if (obj.kind === "index") {
      if (live.indexes[obj.name]) steps.push(alone(`drop index ${obj.name}`, dropIndexConcurrentlySql(t.schema, obj.name)));
    } else if (live.constraints[obj.name]) {
      steps.push(transaction(`drop constraint ${obj.name}`, `ALTER TABLE ${t.qualifiedName} DROP CONSTRAINT IF EXISTS ${ident(obj.name)}`));
    }
  }
  return steps;
}
