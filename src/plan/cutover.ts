import type { IndexInfo } from "../snapshot";
import { INTEGER_TYPES } from "../conversion";
import { setStageSql } from "../sql/state";
import { oldName, copyName } from "../names";
import { dropFunctionSql, dropTriggerSql, forwardTriggersSql, reverseConvertFunctionSql } from "../sql/functions";
import { moveIdentitySql } from "../sql/identity";
import { shadowIndexSql } from "../sql/indexes";
import { ident, literal } from "../sql/quote";
import { markIrreversibleSql, reverseTriggerFunctionSql, reverseTriggersSql } from "../sql/reverse";
import { ensureIndexSteps, shadowObjects } from "./expand";
import type { LiveOf, LiveState, PlanContext } from "./facts";
import { familyContexts, lockOrder, memberLabel, movedKeys } from "./family";
import { alone, transaction, type Step, type SwapPlan } from "./step";
import { swapLockSql } from "./swapLock";

/** Cutover and its inverse, each a SwapPlan (see ./step). */

/** Indexes that back a PRIMARY KEY or UNIQUE constraint on the column: swapped with ADD CONSTRAINT ... USING INDEX. */
function constraintIndexes(ctx: PlanContext): IndexInfo[] {
  return ctx.facts.table.indexes.filter((i) => i.coversColumn && i.constraint);
}

function plainIndexes(ctx: PlanContext): IndexInfo[] {
  return ctx.facts.table.indexes.filter((i) => i.coversColumn && !i.constraint);
}

/**
 * Foreign keys of other tables (or this one) that reference the column. They point at the
 * unique index of the column; the swap drops them, moves the key, and re-adds them NOT VALID
 * (enforced for every new write at once); VALIDATE, which scans the referencing table, runs
 * after the swap without blocking writes. The referencing columns keep their type: a foreign
 * key from integer to bigint is valid, as after a plain ALTER COLUMN ... TYPE.
 */
function referencingKeys(ctx: PlanContext): { drop: string[]; add: string[]; validate: Step[] } {
  const fks = movedKeys(ctx);
  return {
    drop: fks.map((fk) => `ALTER TABLE ${fk.table} DROP CONSTRAINT ${ident(fk.name)}`),
    add: fks.map((fk) => `ALTER TABLE ${fk.table} ADD CONSTRAINT ${ident(fk.name)} ${fk.definition.replace(/\s+NOT VALID$/, "")} NOT VALID`),
    validate: fks.map((fk) => alone(`validate foreign key ${fk.name} on ${fk.table}`, `ALTER TABLE ${fk.table} VALIDATE CONSTRAINT ${ident(fk.name)}`)),
  };
}

const ENABLE_CLAUSE: Record<string, string> = { D: "DISABLE TRIGGER", R: "ENABLE REPLICA TRIGGER", A: "ENABLE ALWAYS TRIGGER" };

/**
 * The application's triggers bound to the column (UPDATE OF it, or a WHEN clause that reads
 * it) follow the column they were created on, which the swap renames away: after the renames
 * each is dropped and created again from its definition, so it watches the column of that
 * name again (with its enabled state). Both swaps use it: cutover and rollback.
 */
function movedTriggersSql(ctx: PlanContext): string[] {
  const t = ctx.facts.table;
  return t.triggers
    .filter((tg) => tg.dependsOnColumn)
    .flatMap((tg) => [
      `DROP TRIGGER ${ident(tg.name)} ON ${t.qualifiedName}`,
      tg.definition,
      ...(ENABLE_CLAUSE[tg.enabled] ? [`ALTER TABLE ${t.qualifiedName} ${ENABLE_CLAUSE[tg.enabled]} ${ident(tg.name)}`] : []),
    ]);
}

/**
 * How both swaps begin: every table's lock first (swapLock.ts), in the family's one order (so every later
 * statement runs without waiting again, and two swaps cannot deadlock), then each member's
 * triggers that kept the other column in sync, then the foreign keys that point at the keys
 * being moved.
 */
