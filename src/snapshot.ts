/**
 * What pgshift knows about a table, read from pg_catalog. Plain JSON: the snapshot taken at
 * expand is stored in the state table so every later stage plans from the same facts.
 */
export interface ColumnInfo {
  name: string;
  attnum: number;
  /** format_type(atttypid, atttypmod), e.g. `integer`, `character varying(32)`. */
  type: string;
  /** The base type name without modifiers, e.g. `int4`, `varchar`. */
  typeName: string;
  notNull: boolean;
  /** pg_get_expr of the column default, if any. */
  default: string | null;
  /** '' | 'a' (ALWAYS) | 'd' (BY DEFAULT). */
  identity: string;
  /** '' | 's' (stored generated column). */
  generated: string;
  /** Collation name when it differs from the type's default. */
  collation: string | null;
  comment: string | null;
}

export interface IndexKey {
  /** Column name for a plain key, null for an expression key. */
  column: string | null;
  /** pg_get_indexdef(indexrelid, k, true): the column or the expression text. */
  expression: string;
  /** Operator class name when not the default for the key's type. */
  opclass: string | null;
  collation: string | null;
  descending: boolean;
  nullsFirst: boolean;
}

export interface IndexInfo {
  name: string;
  method: string;
  unique: boolean;
  primary: boolean;
  /** Name of the PRIMARY KEY / UNIQUE / EXCLUDE constraint the index belongs to. */
  constraint: string | null;
  keys: IndexKey[];
  include: string[];
  predicate: string | null;
  valid: boolean;
  nullsNotDistinct: boolean;
  /** pg_get_indexdef, for messages and docs. */
  definition: string;
  /** The index mentions the changed column (key, INCLUDE, expression or predicate). */
  coversColumn: boolean;
}

export interface ConstraintInfo {
  name: string;
  /** c = check, f = foreign key, p = primary key, u = unique, x = exclusion. */
  type: "c" | "f" | "p" | "u" | "x";
  /** pg_get_constraintdef. */
  definition: string;
  columns: string[];
  validated: boolean;
  coversColumn: boolean;
}

/** A foreign key in another table that references the changed column. */
export interface ReferencingForeignKey {
  /** Quoted, schema-qualified table that holds the foreign key. */
  table: string;
  name: string;
  definition: string;
}

export interface SequenceInfo {
  /** Qualified, quoted name (`"public"."t_id_seq"`). */
  qualifiedName: string;
  dataType: string;
}

export interface TableSnapshot {
  schema: string;
  name: string;
  /** Quoted `"schema"."table"`. */
  qualifiedName: string;
  columns: ColumnInfo[];
  /** The changed column. */
  column: ColumnInfo;
  /** Columns of the key the backfill walks (the PRIMARY KEY, else a UNIQUE NOT NULL index). */
  keyColumns: { name: string; type: string }[];
  indexes: IndexInfo[];
  constraints: ConstraintInfo[];
  referencingForeignKeys: ReferencingForeignKey[];
  /** Views / rules / policies that use the column, as "view public.v" etc. */
  dependents: string[];
  /** Sequence owned by the column (serial / identity), if any. */
  ownedSequence: SequenceInfo | null;
  /** The application's triggers on the table (pgshift's own are left out). */
  triggers: TriggerInfo[];
  /** The application's ON UPDATE rules on the table: they fire for every UPDATE, the backfill's too. */
  updateRules: { name: string; enabled: FiringMode }[];
}

/**
 * pg_trigger.tgenabled / pg_rewrite.ev_enabled: O fires in the normal (origin) session mode,
 * R only under session_replication_role = replica, A always, D never.
 */
export type FiringMode = "O" | "R" | "A" | "D";

export interface TriggerInfo {
  name: string;
  enabled: FiringMode;
  /**
   * Fires for the backfill's UPDATE, which sets only the shadow column: an UPDATE trigger
   * without a column list (row or statement level).
   */
  firesOnBackfill: boolean;
  /**
   * Bound to the changed column (UPDATE OF it, or its WHEN clause reads it): after the swap
   * it would follow the old column, so the swap re-creates it on the new one.
   */
  dependsOnColumn: boolean;
  /** pg_get_triggerdef, read with only pg_catalog on the search_path (names qualified). */
  definition: string;
}

/** Names of objects that other pgshift migrations own on a table: introspection leaves them out. */
export interface ObjectNames {
  columns: string[];
  indexes: string[];
  constraints: string[];
  triggers: string[];
  functions: string[];
}
