import type { ClientBase } from "pg";
import { ColumnNotFoundError, InheritanceTableError, InvalidSpecError, NoUsableKeyError, NotATableError, PartitionTableError, TableNotFoundError, UnsupportedColumnError } from "../errors";
import { parseQualifiedName } from "../identifiers";
import { ident, qualified } from "../sql/quote";
import type { ColumnInfo, ConstraintInfo, FiringMode, IndexInfo, IndexKey, ObjectNames, TableSnapshot, TriggerInfo } from "../snapshot";

import { readReferencingForeignKeys, withCatalogPath } from "./foreignKeys";

/** Nothing to leave out. */
export const NO_NAMES: ObjectNames = { columns: [], indexes: [], constraints: [], triggers: [], functions: [] };

const RELATION_KINDS: Record<string, string> = {
  v: "view",
  m: "materialized view",
  f: "foreign table",
  S: "sequence",
  i: "index",
  I: "partitioned index",
  c: "composite type",
  t: "TOAST table",
};

/**
 * Resolves a user-written table name (search_path applies when unqualified). Refuses what is
 * not a plain table pgshift can change: another kind of relation (named as what it is), a
 * partitioned table, and a partition (PostgreSQL cannot add a column to a partition alone).
 */
export async function resolveTable(db: ClientBase, table: string): Promise<{ oid: number; schema: string; name: string; kind: string }> {
  const parsed = parseQualifiedName(table);
  const text = parsed.schema ? qualified(parsed.schema, parsed.name) : ident(parsed.name);
  const { rows } = await db.query<{ oid: number; schema: string; name: string; kind: string; display: string; partitionOf: string | null }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, format('%I.%I', n.nspname, c.relname) AS display,
            CASE WHEN c.relispartition THEN
              (SELECT format('%I.%I', pn.nspname, p.relname) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                 JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid) END AS "partitionOf"
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [text],
  );
  if (rows.length === 0) throw new TableNotFoundError(table);
  const r = rows[0];
  if (!["r", "p"].includes(r.kind)) throw new NotATableError(r.display, RELATION_KINDS[r.kind] ?? `relation of kind ${r.kind}`);
  if (r.kind === "p") {
    throw new UnsupportedColumnError(`table ${table} is partitioned; pgshift does not change columns of partitioned tables yet (CREATE INDEX CONCURRENTLY cannot run on them)`);
  }
  if (r.partitionOf) throw new PartitionTableError(r.display, r.partitionOf);
  return { oid: r.oid, schema: r.schema, name: r.name, kind: r.kind };
}

/**
 * Refuses a table that inherits from another or is inherited from (plain inheritance; a
 * partition is refused by resolveTable): every table of the tree must keep the column's type.
 * Pre-flight only, so a migration that exists keeps working whatever happens to the tree.
 */
export async function refuseInheritance(db: ClientBase, qualifiedTable: string): Promise<void> {
  const { rows } = await db.query<{ display: string; parents: string[]; children: string[] }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS display,
            ARRAY(SELECT format('%I.%I', pn.nspname, p.relname) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                    JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid ORDER BY 1) AS parents,
            ARRAY(SELECT format('%I.%I', kn.nspname, k.relname) FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                    JOIN pg_namespace kn ON kn.oid = k.relnamespace WHERE i.inhparent = c.oid ORDER BY 1) AS children
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    [qualifiedTable],
  );
  const r = rows[0];
  if (r && (r.parents.length || r.children.length)) throw new InheritanceTableError(r.display, r.parents, r.children);
}

