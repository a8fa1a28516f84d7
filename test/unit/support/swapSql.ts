/**
 * The SQL the swap plans (planCutover, planRollback) write for the contentcuration_file
 * fixture (./fixtures), statement by statement, for golden tests: each builder returns the
 * exact text one statement has, `swapSql` the frame every swap has around its own statements.
 */
import assert from "node:assert/strict";
import type { LiveState } from "../../../src/plan/facts";
import { reverseFunctionsSql } from "../../../src/plan/cutover";
import { yieldingLockSql } from "../../../src/plan/swapLock";
import { COMPOSITE_INDEX, fileContext, PARTIAL_INDEX } from "./fixtures";

export const T = '"public"."contentcuration_file"';
export const STATE = '"public"."pgshift_migrations"';
/** The migration tag in function names: the first 8 hex digits of sha1(["public","contentcuration_file",column]). */
const TAG: Record<string, string> = { file_size: "7770b426", id: "20477f7c" };
/** The qualified name of a pgshift function of the fixture, e.g. FN("file_size_rev"). */
export const FN = (name: string) => `"public"."pgshift_contentcuration_file_${name.replace(/^(file_size|id)_/, (_, c: string) => `${c}_${TAG[c]}_`)}"`;

/** A live state with nothing in it. */
export const EMPTY: LiveState = { columns: [], columnTypes: {}, functions: [], triggers: [], indexes: {}, constraints: {} };

/** SHARE UPDATE EXCLUSIVE first, waited for past deadlock_timeout (an autovacuum in the way yields), then ACCESS EXCLUSIVE. */
export const yieldingLock = yieldingLockSql([T]);
export const lock = `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`;
export const dropTrigger = (name: string) => `DROP TRIGGER IF EXISTS "${name}" ON ${T}`;
export const renameIndex = (from: string, to: string) => `ALTER INDEX "public"."${from}" RENAME TO "${to}"`;
export const renameColumn = (from: string, to: string) => `ALTER TABLE ${T} RENAME COLUMN "${from}" TO "${to}"`;
export const renameConstraint = (from: string, to: string) => `ALTER TABLE ${T} RENAME CONSTRAINT "${from}" TO "${to}"`;
/** ALTER COLUMN `column` `action` (SET NOT NULL, DROP DEFAULT ...). */
export const alterColumn = (column: string, action: string) => `ALTER TABLE ${T} ALTER COLUMN "${column}" ${action}`;
export const dropConstraint = (name: string) => `ALTER TABLE ${T} DROP CONSTRAINT "${name}"`;
export const stage = (s: string, column = "file_size") =>
  `UPDATE ${STATE} SET stage = '${s}', updated_at = now() WHERE id = 'public.contentcuration_file.${column}'`;

/** SET NOT NULL on `column`, then the drop of `column`'s NOT NULL check (<changed column>__pgshift_notnull) that proved it. */
export const notNullByCheck = (column: string, changed: string) => [alterColumn(column, "SET NOT NULL"), dropConstraint(`${changed}__pgshift_notnull`)];
/** The PRIMARY KEY / UNIQUE constraint `name` dropped and added again USING INDEX `index`. */
export const keyOnIndex = (name: string, kind: "PRIMARY KEY" | "UNIQUE", index: string) => [
  dropConstraint(name),
  `ALTER TABLE ${T} ADD CONSTRAINT "${name}" ${kind} USING INDEX "${index}"`,
];

/** The mirror triggers of `column`: `fwd` (shadow kept up to date, expand) or `rev` (old column kept up to date, cutover). */
function mirrorTriggers(direction: "fwd" | "rev", column: string): string[] {
  return [
    `CREATE TRIGGER "zzz_pgshift_${column}_${direction}_ins" BEFORE INSERT ON ${T} FOR EACH ROW EXECUTE FUNCTION ${FN(`${column}_${direction}`)}()`,
    `CREATE TRIGGER "zzz_pgshift_${column}_${direction}_upd" BEFORE UPDATE OF "${column}" ON ${T} FOR EACH ROW ` +
      `WHEN (OLD."${column}" IS DISTINCT FROM NEW."${column}") EXECUTE FUNCTION ${FN(`${column}_${direction}`)}()`,
  ];
}
export const reverseTriggers = (column = "file_size") => mirrorTriggers("rev", column);
export const forwardTriggers = (column = "file_size") => mirrorTriggers("fwd", column);

