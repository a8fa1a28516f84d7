/**
 * Hand-built catalog facts for unit tests: what introspectTable / describeType would read for
 *
 *   CREATE TABLE public.contentcuration_file (
 *     id        serial PRIMARY KEY,
 *     checksum  text NOT NULL,
 *     file_size integer
 *   );
 *   CREATE INDEX contentcuration_file_checksum_file_size_idx ON contentcuration_file (checksum, file_size);
 *   CREATE INDEX contentcuration_file_large_idx ON contentcuration_file (checksum) WHERE file_size > 1000000;
 *
 * and the change file_size integer -> bigint. Strings are as PostgreSQL 15 deparses them.
 *
 * FileFactsOptions vary it: file_size NOT NULL / with a DEFAULT / a COMMENT / a UNIQUE
 * constraint (contentcuration_file_file_size_key), extra CHECK / FOREIGN KEY constraints, other
 * from / to types, and `changeId`: the change of the PRIMARY KEY column id integer -> bigint
 * instead, with id a serial (default) or an identity column (`id`).
 */
import type { ColumnInfo, ConstraintInfo, IndexInfo, IndexKey, TableSnapshot } from "../../../src/snapshot";
import type { TypeDescription } from "../../../src/conversion";
import type { LiveState, MigrationFacts, PlanContext } from "../../../src/plan/facts";
import { copyName } from "../../../src/names";
import { planContext } from "../../../src/plan/facts";
import { parseSpec, type ColumnChangeInput } from "../../../src/spec";

export const INT4: TypeDescription = { formatted: "integer", typeName: "int4", typmod: -1 };
export const INT8: TypeDescription = { formatted: "bigint", typeName: "int8", typmod: -1 };

/** A plain (column) index key with default opclass, collation and sort order. */
export function key(column: string, extra: Partial<IndexKey> = {}): IndexKey {
  return { column, expression: column, opclass: null, collation: null, descending: false, nullsFirst: false, ...extra };
}

/** An expression index key, as pg_get_indexdef(indexrelid, k, true) prints it. */
export function exprKey(expression: string, extra: Partial<IndexKey> = {}): IndexKey {
  return { column: null, expression, opclass: null, collation: null, descending: false, nullsFirst: false, ...extra };
}

/** A valid, non-unique btree index with no INCLUDE list or predicate, unless overridden. */
export function index(name: string, keys: IndexKey[], extra: Partial<IndexInfo> = {}): IndexInfo {
  const unique = extra.unique ? "UNIQUE " : "";
  const where = extra.predicate ? ` WHERE ${extra.predicate}` : "";
  return {
    name,
    method: "btree",
    unique: false,
    primary: false,
    constraint: null,
    keys,
    include: [],
    predicate: null,
    valid: true,
    nullsNotDistinct: false,
    // pg_get_indexdef's form; only used in messages
    definition: `CREATE ${unique}INDEX ${name} ON public.contentcuration_file USING ${extra.method ?? "btree"} (${keys.map((k) => k.expression).join(", ")})${where}`,
    coversColumn: true,
    ...extra,
  };
}

function column(name: string, attnum: number, type: string, typeName: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return { name, attnum, type, typeName, notNull: false, default: null, identity: "", generated: "", collation: null, comment: null, ...extra };
}

export const PKEY = "contentcuration_file_pkey";

/** A CHECK constraint on the changed column (add it with `constraints: [CHECK]`). */
export const CHECK: ConstraintInfo = {
  name: "contentcuration_file_file_size_check",
  type: "c",
  definition: "CHECK ((file_size >= 0))",
  columns: ["file_size"],
  validated: true,
  coversColumn: true,
};
/** A FOREIGN KEY on the changed column (add it with `constraints: [FKEY]`). */
export const FKEY: ConstraintInfo = {
  name: "contentcuration_file_file_size_fkey",
  type: "f",
  definition: "FOREIGN KEY (file_size) REFERENCES public.sizes(bytes)",
  columns: ["file_size"],
  validated: true,
  coversColumn: true,
};
export const COMPOSITE_INDEX = "contentcuration_file_checksum_file_size_idx";
export const PARTIAL_INDEX = "contentcuration_file_large_idx";

export interface FileFactsOptions {
  /** file_size is NOT NULL (the shadow then needs a CHECK (shadow IS NOT NULL)). */
  notNull?: boolean;
  /** Extra constraints on the table (CHECK / FOREIGN KEY ...). */
  constraints?: ConstraintInfo[];
  /** Replace the backfill key (default: id integer). */
  keyColumns?: { name: string; type: string }[];
  /** file_size has this DEFAULT expression (as pg_get_expr prints it). */
  default?: string;
  /** COMMENT ON COLUMN file_size. */
  comment?: string;
  /** file_size has a UNIQUE constraint, contentcuration_file_file_size_key (its index has the same name). */
  unique?: boolean;
  /** Types of the change (default integer -> bigint). */
  from?: TypeDescription;
  to?: TypeDescription;
  /**
   * Change id (the PRIMARY KEY) instead of file_size: the primary key's index and constraint
   * then cover the changed column, and the column owns contentcuration_file_id_seq.
   */
  changeId?: boolean;
  /** How id is declared: `serial` (default), or `integer GENERATED ALWAYS / BY DEFAULT AS IDENTITY`. */
  id?: "serial" | "identity always" | "identity by default";
}

