import type { ClientBase } from "pg";
import { resolveTable } from "../catalog/introspect";
import { migrationNames, type MigrationNames } from "../names";
import { resolveStateSchema } from "../identifiers";

/** Where a migration lives: its resolved table, its names, and the schema of its state row. */
export interface MigrationLocation {
  schema: string;
  table: string;
  names: MigrationNames;
  stateSchema: string;
}

/**
 * Resolves `table` as the connection sees it (search_path applies when unqualified) and
 * derives everything that follows from it: the one way from a user's table text to a
 * migration, for the planner, WidenColumn's inference, pre-flight and every provider call.
 */
export async function locateMigration(db: ClientBase, table: string, column: string, stateSchema: string | undefined): Promise<MigrationLocation> {
  const t = await resolveTable(db, table);
  return { schema: t.schema, table: t.name, names: migrationNames(t.schema, t.name, column), stateSchema: resolveStateSchema(stateSchema, t.schema) };
}