/** The reverse functions of `column` (FN names): cutover creates them, the rollback drops them. */
export const reverseFunctionNames = (column = "file_size") => [FN(`${column}_rev`), FN(`${column}_irrev`), FN(`${column}_rconv`)];
export const dropReverseFunctions = (column = "file_size") => reverseFunctionNames(column).map((f) => `DROP FUNCTION IF EXISTS ${f}`);

/**
 * The CREATE FUNCTION statements that open the cutover swap: the golden text is checked once
 * (cutover.test.ts "swap opens with ..."); here they come from the planner so the other
 * goldens need not repeat it.
 */
export function reverseFunctions(column: string): string[] {
  return reverseFunctionsSql(fileContext(column === "id" ? { changeId: true } : {}), "public");
}

const SWAPS = {
  cutover: { dropped: "fwd", aside: "__pgshift_old", back: "__pgshift_new", created: reverseTriggers, stage: "cutover" },
  rollback: { dropped: "rev", aside: "__pgshift_new", back: "__pgshift_old", created: forwardTriggers, stage: "expand" },
} as const;

/**
 * The statements of a swap of `column`: (cutover) the reverse functions, the two LOCKs, the drop of the
 * mirror triggers it ends, `middle`, the two column renames, `afterRenames`, the mirror triggers
 * it starts, (rollback) the drop of the reverse functions, the state row.
 */
export function swapSql(swap: keyof typeof SWAPS, column: string, middle: string[], afterRenames: string[] = []): string[] {
  const s = SWAPS[swap];
  return [
    ...(swap === "cutover" ? reverseFunctions(column) : []),
    yieldingLock,
    lock,
    dropTrigger(`zzz_pgshift_${column}_${s.dropped}_ins`),
    dropTrigger(`zzz_pgshift_${column}_${s.dropped}_upd`),
    ...middle,
    renameColumn(column, `${column}${s.aside}`),
    renameColumn(`${column}${s.back}`, column),
    ...afterRenames,
    ...s.created(column),
    ...(swap === "rollback" ? dropReverseFunctions(column) : []),
    stage(s.stage, column),
  ];
}

/** The four renames that swap the plain indexes (composite, partial) of file_size with their copies. */
export const swapPlainIndexes = [
  renameIndex(COMPOSITE_INDEX, `${COMPOSITE_INDEX}__pgshift_old`),
  renameIndex(`${COMPOSITE_INDEX}__pgshift`, COMPOSITE_INDEX),
  renameIndex(PARTIAL_INDEX, `${PARTIAL_INDEX}__pgshift_old`),
  renameIndex(`${PARTIAL_INDEX}__pgshift`, PARTIAL_INDEX),
];
export const unswapPlainIndexes = [
  renameIndex(COMPOSITE_INDEX, `${COMPOSITE_INDEX}__pgshift`),
  renameIndex(`${COMPOSITE_INDEX}__pgshift_old`, COMPOSITE_INDEX),
  renameIndex(PARTIAL_INDEX, `${PARTIAL_INDEX}__pgshift`),
  renameIndex(`${PARTIAL_INDEX}__pgshift_old`, PARTIAL_INDEX),
];

/** Position of the one statement of `sql` that equals / starts with `prefix`. */
export function position(sql: string[], prefix: string): number {
  const found = sql.filter((s) => s.startsWith(prefix));
  assert.equal(found.length, 1, `expected exactly one statement starting with ${prefix}, got ${JSON.stringify(found)}`);
  return sql.indexOf(found[0]);
}