function swapOpening(members: PlanContext[], triggers: (n: PlanContext["names"]) => string[], dropForeignKeys: string[]): string[] {
  return [
    ...swapLockSql(lockOrder(members)),
    ...members.flatMap((m) => triggers(m.names).map((t) => dropTriggerSql(m, t))),
    ...dropForeignKeys,
  ];
}

/** A member's steps are told apart by its id in a family; a migration of one column keeps its words. */
function of(ctx: PlanContext, members: PlanContext[]): string {
  return members.length > 1 ? ` of ${memberLabel(ctx)}` : "";
}

function constraintKind(index: IndexInfo): string {
  return index.primary ? "PRIMARY KEY" : "UNIQUE";
}

/** The owned (serial) sequence grows with the column: ALTER SEQUENCE ... AS the new integer type. */
function sequenceRetype(ctx: PlanContext, typeName: string, formatted: string): string[] {
  const seq = ctx.facts.table.ownedSequence;
  if (!seq || ctx.facts.table.column.identity || !INTEGER_TYPES.includes(typeName)) return [];
  return [`ALTER SEQUENCE ${seq.qualifiedName} AS ${formatted}`];
}

/** One member's part of the cutover swap, between the opening and the foreign keys' re-adding. */
function cutoverSwapSql(ctx: PlanContext): string[] {
  const t = ctx.facts.table;
  const tq = t.qualifiedName;
  const n = ctx.names;
  const col = t.column;
  const objects = shadowObjects(ctx);
  const alter = (what: string) => `ALTER TABLE ${tq} ${what}`;
  const sql: string[] = [];
  if (t.ownedSequence && !col.identity) {
    sql.push(`ALTER SEQUENCE ${t.ownedSequence.qualifiedName} OWNED BY ${tq}.${ident(n.shadowColumn)}`);
    sql.push(...sequenceRetype(ctx, ctx.facts.to.typeName, ctx.facts.to.formatted));
  }
  if (col.default !== null && !col.identity) sql.push(alter(`ALTER COLUMN ${ident(col.name)} DROP DEFAULT`));
  if (col.notNull) {
    // PostgreSQL 12+ skips the table scan: the validated CHECK (shadow IS NOT NULL) proves it
    sql.push(alter(`ALTER COLUMN ${ident(n.shadowColumn)} SET NOT NULL`), alter(`DROP CONSTRAINT ${ident(n.notNullCheck)}`));
  }
  for (const index of constraintIndexes(ctx)) {
    sql.push(alter(`DROP CONSTRAINT ${ident(index.constraint!)}`));
    sql.push(alter(`ADD CONSTRAINT ${ident(index.constraint!)} ${constraintKind(index)} USING INDEX ${ident(copyName(index.name))}`));
  }
  if (col.notNull && !col.identity) {
    // (after the PRIMARY KEY moved away) the old column is filled by the reverse trigger,
    // which writes NULL for a value that does not fit
    sql.push(alter(`ALTER COLUMN ${ident(col.name)} DROP NOT NULL`));
  }
  for (const index of plainIndexes(ctx)) {
    sql.push(`ALTER INDEX ${ident(t.schema)}.${ident(index.name)} RENAME TO ${ident(oldName(index.name))}`);
    sql.push(`ALTER INDEX ${ident(t.schema)}.${ident(copyName(index.name))} RENAME TO ${ident(index.name)}`);
  }
  for (const obj of objects.filter((o) => o.kind === "check" || o.kind === "foreign key")) {
    sql.push(alter(`RENAME CONSTRAINT ${ident(obj.original)} TO ${ident(oldName(obj.original))}`));
    sql.push(alter(`RENAME CONSTRAINT ${ident(obj.name)} TO ${ident(obj.original)}`));
  }
  sql.push(alter(`RENAME COLUMN ${ident(col.name)} TO ${ident(n.oldColumn)}`));
  sql.push(alter(`RENAME COLUMN ${ident(n.shadowColumn)} TO ${ident(col.name)}`));
  sql.push(...movedTriggersSql(ctx));
  if (col.default !== null && !col.identity) sql.push(alter(`ALTER COLUMN ${ident(col.name)} SET DEFAULT ${col.default}`));
  if (col.identity) {
    sql.push(moveIdentitySql(tq, n.oldColumn, col.name, col.identity, ctx.facts.from.typeName));
    // DROP IDENTITY keeps NOT NULL; the old column must accept the reverse trigger's NULLs
    sql.push(alter(`ALTER COLUMN ${ident(n.oldColumn)} DROP NOT NULL`));
  }
  if (col.comment !== null) sql.push(`COMMENT ON COLUMN ${tq}.${ident(col.name)} IS ${literal(col.comment)}`);
  return sql;
}

