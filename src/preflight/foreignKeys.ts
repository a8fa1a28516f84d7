import type { ClientBase } from "pg";
import { readReferencingKeyColumns, type ReferencingKeyDetail } from "../catalog/foreignKeys";
import { narrowingReason, type TypeDescription } from "../conversion";
import { IncompatibleForeignKeyError, type IncompatibleForeignKey } from "../errors";
import { ident } from "../sql/quote";

/**
 * The foreign keys that reference the changed column, seen from the new type. The cutover swap
 * drops them and adds them again NOT VALID against the new column, leaving the referencing
 * columns' types as they are; these checks say beforehand whether that can work.
 */

/** The column pairs of `fk` as they are after the change: the changed column (on either side of a self-reference) has the new type. */
function afterChange(fk: ReferencingKeyDetail, column: string, to: TypeDescription) {
  return fk.columns.map((c) => ({
    ...c,
    type: fk.selfReference && c.column === column ? to.formatted : c.type,
    referencedType: c.referenced === column ? to.formatted : c.referencedType,
    // the copy of the key's unique index uses the new type's default operator class (src/sql/indexes.ts)
    referencedOpclass: c.referenced === column ? null : c.referencedOpclass,
  }));
}

/**
 * Whether PostgreSQL accepts each foreign key between the referencing columns' types and the
 * referenced columns' types after the change, asked of PostgreSQL itself: in one transaction
 * that is rolled back, per key, a temporary table with the referenced types and a unique index
 * over them (the operator classes the copy of the key's index will have), a temporary table
 * with the referencing types, and the key's ADD FOREIGN KEY ... NOT VALID between them. That is
 * the statement the swap runs, with the same types and index, so PostgreSQL's own rule decides
 * (an equality operator of the index's btree operator family between the two types, or implicit
 * casts to its input type). No lock is taken on the real tables.
 */
export async function checkReferencingKeys(db: ClientBase, qualifiedTable: string, column: string, to: TypeDescription): Promise<void> {
  const fks = await readReferencingKeyColumns(db, qualifiedTable, column);
  if (fks.length === 0) return;
  const incompatible: IncompatibleForeignKey[] = [];
  await db.query("BEGIN");
  try {
    for (const fk of fks) {
      const cols = afterChange(fk, column, to);
      const pk = cols.map((_, i) => `k${i + 1}`);
      const fkCols = cols.map((_, i) => `r${i + 1}`);
      await db.query("SAVEPOINT pgshift_fk_probe");
      try {
        await db.query(`CREATE TEMP TABLE pgshift_fk_probe_key (${cols.map((c, i) => `${pk[i]} ${c.referencedType}`).join(", ")})`);
        await db.query(
          `CREATE UNIQUE INDEX pgshift_fk_probe_key_idx ON pg_temp.pgshift_fk_probe_key (${cols.map((c, i) => `${pk[i]}${c.referencedOpclass ? ` ${c.referencedOpclass}` : ""}`).join(", ")})`,
        );
        await db.query(`CREATE TEMP TABLE pgshift_fk_probe_ref (${cols.map((c, i) => `${fkCols[i]} ${c.type}`).join(", ")})`);
        await db.query(
          `ALTER TABLE pg_temp.pgshift_fk_probe_ref ADD CONSTRAINT pgshift_fk_probe FOREIGN KEY (${fkCols.join(", ")}) REFERENCES pg_temp.pgshift_fk_probe_key (${pk.join(", ")}) NOT VALID`,
        );
      } catch (err) {
        incompatible.push({
          table: fk.table,
          name: ident(fk.name),
          pairs: cols.map((c) => `${ident(c.column)} ${c.type} -> ${ident(c.referenced)} ${c.referencedType}`),
          detail: err instanceof Error ? err.message : String(err),
        });
      } finally {
        await db.query("ROLLBACK TO SAVEPOINT pgshift_fk_probe");
      }
    }
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
  }
  if (incompatible.length) throw new IncompatibleForeignKeyError(qualifiedTable, ident(column), to.formatted, incompatible);
}

/**
 * One line per referencing column that stays valid but keeps a narrower type than the new key
 * (an integer column referencing a key that becomes bigint): it can only reference keys up to
 * its own type's ceiling. Read from the catalog as it is now, so a referencing column changed
 * in the meantime drops out.
 */
export async function referencingKeyWarnings(db: ClientBase, qualifiedTable: string, column: string, to: TypeDescription): Promise<string[]> {
  const fks = await readReferencingKeyColumns(db, qualifiedTable, column);
  const warnings: string[] = [];
  for (const fk of fks) {
    for (const c of afterChange(fk, column, to)) {
      if (c.referenced !== column || (fk.selfReference && c.column === column)) continue;
      const reason = narrowingReason(to, { formatted: c.type, typeName: c.typeName, typmod: c.typmod });
      if (!reason) continue;
      warnings.push(
        `${fk.table}.${ident(c.column)} stays ${c.type} while ${qualifiedTable}.${ident(column)}, which it references (foreign key ${ident(fk.name)}), becomes ${to.formatted}: ` +
          `${reason}, so rows of ${fk.table} can only reference keys that fit ${c.type}. Change ${fk.table}.${ident(c.column)} to ${to.formatted} too (its own ColumnTypeChange).`,
      );
    }
  }
  return warnings;
}