/** Every fixture variant the swap plans' property tests run over. */
export const VARIANTS: { name: string; opts: FileFactsOptions }[] = [
  { name: "nullable file_size, plain + partial index", opts: {} },
  { name: "NOT NULL", opts: { notNull: true } },
  { name: "UNIQUE + NOT NULL", opts: { unique: true, notNull: true } },
  { name: "CHECK + FOREIGN KEY", opts: { constraints: [CHECK, FKEY] } },
  { name: "comment + DEFAULT", opts: { comment: "bytes", default: "0" } },
  { name: "everything on file_size", opts: { notNull: true, unique: true, constraints: [CHECK, FKEY], comment: "bytes", default: "0" } },
  { name: "serial PRIMARY KEY", opts: { changeId: true } },
  { name: "identity BY DEFAULT PRIMARY KEY", opts: { changeId: true, id: "identity by default" } },
  { name: "identity ALWAYS PRIMARY KEY", opts: { changeId: true, id: "identity always" } },
];

export const UNIQUE_KEY = "contentcuration_file_file_size_key";
/** What pg_get_serial_sequence returns for id (serial and identity alike). */
export const ID_SEQUENCE = "public.contentcuration_file_id_seq";

/** The MigrationFacts of contentcuration_file.file_size integer -> bigint (or id, see FileFactsOptions). A fresh object each call. */
export function fileFacts(opts: FileFactsOptions = {}): MigrationFacts {
  const idKind = opts.id ?? "serial";
  const id =
    idKind === "serial"
      ? column("id", 1, "integer", "int4", { notNull: true, default: "nextval('contentcuration_file_id_seq'::regclass)" })
      : column("id", 1, "integer", "int4", { notNull: true, identity: idKind === "identity always" ? "a" : "d" });
  const fileSize = column("file_size", 3, "integer", "int4", {
    notNull: opts.notNull ?? false,
    default: opts.default ?? null,
    comment: opts.comment ?? null,
  });
  const columns = [id, column("checksum", 2, "text", "text", { notNull: true }), fileSize];
  const changeId = opts.changeId ?? false;
  const coversFileSize = !changeId;
  const table: TableSnapshot = {
    schema: "public",
    name: "contentcuration_file",
    qualifiedName: '"public"."contentcuration_file"',
    columns,
    column: changeId ? id : fileSize,
    keyColumns: opts.keyColumns ?? [{ name: "id", type: "integer" }],
    indexes: [
      index(COMPOSITE_INDEX, [key("checksum"), key("file_size")], { coversColumn: coversFileSize }),
      index(PARTIAL_INDEX, [key("checksum")], { predicate: "(file_size > 1000000)", coversColumn: coversFileSize }),
      index(PKEY, [key("id")], { unique: true, primary: true, constraint: PKEY, coversColumn: changeId }),
      ...(opts.unique ? [index(UNIQUE_KEY, [key("file_size")], { unique: true, constraint: UNIQUE_KEY, coversColumn: coversFileSize })] : []),
    ],
    constraints: [
      { name: PKEY, type: "p", definition: "PRIMARY KEY (id)", columns: ["id"], validated: true, coversColumn: changeId },
      ...(opts.unique
        ? [{ name: UNIQUE_KEY, type: "u" as const, definition: "UNIQUE (file_size)", columns: ["file_size"], validated: true, coversColumn: coversFileSize }]
        : []),
      ...(opts.constraints ?? []),
    ],
    referencingForeignKeys: [],
    dependents: [],
    ownedSequence: changeId ? { qualifiedName: ID_SEQUENCE, dataType: "integer" } : null,
    triggers: [],
    updateRules: [],
  };
  return { table, from: opts.from ?? INT4, to: opts.to ?? INT8 };
}

/** parseSpec of the change, with overrides (e.g. `using`). */
export function fileSpec(extra: Partial<ColumnChangeInput> = {}) {
  return parseSpec({ table: "contentcuration_file", column: "file_size", toType: "bigint", stage: "expand", ...extra });
}

/** The PlanContext of the change; the spec names the changed column and the facts' new type unless `spec` says otherwise. */
export function fileContext(opts: FileFactsOptions = {}, spec: Partial<ColumnChangeInput> = {}): PlanContext {
  const facts = fileFacts(opts);
  return planContext(fileSpec({ column: facts.table.column.name, toType: facts.to.formatted, ...spec }), facts);
}

/**
 * The live state after a complete expand: every object pgshift creates for `ctx` exists and is
 * valid / validated.
 */
export function expandedLive(ctx: PlanContext, base: LiveState): LiveState {
  const n = ctx.names;
  const indexes = { ...base.indexes };
  const constraints = { ...base.constraints };
  for (const i of ctx.facts.table.indexes.filter((i) => i.coversColumn)) indexes[copyName(i.name)] = { valid: true };
  for (const c of ctx.facts.table.constraints.filter((c) => c.coversColumn && (c.type === "c" || c.type === "f"))) {
    constraints[copyName(c.name)] = { validated: true, type: c.type };
  }
  if (ctx.facts.table.column.notNull) constraints[n.notNullCheck] = { validated: true, type: "c" };
  return {
    columns: [...base.columns, n.shadowColumn],
    columnTypes: { [n.shadowColumn]: ctx.facts.to.formatted },
    functions: [n.convertFunction, n.forwardTriggerFunction],
    triggers: [n.forwardInsertTrigger, n.forwardUpdateTrigger],
    indexes,
    constraints,
  };
}