async function readColumns(db: ClientBase, oid: number): Promise<ColumnInfo[]> {
  const { rows } = await db.query(
    `SELECT a.attname AS name, a.attnum::int AS attnum, format_type(a.atttypid, a.atttypmod) AS type,
            t.typname AS "typeName", a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS "default",
            a.attidentity::text AS identity, a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
            col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  return rows as ColumnInfo[];
}

async function readIndexes(db: ClientBase, oid: number, attnum: number): Promise<IndexInfo[]> {
  const { rows } = await db.query(
    `SELECT ic.relname AS name, am.amname AS method, i.indisunique AS unique, i.indisprimary AS primary,
            con.conname AS constraint, i.indnkeyatts::int AS "keyCount", i.indisvalid AS valid,
            coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS "nullsNotDistinct",
            pg_get_expr(i.indpred, i.indrelid) AS predicate, pg_get_indexdef(i.indexrelid) AS definition,
            EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                       AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid = $2)
              OR $2 = ANY (i.indkey::int2[]) AS "coversColumn",
            (SELECT json_agg(json_build_object(
                      'column', CASE WHEN k.attnum > 0 THEN a.attname END,
                      'expression', pg_get_indexdef(i.indexrelid, k.n::int, false),
                      'opclass', CASE WHEN NOT opc.opcdefault THEN opc.opcname END,
                      'collation', CASE WHEN k.coll <> 0 AND k.coll IS DISTINCT FROM a.attcollation THEN co.collname END,
                      'descending', (k.opt & 1) = 1,
                      'nullsFirst', (k.opt & 2) = 2) ORDER BY k.n)
               FROM unnest(i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[], i.indoption::int2[])
                      WITH ORDINALITY AS k(attnum, cls, coll, opt, n)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
               LEFT JOIN pg_opclass opc ON opc.oid = k.cls
               LEFT JOIN pg_collation co ON co.oid = k.coll) AS keys,
            (SELECT json_agg(a.attname ORDER BY k.n)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE k.n > i.indnkeyatts) AS include
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_am am ON am.oid = ic.relam
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = $1
      ORDER BY ic.relname`,
    [oid, attnum],
  );
  return rows.map((r) => {
    const keys = ((r.keys ?? []) as IndexKey[]).slice(0, r.keyCount as number);
    const { keyCount: _keyCount, ...rest } = r;
    return { ...rest, keys, include: r.include ?? [] } as IndexInfo;
  });
}

async function readConstraints(db: ClientBase, oid: number, attnum: number): Promise<ConstraintInfo[]> {
  const { rows } = await db.query(
    `SELECT c.conname AS name, c.contype::text AS type, pg_get_constraintdef(c.oid) AS definition,
            coalesce((SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                       WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)), '[]') AS columns,
            c.convalidated AS validated, $2 = ANY (c.conkey) AS "coversColumn"
       FROM pg_constraint c
      WHERE c.conrelid = $1 AND c.contype IN ('c', 'f', 'p', 'u', 'x')
      ORDER BY c.conname`,
    [oid, attnum],
  );
  return rows as ConstraintInfo[];
}

/**
 * The application's triggers (leaving out `exclude`, other migrations' triggers): which fire
 * for the backfill's UPDATE (an UPDATE trigger with no column list: tgtype bit 16), and which
 * are bound to the column (pg_depend on it: UPDATE OF col, or a WHEN clause that reads it).
 */
async function readTriggers(db: ClientBase, oid: number, attnum: number, exclude: string[]): Promise<TriggerInfo[]> {
  return withCatalogPath(db, async () => {
    const { rows } = await db.query<TriggerInfo>(
      `SELECT tg.tgname AS name, tg.tgenabled::text AS enabled,
              (tg.tgtype & 16) <> 0 AND coalesce(array_length(tg.tgattr::int2[], 1), 0) = 0 AS "firesOnBackfill",
              EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_trigger'::regclass AND d.objid = tg.oid
                         AND d.refclassid = 'pg_class'::regclass AND d.refobjid = tg.tgrelid AND d.refobjsubid = $2) AS "dependsOnColumn",
              pg_get_triggerdef(tg.oid) AS definition
         FROM pg_trigger tg
        WHERE tg.tgrelid = $1 AND NOT tg.tgisinternal AND tg.tgname <> ALL ($3::text[])
        ORDER BY 1`,
      [oid, attnum, exclude],
    );
    return rows;
  });
}

async function readDependents(db: ClientBase, oid: number, attnum: number): Promise<string[]> {
  const { rows } = await db.query<{ what: string }>(
    `SELECT DISTINCT CASE WHEN r.rulename = '_RETURN' THEN 'view ' || r.ev_class::regclass::text
                          ELSE 'rule ' || quote_ident(r.rulename) || ' on ' || r.ev_class::regclass::text END AS what
       FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
      WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.refobjsubid = $2
     UNION
     SELECT DISTINCT 'policy ' || quote_ident(p.polname) || ' on ' || p.polrelid::regclass::text
       FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
      WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.refobjsubid = $2
     UNION
     SELECT DISTINCT 'generated column ' || quote_ident(a.attname)
       FROM pg_depend d JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
       JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
      WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.refobjsubid = $2 AND ad.adnum <> $2
     UNION
     -- PostgreSQL 14 and older record a generated column's dependency as the column itself
     -- (pg_class, table, attnum) depending on the columns it reads, not through pg_attrdef
     SELECT DISTINCT 'generated column ' || quote_ident(a.attname)
       FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.objid AND a.attnum = d.objsubid
      WHERE d.classid = 'pg_class'::regclass AND d.objid = $1 AND d.objsubid <> $2 AND a.attgenerated <> ''
        AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.refobjsubid = $2
      ORDER BY 1`,
    [oid, attnum],
  );
  return rows.map((r) => r.what);
}

/**
 * Reads everything a plan needs about `table`.`column`. Read-only: safe during `pulumi preview`.
 * The objects of other pgshift migrations on the table (`exclude`, by exact name, from their
 * state rows) are left out, so the snapshot describes the table as the application made it.
 */
export async function introspectTable(db: ClientBase, table: string, column: string, exclude: ObjectNames = NO_NAMES): Promise<TableSnapshot> {
  const t = await resolveTable(db, table);
  const qualifiedName = qualified(t.schema, t.name);
  const columns = (await readColumns(db, t.oid)).filter((c) => !exclude.columns.includes(c.name));
  const col = columns.find((c) => c.name === column);
  if (!col) throw new ColumnNotFoundError(qualifiedName, column);
  if (col.generated) throw new UnsupportedColumnError(`column ${qualifiedName}.${ident(column)} is a generated column; change its expression's type instead`);
  const indexes = (await readIndexes(db, t.oid, col.attnum)).filter((i) => !exclude.indexes.includes(i.name));
  const constraints = (await readConstraints(db, t.oid, col.attnum)).filter((c) => !exclude.constraints.includes(c.name));
  const fkRows = await readReferencingForeignKeys(db, t.oid, col.attnum);
  const dependents = await readDependents(db, t.oid, col.attnum);
  const { rows: seqRows } = await db.query<{ seq: string | null; type: string | null }>(
    `SELECT s.seq, format_type(ps.seqtypid, NULL) AS type
       FROM (SELECT pg_get_serial_sequence($1, $2) AS seq) s
       LEFT JOIN pg_sequence ps ON ps.seqrelid = to_regclass(s.seq)`,
    [qualifiedName, column],
  );
  const { rows: updateRules } = await db.query<{ name: string; enabled: FiringMode }>(
    `SELECT rulename AS name, ev_enabled::text AS enabled FROM pg_rewrite WHERE ev_class = $1 AND ev_type = '2' ORDER BY 1`,
    [t.oid],
  );
  const keyColumns = chooseKey(qualifiedName, columns, indexes);
  return {
    schema: t.schema,
    name: t.name,
    qualifiedName,
    columns,
    column: col,
    keyColumns,
    indexes,
    constraints,
    referencingForeignKeys: fkRows,
    dependents,
    ownedSequence: seqRows[0]?.seq ? { qualifiedName: seqRows[0].seq, dataType: seqRows[0].type ?? "bigint" } : null,
    triggers: await readTriggers(db, t.oid, col.attnum, exclude.triggers),
    updateRules,
  };
}

/** The PRIMARY KEY, else the first valid, non-partial UNIQUE index over NOT NULL plain columns. */
export function chooseKey(table: string, columns: ColumnInfo[], indexes: IndexInfo[]): { name: string; type: string }[] {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const usable = (i: IndexInfo) =>
    i.unique && i.valid && !i.predicate && i.method === "btree" && i.keys.every((k) => k.column && byName.get(k.column)?.notNull);
  const chosen = indexes.find((i) => i.primary && usable(i)) ?? indexes.find(usable);
  if (!chosen) {
    throw new NoUsableKeyError(table, "no PRIMARY KEY and no valid non-partial UNIQUE btree index over NOT NULL columns");
  }
  return chosen.keys.map((k) => {
    const c = byName.get(k.column as string);
    if (!c) throw new InvalidSpecError(`key column ${k.column} not found`);
    return { name: c.name, type: c.type };
  });
}
