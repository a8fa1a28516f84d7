/**
 * A name-level model of what pgshift's DDL does to a table, for property tests of the swap
 * plans without a database: which columns, indexes, constraints, triggers and functions exist
 * by name, and which column (of the changed one, its shadow and its old copy) each index /
 * constraint is on. Statements the model does not need (ALTER COLUMN ... SET NOT NULL,
 * ALTER SEQUENCE, COMMENT ON, DO blocks, the state-row UPDATE, ANALYZE) are accepted and ignored;
 * any other statement throws, so a new kind of statement in a plan is noticed.
 *
 * The model is strict where PostgreSQL is: renaming or dropping (without IF EXISTS) a missing
 * object, or creating / renaming onto an existing name, throws.
 */
import type { LiveState } from "../../../src/plan/facts";
import type { Step } from "../../../src/plan/step";

export interface SimObject {
  /** The column of interest (changed / shadow / old) it is on, if any. */
  column: string | null;
}

export interface SimIndex extends SimObject {
  valid: boolean;
}

export interface SimConstraint extends SimObject {
  type: string;
  validated: boolean;
}

export interface SimCatalog {
  columns: string[];
  indexes: Map<string, SimIndex>;
  constraints: Map<string, SimConstraint>;
  triggers: Set<string>;
  functions: Set<string>;
}

const ID = String.raw`"((?:[^"]|"")*)"`;
const unquote = (s: string) => s.replace(/""/g, '"');

/**
 * The model of a live state. `columnOf(name)` tells which column of interest an index or
 * constraint of `live` is on (null: none).
 */
export function simCatalog(live: LiveState, columnOf: (object: string) => string | null): SimCatalog {
  return {
    columns: [...live.columns],
    indexes: new Map(Object.entries(live.indexes).map(([n, i]) => [n, { valid: i.valid, column: columnOf(n) }])),
    constraints: new Map(Object.entries(live.constraints).map(([n, c]) => [n, { type: c.type, validated: c.validated, column: columnOf(n) }])),
    triggers: new Set(live.triggers),
    functions: new Set(live.functions),
  };
}

/** The LiveState a plan would read from the modelled catalog. */
export function liveOf(cat: SimCatalog, columnTypes: Record<string, string> = {}): LiveState {
  return {
    columns: [...cat.columns],
    columnTypes,
    functions: [...cat.functions],
    triggers: [...cat.triggers],
    indexes: Object.fromEntries([...cat.indexes].map(([n, i]) => [n, { valid: i.valid }])),
    constraints: Object.fromEntries([...cat.constraints].map(([n, c]) => [n, { validated: c.validated, type: c.type }])),
  };
}

/** Names of the catalog, sorted, for deepEqual. */
export function namesOf(cat: SimCatalog): { columns: string[]; indexes: string[]; constraints: string[]; triggers: string[]; functions: string[] } {
  return {
    columns: [...cat.columns].sort(),
    indexes: [...cat.indexes.keys()].sort(),
    constraints: [...cat.constraints.keys()].sort(),
    triggers: [...cat.triggers].sort(),
    functions: [...cat.functions].sort(),
  };
}

function renameKey<V>(map: Map<string, V>, from: string, to: string, what: string): void {
  const v = map.get(from);
  if (v === undefined) throw new Error(`${what} "${from}" does not exist`);
  if (map.has(to)) throw new Error(`${what} "${to}" already exists`);
  map.delete(from);
  map.set(to, v);
}

/** The quoted column of interest a CREATE INDEX / ADD CONSTRAINT mentions (first of `candidates`). */
function mentioned(statement: string, candidates: string[]): string | null {
  return candidates.find((c) => statement.includes(`"${c.replace(/"/g, '""')}"`)) ?? null;
}

/**
 * Applies one statement. `interesting` are the column names whose objects are tracked (the
 * changed column, its shadow and its old copy), most specific first.
 */