/** The functions the reverse triggers call, created at the start of the cutover swap. */
export function reverseFunctionsSql(ctx: PlanContext, stateSchema: string): string[] {
  return [reverseConvertFunctionSql(ctx), markIrreversibleSql(ctx, stateSchema), reverseTriggerFunctionSql(ctx)];
}

/**
 * The cutover of a migration and of every member of its key family (src/plan/family.ts): one
 * swap transaction for them all, so the application never sees a key and a column that
 * references it with different types.
 */
export function planCutover(ctx: PlanContext, stateSchema: string): SwapPlan {
  const members = familyContexts(ctx);
  const fks = referencingKeys(ctx);
  const sql = [
    ...swapOpening(members, (n) => [n.forwardInsertTrigger, n.forwardUpdateTrigger], fks.drop),
    ...members.flatMap(cutoverSwapSql),
    ...fks.add,
    ...members.flatMap((m) => [...reverseTriggersSql(m), setStageSql(stateSchema, m.names.id, "cutover")]),
  ];
  return {
    before: [],
    // the reverse functions are created in the swap's own transaction, before it takes the
    // tables' locks: a separate transaction before it left them behind when the swap never
    // came (a crash between the two, then back to expand: nothing knows them there)
    swap: transaction("swap the columns (cutover)", ...members.flatMap((m) => reverseFunctionsSql(m, stateSchema)), ...sql),
    after: [...fks.validate, ...members.map((m) => analyzeStep(m))],
  };
}

function analyzeStep(ctx: PlanContext): Step {
  return alone("refresh the planner statistics of the column", `ANALYZE ${ctx.facts.table.qualifiedName} (${ident(ctx.facts.table.column.name)})`);
}

/**
 * Cutover -> expand. Before the swap, the old column gets back what cutover took from it
 * (unique indexes for its PRIMARY KEY / UNIQUE constraints, a validated NOT NULL check),
 * built without blocking writes; after it, the shadow's copies that the swap consumed are
 * rebuilt by the expand plan (see handlers/cutover.ts).
 */
export function planRollback(ctx: PlanContext, stateSchema: string, live: LiveState | LiveOf): SwapPlan {
  const members = familyContexts(ctx);
  const liveOf = typeof live === "function" ? live : () => live;
  const fks = referencingKeys(ctx);
  const sql = [
    ...swapOpening(members, (n) => [n.reverseInsertTrigger, n.reverseUpdateTrigger], fks.drop),
    ...members.flatMap(rollbackSwapSql),
    ...fks.add,
    // the swap drops the reverse triggers: their functions go in the same transaction (a step
    // after it left them behind when a crash came in between; a later cutover creates them again)
    ...members.flatMap((m) => [
      ...forwardTriggersSql(m),
      ...[m.names.reverseTriggerFunction, m.names.markIrreversibleFunction, m.names.reverseConvertFunction].map((f) => dropFunctionSql(m, f)),
      setStageSql(stateSchema, m.names.id, "expand"),
    ]),
  ];
  return {
    before: members.flatMap((m) => rollbackBefore(m, liveOf(m))),
    swap: transaction("swap the columns back (rollback of cutover)", ...sql),
    after: [...fks.validate, ...members.map((m) => analyzeStep(m))],
  };
}

