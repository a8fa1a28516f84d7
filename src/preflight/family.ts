import type { ClientBase } from "pg";
import { readReferencingKeyColumns } from "../catalog/foreignKeys";
import { FamilyForeignKeyNotValidError, FamilyMemberError, PgShiftError, UnsupportedColumnError } from "../errors";
import { migrationNames } from "../names";
import { planContext, type FamilyMember, type MigrationFacts, type PlanContext } from "../plan/facts";
import { foreignKeyIdentity, memberSpec, movedKeys, sharedCoverage, withFamily } from "../plan/family";
import type { MigrationSpec } from "../spec";
import { ident, qualified } from "../sql/quote";

/**
 * Finds the key family of a change (src/plan/family.ts): every column whose foreign key
 * references the changed column, then every column that references one of those, in any
 * schema, each once. Each member passes the same pre-flight as a migration of its own
 * (`checkColumn`: values convert, no dependent view, names free, ...); a refusal names the
 * member. Read-only. Returns the root's facts with the family attached.
 */
export async function preflightFamily(
  db: ClientBase,
  spec: MigrationSpec,
  root: MigrationFacts,
  checkColumn: (db: ClientBase, spec: MigrationSpec) => Promise<MigrationFacts>,
): Promise<MigrationFacts> {
  const rootId = migrationNames(root.table.schema, root.table.name, root.table.column.name).id;
  const seen = new Set([rootId]);
  const members: FamilyMember[] = [];
  const queue: { table: string; column: string; id: string }[] = [{ table: root.table.qualifiedName, column: root.table.column.name, id: rootId }];
  while (queue.length) {
    const key = queue.shift()!;
    for (const fk of await readReferencingKeyColumns(db, key.table, key.column)) {
      // the swap re-adds every key of the family and validates it: one that rows violate now would fail after the swap
      if (!fk.validated) throw new FamilyForeignKeyNotValidError(fk.table, ident(fk.name));
      for (const pair of fk.columns.filter((c) => c.referenced === key.column)) {
        const id = migrationNames(fk.schema, fk.relname, pair.column).id;
        if (seen.has(id)) continue;
        seen.add(id);
        // a column that already has the new type needs no change; its foreign key still moves to the new key
        if (pair.type === root.to.formatted) continue;
        // every member's row lives in the root's state table (the swap sets every member's stage there)
        const mSpec = { ...memberSpec(spec, root.table.column.name, { schema: fk.schema, name: fk.relname }, pair.column), ...stateSchemaOf(spec, root, fk.schema) };
        let facts: MigrationFacts;
        try {
          facts = await checkColumn(db, mSpec);
        } catch (err) {
          if (err instanceof PgShiftError) throw new FamilyMemberError(id, `foreign key ${ident(fk.name)} on ${fk.table} references ${key.id}`, err);
          throw err;
        }
        members.push({ spec: mSpec, facts });
        queue.push({ table: qualified(fk.schema, fk.relname), column: pair.column, id });
      }
    }
  }
  const shared = sharedCoverage([planContext(spec, root), ...members.map((m) => planContext(m.spec, m.facts))]);
  if (shared.length) {
    const s = shared[0];
    throw new UnsupportedColumnError(
      `${ident(s.object)} on ${s.table} covers ${s.columns.map((c) => ident(c)).join(" and ")}, which all change type as members of one key family; ` +
        `pgshift cannot yet rebuild one index or constraint for two members. Drop it for the change (and create it again after contract), or change the columns with a plain ALTER. Nothing was changed.`,
    );
  }
  return withFamily(root, rootId, members);
}

/** The root's state schema, as a member's spec must name it (nothing when the default already gives it). */
function stateSchemaOf(spec: MigrationSpec, root: MigrationFacts, memberSchema: string): { stateSchema?: string } {
  if (spec.stateSchema !== undefined) return { stateSchema: spec.stateSchema };
  return memberSchema === root.table.schema ? {} : { stateSchema: root.table.schema };
}

/**
 * The foreign keys that reference a member now but are not among the family's moved keys (a
 * table created after expand): the cutover refuses them, `pulumi refresh` reports them.
 */
export async function lateReferences(db: ClientBase, members: PlanContext[]): Promise<{ table: string; name: string; column: string }[]> {
  const known = new Set(movedKeys(members[0]).map((fk) => foreignKeyIdentity(fk.table, fk.name)));
  const late: { table: string; name: string; column: string }[] = [];
  for (const m of members) {
    for (const fk of await readReferencingKeyColumns(db, m.facts.table.qualifiedName, m.facts.table.column.name)) {
      if (!known.has(foreignKeyIdentity(fk.table, fk.name))) late.push({ table: fk.table, name: ident(fk.name), column: m.names.id });
    }
  }
  return late;
}
