import type { ClientBase } from "pg";
import { describeColumnType, describeType } from "../catalog/describeType";
import { introspectTable, refuseInheritance } from "../catalog/introspect";
import { checkBackfillFiresNothing, checkNamesFree, checkNoOverlap, readNeighbours } from "./coexist";
import { narrowingReason } from "../conversion";
import { preflightFamily } from "./family";
import { checkReferencingKeys } from "./foreignKeys";
import { refusePublished } from "./publication";
import { checkValues } from "./values";
import { STATE_TABLE } from "../db/state";
import { DependentObjectsError, InvalidSpecError, NarrowingChangeError, PgShiftError, StateSchemaError, UnsupportedColumnError } from "../errors";
import { planContext, type MigrationFacts } from "../plan/facts";
import type { MigrationSpec } from "../spec";
import { ident, qualified } from "../sql/quote";

/**
 * Everything that must hold before any DDL runs. Read-only (its probes run in transactions that
 * are rolled back), so it also runs during `pulumi preview`. Returns the facts the migration
 * is planned from.
 */
export async function preflight(db: ClientBase, spec: MigrationSpec): Promise<MigrationFacts> {
  const root = await preflightColumn(db, spec);
  if (spec.referencingColumns !== "keep") return preflightFamily(db, spec, root, preflightColumn);
  // the cutover swap re-adds every foreign key that references the column against the
  // referencing columns as they are: refuse now what it could not
  await checkReferencingKeys(db, root.table.qualifiedName, spec.column, root.to);
  return root;
}

/** The checks of one column (the change's, or a member's of its key family). */
async function preflightColumn(db: ClientBase, spec: MigrationSpec): Promise<MigrationFacts> {
  const neighbours = await readNeighbours(db, spec);
  const table = await introspectTable(db, spec.table, spec.column, neighbours.names);
  checkNoOverlap(table, neighbours);
  await refuseInheritance(db, table.qualifiedName);
  await refusePublished(db, table);
  const from = await describeColumnType(db, table.qualifiedName, spec.column);
  const to = await describeType(db, spec.toType);
  const where = `${table.qualifiedName}.${ident(spec.column)}`;
  if (from.formatted === to.formatted && !spec.using) {
    throw new InvalidSpecError(`column ${where} already has type ${to.formatted}; there is nothing to change`);
  }
  const narrowing = narrowingReason(from, to);
  if (narrowing && !spec.allowNarrowing) throw new NarrowingChangeError(from.formatted, to.formatted, narrowing);
  if (table.dependents.length) {
    throw new DependentObjectsError(
      table.qualifiedName,
      spec.column,
      table.dependents,
      "PostgreSQL cannot change the type of a column that views, rules, policies or generated columns use. Drop them (and recreate them after contract), or change them to stop using the column.",
    );
  }
  const exclusion = table.constraints.find((c) => c.coversColumn && c.type === "x");
  if (exclusion) {
    throw new UnsupportedColumnError(`column ${where} is part of exclusion constraint ${ident(exclusion.name)}, which pgshift cannot rebuild without blocking writes`);
  }
  const deferrable = table.constraints.find((c) => c.coversColumn && (c.type === "p" || c.type === "u") && / DEFERRABLE/.test(c.definition));
  if (deferrable) {
    // the index copy on the shadow would check immediately during expand (an application
    // transaction relying on the deferred check would fail), and USING INDEX would drop DEFERRABLE
    throw new UnsupportedColumnError(
      `column ${where} is part of DEFERRABLE constraint ${ident(deferrable.name)}, which pgshift cannot copy without changing when it is checked; make it NOT DEFERRABLE first (ALTER TABLE ... ALTER CONSTRAINT ${ident(deferrable.name)} NOT DEFERRABLE), or change the column with a plain ALTER`,
    );
  }
  await checkRights(db, table.schema, table.qualifiedName);
  await checkStateSchema(db, spec.stateSchema ?? table.schema, spec.stateSchema !== undefined);
  const facts: MigrationFacts = { table, from, to, backfillAsReplica: await checkBackfillFiresNothing(db, table) };
  await checkNamesFree(db, planContext(spec, facts));
  await checkValues(db, planContext(spec, facts));
  return facts;
}

async function checkRights(db: ClientBase, schema: string, qualifiedTable: string): Promise<void> {
  const { rows } = await db.query<{ owner: boolean; create: boolean; role: string }>(
    `SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS owner, has_schema_privilege($2, 'CREATE') AS create, current_user AS role
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [qualifiedTable, schema],
  );
  const r = rows[0];
  if (!r.owner) throw new PgShiftError(`role ${r.role} does not own ${qualifiedTable}; pgshift needs the owner's rights (ALTER TABLE, CREATE TRIGGER). Connect as the table owner.`);
  if (!r.create) throw new PgShiftError(`role ${r.role} lacks CREATE on schema ${ident(schema)}, needed for pgshift's trigger functions. GRANT CREATE ON SCHEMA ${ident(schema)} TO ${ident(r.role)}.`);
}

/**
 * The state table is created by the first step of expand: a state schema that does not exist,
 * or where the role can neither create the table nor write the one that is there, would fail
 * that step with half of expand done. Checked here instead.
 */
async function checkStateSchema(db: ClientBase, schema: string, explicit: boolean): Promise<void> {
  const { rows } = await db.query<{ exists: boolean; usage: boolean; create: boolean; table: string | null; role: string }>(
    `SELECT n.oid IS NOT NULL AS exists,
            coalesce(has_schema_privilege(n.oid, 'USAGE'), false) AS usage,
            coalesce(has_schema_privilege(n.oid, 'CREATE'), false) AS create,
            (SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = $2) AS table,
            current_user AS role
       FROM (SELECT $1::text AS s) x LEFT JOIN pg_namespace n ON n.nspname = x.s`,
    [schema, STATE_TABLE],
  );
  const r = rows[0];
  const what = explicit ? `stateSchema ${ident(schema)}` : `schema ${ident(schema)} (the table's, where pgshift keeps its state table by default)`;
  if (!r.exists) throw new StateSchemaError(schema, `schema ${ident(schema)} does not exist; create it or omit stateSchema (the state table then goes to the table's schema)`);
  if (!r.usage) throw new StateSchemaError(schema, `role ${r.role} lacks USAGE on ${what}; GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(r.role)}${explicit ? ", or omit stateSchema" : ""}`);
  if (r.table === null) {
    if (!r.create) {
      throw new StateSchemaError(
        schema,
        `role ${r.role} cannot create pgshift's state table ${qualified(schema, STATE_TABLE)}: it lacks CREATE on ${what}. GRANT CREATE ON SCHEMA ${ident(schema)} TO ${ident(r.role)}${explicit ? ", or choose another stateSchema" : ", or give a stateSchema where it may"}.`,
      );
    }
    return;
  }
  const { rows: privs } = await db.query<{ missing: string[] }>(
    `SELECT ARRAY(SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p WHERE NOT has_table_privilege(to_regclass($1), p)) AS missing`,
    [qualified(schema, STATE_TABLE)],
  );
  const missing = privs[0].missing;
  if (missing.length) {
    throw new StateSchemaError(
      schema,
      `role ${r.role} cannot write pgshift's state table ${qualified(schema, STATE_TABLE)} (it lacks ${missing.join(", ")}). GRANT SELECT, INSERT, UPDATE, DELETE ON ${qualified(schema, STATE_TABLE)} TO ${ident(r.role)}.`,
    );
  }
}

