import { parseQualifiedName } from "../identifiers";
import { qualified } from "../sql/quote";
import { replaceColumnReferences } from "../sql/rewrite";
import type { ReferencingForeignKey, TableSnapshot } from "../snapshot";
import type { MigrationSpec } from "../spec";
import { planContext, type MigrationFacts, type PlanContext } from "./facts";

/**
 * Key families. A change of a column that foreign keys reference changes, by default, every
 * column that references it (transitively: a child's column that is itself referenced), as one
 * family: each member is planned like a migration of its own (its shadow column, trigger,
 * backfill, copies, state row), and one cutover swaps them all and moves every foreign key
 * between them to the new columns. The root's facts hold the other members
 * (MigrationFacts.family); a migration without a family is a family of one.
 */

/** The root first, then every other member: what every plan of the family walks. */
export function familyContexts(root: PlanContext): PlanContext[] {
  // the members follow the root's current backfill and lock settings (a later `pulumi up` may tune them)
  return [root, ...(root.facts.family ?? []).map((m) => planContext({ ...m.spec, backfill: root.spec.backfill, lock: root.spec.lock }, m.facts))];
}

/** "schema.table.column" of a member, for comments and messages. */
export function memberLabel(ctx: PlanContext): string {
  return ctx.names.id;
}

/**
 * A member's spec: the root's, on the member's table and column, with `using` and
 * `reverseUsing` reading the member's column where the root's read the root's.
 */
export function memberSpec(root: MigrationSpec, rootColumn: string, table: { schema: string; name: string }, column: string): MigrationSpec {
  const rename = (expr: string | undefined) => (expr === undefined ? {} : { value: replaceColumnReferences(expr, rootColumn, column) });
  const using = rename(root.using);
  const reverseUsing = rename(root.reverseUsing);
  const { using: _u, reverseUsing: _r, ...rest } = root;
  return {
    ...rest,
    table: qualified(table.schema, table.name),
    column,
    ...("value" in using ? { using: using.value } : {}),
    ...("value" in reverseUsing ? { reverseUsing: reverseUsing.value } : {}),
  };
}

/** Every foreign key that references a member, once, in a fixed order (table, then name). */
export function familyKeys(members: TableSnapshot[]): ReferencingForeignKey[] {
  const byKey = new Map<string, ReferencingForeignKey>();
  for (const fk of members.flatMap((t) => t.referencingForeignKeys)) byKey.set(foreignKeyIdentity(fk.table, fk.name), fk);
  return [...byKey.entries()].sort(([a], [b]) => cmp(a, b)).map(([, fk]) => fk);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The foreign keys the swaps drop and re-add on the new columns (see MigrationFacts.familyKeys). */
export function movedKeys(ctx: PlanContext): ReferencingForeignKey[] {
  return ctx.facts.familyKeys ?? ctx.facts.table.referencingForeignKeys;
}

/**
 * One text per foreign key, whichever way its table is written: the catalog's format('%I.%I')
 * (`public.orders`) or pgshift's qualified() (`"public"."orders"`).
 */
export function foreignKeyIdentity(table: string, name: string): string {
  const t = parseQualifiedName(table);
  return JSON.stringify([t.schema ?? null, t.name, name]);
}

/** The foreign key `name` on `table` is one the family's swaps move (so expand does not copy it onto the shadow). */
export function isMovedKey(ctx: PlanContext, table: string, name: string): boolean {
  const id = foreignKeyIdentity(table, name);
  return movedKeys(ctx).some((fk) => foreignKeyIdentity(fk.table, fk.name) === id);
}

/**
 * Every table a family's swap alters (the members' and, unless `withKeys` is false, those of
 * the moved foreign keys), each once, sorted by qualified name: the one order in which every
 * swap of every family locks them, so two swaps (or a swap and an application that locks in
 * the same order) cannot deadlock.
 */
export function lockOrder(members: PlanContext[], withKeys = true): string[] {
  const tables = new Map<string, string>();
  for (const t of [...members.map((m) => m.facts.table.qualifiedName), ...(withKeys ? movedKeys(members[0]).map((fk) => fk.table) : [])]) {
    const p = parseQualifiedName(t);
    const q = qualified(p.schema ?? "public", p.name);
    tables.set(q, q);
  }
  return [...tables.keys()].sort(cmp);
}

/** Root facts with the members attached: the family as pre-flight freezes it. */
export function withFamily(root: MigrationFacts, rootId: string, members: { spec: MigrationSpec; facts: MigrationFacts }[]): MigrationFacts {
  if (members.length === 0) return root;
  const keys = familyKeys([root.table, ...members.map((m) => m.facts.table)]);
  return {
    ...root,
    familyKeys: keys,
    family: members.map((m) => ({ spec: m.spec, facts: { ...m.facts, familyRoot: rootId, familyKeys: keys } })),
  };
}

/**
 * Indexes or constraints of one table that cover two members (an index on (id, parent_id)):
 * each member would build its own copy over the other's old column. Refused for now.
 */
export function sharedCoverage(members: PlanContext[]): { table: string; object: string; columns: string[] }[] {
  const found: { table: string; object: string; columns: string[] }[] = [];
  const byTable = new Map<string, PlanContext[]>();
  for (const m of members) byTable.set(m.facts.table.qualifiedName, [...(byTable.get(m.facts.table.qualifiedName) ?? []), m]);
  for (const [table, ms] of byTable) {
    if (ms.length < 2) continue;
    const covering = new Map<string, string[]>();
    for (const m of ms) {
      const t = m.facts.table;
      const names = [...t.indexes.filter((i) => i.coversColumn).map((i) => i.name), ...t.constraints.filter((c) => c.coversColumn && !isMovedKey(m, table, c.name)).map((c) => c.name)];
      for (const n of new Set(names)) covering.set(n, [...(covering.get(n) ?? []), t.column.name]);
    }
    for (const [object, columns] of covering) if (columns.length > 1) found.push({ table, object, columns });
  }
  return found;
}
