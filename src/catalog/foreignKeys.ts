import type { ClientBase } from "pg";
import type { ReferencingForeignKey } from "../snapshot";
import { qualified } from "../sql/quote";

/** Foreign keys that point at the changed column, read from the catalog (read-only). */

/**
 * Runs `fn` in a read-only transaction with only pg_catalog on the search_path: definitions
 * that a later step re-executes (possibly in a session with another search_path) then come
 * out with every table and function name schema-qualified.
 */
export async function withCatalogPath<T>(db: ClientBase, fn: () => Promise<T>): Promise<T> {
  await db.query("BEGIN");
  try {
    await db.query("SET LOCAL search_path = pg_catalog");
    return await fn();
  } finally {
    await db.query("COMMIT").catch(() => undefined);
  }
}

/** Foreign keys that reference the column; the swap re-adds them by their definitions. */
export async function readReferencingForeignKeys(db: ClientBase, oid: number, attnum: number): Promise<ReferencingForeignKey[]> {
  return withCatalogPath(db, async () => {
    const { rows } = await db.query<ReferencingForeignKey>(
      `SELECT format('%I.%I', n.nspname, r.relname) AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
         FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE c.contype = 'f' AND c.confrelid = $1 AND $2 = ANY (c.confkey) ORDER BY 1, 2`,
      [oid, attnum],
    );
    return rows;
  });
}

/** One column pair of a foreign key that references the changed column's table. */
export interface ReferencingKeyColumn {
  /** The referencing (local) column and its type. */
  column: string;
  type: string;
  typeName: string;
  typmod: number;
  /** The referenced column of the changed table, its type, and its opclass in the key's unique index when not the default. */
  referenced: string;
  referencedType: string;
  referencedOpclass: string | null;
}

/** A foreign key (in another table, or a self-reference) whose referenced columns include the changed column. */
export interface ReferencingKeyDetail {
  /** Quoted, schema-qualified table that holds the foreign key. */
  table: string;
  /** The same table, unquoted parts. */
  schema: string;
  relname: string;
  name: string;
  /** False for a key added NOT VALID and never validated (rows may violate it). */
  validated: boolean;
  /** The foreign key is on the changed table itself (e.g. parent_id -> id). */
  selfReference: boolean;
  /** In the key's column order. */
  columns: ReferencingKeyColumn[];
}

/**
 * The foreign keys that reference `table`.`column` (by name, so it reads the current column at
 * every stage: the old one before cutover, the new one after), with every column pair's types:
 * what pre-flight needs to know whether each can be re-added against the new type.
 */
export async function readReferencingKeyColumns(db: ClientBase, qualifiedTable: string, column: string): Promise<ReferencingKeyDetail[]> {
  const { rows } = await db.query<Omit<ReferencingKeyDetail, "table">>(
    `SELECT n.nspname AS schema, r.relname, c.conname AS name, c.convalidated AS validated, c.conrelid = c.confrelid AS "selfReference",
            (SELECT json_agg(json_build_object(
                      'column', la.attname, 'type', format_type(la.atttypid, la.atttypmod), 'typeName', lt.typname, 'typmod', la.atttypmod,
                      'referenced', fa.attname, 'referencedType', format_type(fa.atttypid, fa.atttypmod),
                      'referencedOpclass', (SELECT CASE WHEN NOT opc.opcdefault THEN format('%I.%I', opn.nspname, opc.opcname) END
                                              FROM unnest(i.indkey::int2[], i.indclass::oid[]) AS ik(attnum, cls)
                                              JOIN pg_opclass opc ON opc.oid = ik.cls JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
                                             WHERE ik.attnum = k.fattnum LIMIT 1)) ORDER BY k.n)
               FROM unnest(c.conkey::int2[], c.confkey::int2[]) WITH ORDINALITY AS k(lattnum, fattnum, n)
               JOIN pg_attribute la ON la.attrelid = c.conrelid AND la.attnum = k.lattnum
               JOIN pg_type lt ON lt.oid = la.atttypid
               JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = k.fattnum) AS columns
       FROM pg_constraint c
       JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
       LEFT JOIN pg_index i ON i.indexrelid = c.conindid
      WHERE c.contype = 'f' AND c.confrelid = to_regclass($1)
        AND (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = c.confrelid AND a.attname = $2 AND NOT a.attisdropped) = ANY (c.confkey)
      ORDER BY 1, 2, 3`,
    [qualifiedTable, column],
  );
  return rows.map((fk) => ({ ...fk, table: qualified(fk.schema, fk.relname) }));
}

