import type { ClientBase } from "pg";
import type { TypeDescription } from "../conversion";
import { SqlState, sqlState, UnknownTypeError } from "../errors";

/**
 * Resolves a type as the user wrote it (`bigint`, `varchar(64)`, `numeric(20,2)`) to its
 * canonical name and modifier. PostgreSQL only exposes a typmod through a column, so this
 * declares a column in a temporary table inside a transaction that is always rolled back:
 * nothing in the database changes.
 */
export async function describeType(db: ClientBase, typeText: string): Promise<TypeDescription> {
  await db.query("BEGIN");
  try {
    await db.query(`CREATE TEMP TABLE pgshift_type_probe (x ${typeText}) ON COMMIT DROP`);
    const { rows } = await db.query<TypeDescription>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS formatted, t.typname AS "typeName", a.atttypmod AS typmod
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = 'pg_temp.pgshift_type_probe'::regclass AND a.attname = 'x'`,
    );
    return rows[0];
  } catch (err) {
    const code = sqlState(err);
    if (code === SqlState.undefinedObject || code === "42601" /* syntax_error */ || code === "22023" /* invalid typmod */) {
      throw new UnknownTypeError(typeText);
    }
    throw err;
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
  }
}

/** The type of an existing column, in the same form. */
export async function describeColumnType(db: ClientBase, qualifiedTable: string, column: string): Promise<TypeDescription> {
  const { rows } = await db.query<TypeDescription>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS formatted, t.typname AS "typeName", a.atttypmod AS typmod
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass($1) AND a.attname = $2`,
    [qualifiedTable, column],
  );
  return rows[0];
}