export function applyStatement(cat: SimCatalog, table: string, statement: string, interesting: string[]): void {
  const T = table.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const S = `${ID}\\.${ID}`;
  let m: RegExpMatchArray | null;
  const on = (re: string) => (m = statement.match(new RegExp(`^${re}$`, "s")));

  if (on(`LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`)) return;
  if (on(`DROP TRIGGER IF EXISTS ${ID} ON ${T}`)) {
    cat.triggers.delete(unquote(m![1]));
    return;
  }
  if (on(`CREATE TRIGGER ${ID} BEFORE (?:INSERT|UPDATE OF ${ID}) ON ${T} .*`)) {
    const name = unquote(m![1]);
    if (cat.triggers.has(name)) throw new Error(`trigger "${name}" already exists`);
    cat.triggers.add(name);
    return;
  }
  if (on(`CREATE OR REPLACE FUNCTION ${S}\\(.*`)) {
    cat.functions.add(unquote(m![2]));
    return;
  }
  if (on(`DROP FUNCTION IF EXISTS ${S}`)) {
    cat.functions.delete(unquote(m![2]));
    return;
  }
  if (on(`ALTER TABLE ${T} RENAME COLUMN ${ID} TO ${ID}`)) {
    const [from, to] = [unquote(m![1]), unquote(m![2])];
    const i = cat.columns.indexOf(from);
    if (i < 0) throw new Error(`column "${from}" does not exist`);
    if (cat.columns.includes(to)) throw new Error(`column "${to}" already exists`);
    cat.columns[i] = to;
    for (const o of [...cat.indexes.values(), ...cat.constraints.values()]) if (o.column === from) o.column = to;
    return;
  }
  if (on(`ALTER TABLE ${T} ADD COLUMN ${ID} .*`)) {
    const name = unquote(m![1]);
    if (cat.columns.includes(name)) throw new Error(`column "${name}" already exists`);
    cat.columns.push(name);
    return;
  }
  if (on(`ALTER TABLE ${T} DROP COLUMN IF EXISTS ${ID}`)) {
    const name = unquote(m![1]);
    cat.columns = cat.columns.filter((c) => c !== name);
    // PostgreSQL drops the indexes and constraints on the column with it
    for (const [n, i] of cat.indexes) if (i.column === name) cat.indexes.delete(n);
    for (const [n, c] of cat.constraints) if (c.column === name) cat.constraints.delete(n);
    return;
  }
  if (on(`ALTER INDEX ${S} RENAME TO ${ID}`)) {
    renameKey(cat.indexes, unquote(m![2]), unquote(m![3]), "index");
    return;
  }
  if (on(`ALTER TABLE ${T} RENAME CONSTRAINT ${ID} TO ${ID}`)) {
    const [from, to] = [unquote(m![1]), unquote(m![2])];
    renameKey(cat.constraints, from, to, "constraint");
    // the index of a PRIMARY KEY / UNIQUE constraint is renamed with it
    if (["p", "u"].includes(cat.constraints.get(to)!.type)) renameKey(cat.indexes, from, to, "index");
    return;
  }
  if (on(`ALTER TABLE ${T} DROP CONSTRAINT (IF EXISTS )?${ID}`)) {
    const name = unquote(m![2]);
    const c = cat.constraints.get(name);
    if (!c) {
      if (m![1]) return;
      throw new Error(`constraint "${name}" does not exist`);
    }
    cat.constraints.delete(name);
    if (["p", "u"].includes(c.type)) cat.indexes.delete(name);
    return;
  }
  if (on(`ALTER TABLE ${T} ADD CONSTRAINT ${ID} (PRIMARY KEY|UNIQUE) USING INDEX ${ID}`)) {
    const [name, kind, index] = [unquote(m![1]), m![2], unquote(m![3])];
    if (cat.constraints.has(name)) throw new Error(`constraint "${name}" already exists`);
    const i = cat.indexes.get(index);
    if (!i) throw new Error(`index "${index}" does not exist`);
    if (!i.valid) throw new Error(`index "${index}" is not valid`);
    // PostgreSQL renames the index to the constraint's name
    if (index !== name) renameKey(cat.indexes, index, name, "index");
    cat.constraints.set(name, { type: kind === "UNIQUE" ? "u" : "p", validated: true, column: i.column });
    return;
  }
  if (on(`ALTER TABLE ${T} ADD CONSTRAINT ${ID} (CHECK|FOREIGN KEY) .* NOT VALID`)) {
    const name = unquote(m![1]);
    if (cat.constraints.has(name)) throw new Error(`constraint "${name}" already exists`);
    cat.constraints.set(name, { type: m![2] === "CHECK" ? "c" : "f", validated: false, column: mentioned(statement, interesting) });
    return;
  }
  if (on(`ALTER TABLE ${T} VALIDATE CONSTRAINT ${ID}`)) {
    const c = cat.constraints.get(unquote(m![1]));
    if (!c) throw new Error(`constraint "${unquote(m![1])}" does not exist`);
    c.validated = true;
    return;
  }
  if (on(`CREATE (UNIQUE )?INDEX CONCURRENTLY ${ID} ON ${T} .*`)) {
    const name = unquote(m![2]);
    if (cat.indexes.has(name)) throw new Error(`index "${name}" already exists`);
    cat.indexes.set(name, { valid: true, column: mentioned(statement, interesting) });
    return;
  }
  if (on(`DROP INDEX CONCURRENTLY IF EXISTS ${S}`)) {
    cat.indexes.delete(unquote(m![2]));
    return;
  }
  // statements that change nothing the model tracks
  if (
    on(`ALTER TABLE ${T} ALTER COLUMN ${ID} (SET|DROP) (NOT NULL|DEFAULT)( .*)?`) ||
    on(`ALTER SEQUENCE .*`) ||
    on(`COMMENT ON COLUMN .*`) ||
    on(`DO \\$pgshift\\$.*`) ||
    on(`UPDATE .* SET stage = '(expand|cutover|contract)', updated_at = now\\(\\) WHERE id = .*`) ||
    on(`ANALYZE ${T} \\(${ID}\\)`)
  ) {
    return;
  }
  throw new Error(`the model does not know this statement: ${statement}`);
}

/**
 * Applies only the RENAME statements (of columns, indexes, constraints) of `sql`, in order, and
 * leaves the others out; returns how many it applied. For the renames of a swap on their own.
 */
export function applyRenames(cat: SimCatalog, table: string, sql: string[]): number {
  const renames = sql.filter((s) => /^ALTER (?:INDEX .* RENAME TO|TABLE .* RENAME (?:COLUMN|CONSTRAINT)) "/s.test(s));
  for (const statement of renames) applyStatement(cat, table, statement, []);
  return renames.length;
}

/** Applies every statement of every step, in order. */
export function applySteps(cat: SimCatalog, table: string, steps: Step[], interesting: string[]): void {
  for (const step of steps) for (const sql of step.sql) applyStatement(cat, table, sql, interesting);
}