/** What the old column of one member gets back before the swap (built without blocking writes). */
function rollbackBefore(ctx: PlanContext, live: LiveState): Step[] {
  const t = ctx.facts.table;
  const tq = t.qualifiedName;
  const n = ctx.names;
  const col = t.column;
  const alter = (what: string) => `ALTER TABLE ${tq} ${what}`;
  const before: Step[] = [];
  for (const index of constraintIndexes(ctx)) {
    const name = oldName(index.name);
    before.push(
      ...ensureIndexSteps(
        t.schema,
        name,
        live.indexes[name],
        `build index ${name} on the old column (for ${index.constraint})`,
        shadowIndexSql(tq, index, col.name, n.oldColumn, name, ctx.facts.from.typeName),
      ),
    );
  }
  if (col.notNull) {
    const existing = live.constraints[n.notNullCheck];
    if (!existing) before.push(transaction(`add ${n.notNullCheck} (NOT VALID)`, alter(`ADD CONSTRAINT ${ident(n.notNullCheck)} CHECK (${ident(n.oldColumn)} IS NOT NULL) NOT VALID`)));
    if (!existing || !existing.validated) before.push(alone(`validate ${n.notNullCheck}`, alter(`VALIDATE CONSTRAINT ${ident(n.notNullCheck)}`)));
  }
  return before;
}

/** One member's part of the rollback swap. */
function rollbackSwapSql(ctx: PlanContext): string[] {
  const t = ctx.facts.table;
  const tq = t.qualifiedName;
  const n = ctx.names;
  const col = t.column;
  const alter = (what: string) => `ALTER TABLE ${tq} ${what}`;
  const sql: string[] = [];
  if (col.notNull) sql.push(alter(`ALTER COLUMN ${ident(n.oldColumn)} SET NOT NULL`), alter(`DROP CONSTRAINT ${ident(n.notNullCheck)}`));
  if (col.identity) sql.push(moveIdentitySql(tq, col.name, n.oldColumn, col.identity, ctx.facts.to.typeName));
  if (t.ownedSequence && !col.identity) {
    sql.push(`ALTER SEQUENCE ${t.ownedSequence.qualifiedName} OWNED BY ${tq}.${ident(n.oldColumn)}`);
    if (sequenceRetype(ctx, ctx.facts.to.typeName, "x").length) sql.push(`ALTER SEQUENCE ${t.ownedSequence.qualifiedName} AS ${t.ownedSequence.dataType}`);
  }
  if (col.default !== null && !col.identity) {
    sql.push(alter(`ALTER COLUMN ${ident(col.name)} DROP DEFAULT`), alter(`ALTER COLUMN ${ident(n.oldColumn)} SET DEFAULT ${col.default}`));
  }
  for (const index of constraintIndexes(ctx)) {
    sql.push(alter(`DROP CONSTRAINT ${ident(index.constraint!)}`));
    sql.push(alter(`ADD CONSTRAINT ${ident(index.constraint!)} ${constraintKind(index)} USING INDEX ${ident(oldName(index.name))}`));
  }
  // the shadow is nullable in expand (its NOT NULL is the CHECK that planShadowIndexes re-adds)
  if (col.notNull) sql.push(alter(`ALTER COLUMN ${ident(col.name)} DROP NOT NULL`));
  for (const index of plainIndexes(ctx)) {
    sql.push(`ALTER INDEX ${ident(t.schema)}.${ident(index.name)} RENAME TO ${ident(copyName(index.name))}`);
    sql.push(`ALTER INDEX ${ident(t.schema)}.${ident(oldName(index.name))} RENAME TO ${ident(index.name)}`);
  }
  for (const obj of shadowObjects(ctx).filter((o) => o.kind === "check" || o.kind === "foreign key")) {
    sql.push(alter(`RENAME CONSTRAINT ${ident(obj.original)} TO ${ident(obj.name)}`));
    sql.push(alter(`RENAME CONSTRAINT ${ident(oldName(obj.original))} TO ${ident(obj.original)}`));
  }
  sql.push(alter(`RENAME COLUMN ${ident(col.name)} TO ${ident(n.shadowColumn)}`));
  sql.push(alter(`RENAME COLUMN ${ident(n.oldColumn)} TO ${ident(col.name)}`));
  sql.push(...movedTriggersSql(ctx));
  if (col.comment !== null) sql.push(`COMMENT ON COLUMN ${tq}.${ident(n.shadowColumn)} IS NULL`);
  return sql;
}
