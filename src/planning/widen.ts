import { describeColumnType } from "../catalog/describeType";
import { locateMigration } from "../db/locate";
import { withConnection, type ConnectionConfig } from "../db/connection";
import { readMigration } from "../db/state";
import { ColumnNotFoundError, InvalidSpecError } from "../errors";
import { qualified } from "../sql/quote";

/** The widenings WidenColumn infers from the column's current type. */
export const WIDEN_TO: Record<string, string> = { smallint: "integer", integer: "bigint" };

/**
 * The target type of a WidenColumn: the one recorded when the migration started, else the next
 * wider integer type of the column as it is now. Read-only.
 */
export function inferWidening(conn: ConnectionConfig, table: string, column: string, stateSchema?: string): Promise<string> {
  return withConnection(conn, async (db) => {
    const where = await locateMigration(db, table, column, stateSchema);
    const row = await readMigration(db, where.stateSchema, where.names.id);
    if (row) return row.facts.to.formatted;
    const current = await describeColumnType(db, qualified(where.schema, where.table), column);
    if (!current) throw new ColumnNotFoundError(table, column);
    const to = WIDEN_TO[current.formatted];
    if (!to) {
      throw new InvalidSpecError(`WidenColumn widens smallint or integer columns; ${table}.${column} is ${current.formatted}. Use ColumnTypeChange with an explicit toType.`);
    }
    return to;
  }, "pgshift plan");
}
