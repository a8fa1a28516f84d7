import { describeColumnType } from "./catalog/describeType";
import { resolveTable } from "./catalog/introspect";
import { withConnection, type ConnectionConfig } from "./db/connection";
import { readMigration } from "./db/state";
import { ColumnNotFoundError, InvalidSpecError } from "./errors";
import { migrationNames } from "./names";
import { resolveStateSchema } from "./spec";
import { qualified } from "./sql/quote";

/** The widenings WidenColumn infers from the column's current type. */
export const WIDEN_TO: Record<string, string> = { smallint: "integer", integer: "bigint" };

/**
 * The target type of a WidenColumn: the one recorded when the migration started, else the next
 * wider integer type of the column as it is now. Read-only.
 */
export function inferWidening(conn: ConnectionConfig, table: string, column: string, stateSchema?: string): Promise<string> {
  return withConnection(conn, async (db) => {
    const t = await resolveTable(db, table);
    const row = await readMigration(db, resolveStateSchema(stateSchema, t.schema), migrationNames(t.schema, t.name, column).id);
    if (row) return row.facts.to.formatted;
    const current = await describeColumnType(db, qualified(t.schema, t.name), column);
    if (!current) throw new ColumnNotFoundError(table, column);
    const to = WIDEN_TO[current.formatted];
    if (!to) {
      throw new InvalidSpecError(`WidenColumn widens smallint or integer columns; ${table}.${column} is ${current.formatted}. Use ColumnTypeChange with an explicit toType.`);
    }
    return to;
  }, "pgshift plan");
}
