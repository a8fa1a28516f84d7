import type { ConstraintInfo, IndexInfo, IndexKey } from "../snapshot";
import { ident } from "./quote";
import { replaceColumnReferences, replaceConstraintColumns } from "./rewrite";

export function dropIndexConcurrentlySql(schema: string, name: string): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${ident(schema)}.${ident(name)}`;
}

/** Types an explicit COLLATE can apply to (pg_type.typname). */
export const COLLATABLE_TYPES = new Set(["text", "varchar", "bpchar", "name", "citext"]);

function keySql(key: IndexKey, column: string, shadow: string, shadowCollatable: boolean): string {
  let sql: string;
  let keepOpclass = true;
  let keepCollation = true;
  if (key.column === column) {
    sql = ident(shadow);
    keepOpclass = false; // the old type's operator class rarely fits the new type; use the default
    keepCollation = shadowCollatable;
  } else if (key.column) {
    sql = ident(key.column);
  } else {
    const rewritten = replaceColumnReferences(key.expression, column, shadow);
    keepOpclass = rewritten === key.expression;
    sql = `(${rewritten})`;
  }
  if (key.collation && keepCollation) sql += ` COLLATE ${ident(key.collation)}`;
  if (key.opclass && keepOpclass) sql += ` ${ident(key.opclass)}`;
  if (key.descending) sql += " DESC";
  if (key.nullsFirst && !key.descending) sql += " NULLS FIRST";
  if (!key.nullsFirst && key.descending) sql += " NULLS LAST";
  return sql;
}

/**
 * CREATE INDEX CONCURRENTLY for the copy of `index` in which the changed column is replaced by
 * the shadow: same method, key order, sort options, INCLUDE list, uniqueness and predicate.
 * `shadowTypeName` (pg_type.typname of the column the copy is built on) decides whether an
 * explicit COLLATE on the changed column's key is kept (varchar -> text) or dropped (-> uuid).
 */
export function shadowIndexSql(table: string, index: IndexInfo, column: string, shadow: string, name: string, shadowTypeName = "text"): string {
  const keys = index.keys.map((k) => keySql(k, column, shadow, COLLATABLE_TYPES.has(shadowTypeName))).join(", ");
  let sql = `CREATE ${index.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY ${ident(name)} ON ${table} USING ${index.method} (${keys})`;
  if (index.include.length) sql += ` INCLUDE (${index.include.map((c) => ident(c === column ? shadow : c)).join(", ")})`;
  if (index.nullsNotDistinct) sql += " NULLS NOT DISTINCT";
  if (index.predicate) sql += ` WHERE ${replaceColumnReferences(index.predicate, column, shadow)}`;
  return sql;
}

/**
 * The definition of a CHECK or FOREIGN KEY constraint with the column replaced by the shadow,
 * always NOT VALID (validated separately, without blocking writes).
 */
export function shadowConstraintDefinition(constraint: ConstraintInfo, column: string, shadow: string): string {
  const def = constraint.definition.replace(/\s+NOT VALID$/, "");
  return `${replaceConstraintColumns(def, column, shadow)} NOT VALID`;
}
