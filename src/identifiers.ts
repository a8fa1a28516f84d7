import { InvalidSpecError } from "./errors";

/**
 * Table and schema names as users write them, read the way PostgreSQL reads identifiers.
 * Pure; every refusal is an InvalidSpecError naming the field.
 */

function fail(message: string): never {
  throw new InvalidSpecError(message);
}

/** How a name field reads in messages; see nameParts. */
interface NameKind {
  /** `table name`, `stateSchema` */
  label: string;
  /** what a valid value is, for the message: `(optionally schema-qualified) name` */
  valid: string;
  /** an example of quoting: `"My Table"` */
  quoted: string;
}

const TABLE_NAME: NameKind = { label: "table name", valid: "(optionally schema-qualified) name", quoted: '"My Table"' };
const SCHEMA_NAME: NameKind = { label: "stateSchema", valid: "schema name", quoted: '"My Schema"' };

/**
 * Splits a dotted SQL name into its parts, as PostgreSQL reads identifiers: unquoted parts are
 * folded to lower case, quoted parts ("My Schema", with "" for a quote) are kept exactly. The
 * one home of identifier parsing: table names and stateSchema both go through here.
 */
function nameParts(text: string, kind: NameKind): string[] {
  const what = `${kind.label} ${JSON.stringify(text)}`;
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    if (s[i] === '"') {
      let j = i + 1;
      let part = "";
      for (;;) {
        if (j >= s.length) fail(`${what} has an unterminated quoted identifier`);
        if (s[j] === '"') {
          if (s[j + 1] === '"') {
            part += '"';
            j += 2;
            continue;
          }
          break;
        }
        part += s[j++];
      }
      if (part === "") fail(`${what} has an empty quoted identifier`);
      parts.push(part);
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== ".") j++;
      const part = s.slice(i, j).trim();
      if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(part)) fail(`${what} is not a valid ${kind.valid}; quote unusual names like ${kind.quoted}`);
      parts.push(part.toLowerCase());
      i = j;
    }
    if (i < s.length) {
      if (s[i] !== ".") fail(`${what} is not a valid ${kind.valid}`);
      i++;
      if (i >= s.length) fail(`${what} ends with a dot`);
    }
  }
  return parts;
}

/**
 * Splits `schema.table` / `"My Schema"."T"` into parts. Unquoted parts are folded to lower
 * case, as PostgreSQL does; quoted parts are kept exactly.
 */
export function parseQualifiedName(text: string): { schema?: string; name: string } {
  const parts = nameParts(text, TABLE_NAME);
  if (parts.length === 1) return { name: parts[0] };
  if (parts.length === 2) return { schema: parts[0], name: parts[1] };
  return fail(`table name ${JSON.stringify(text)} must be "table" or "schema.table"`);
}

/** A schema name as PostgreSQL reads it: `App` is schema app, `"App"` schema App. One identifier only. */
export function parseSchemaName(text: string): string {
  const parts = nameParts(text, SCHEMA_NAME);
  if (parts.length !== 1) fail(`stateSchema ${JSON.stringify(text)} must be a single schema name, not a qualified name`);
  return parts[0];
}

/**
 * The schema of the state table: `stateSchema` as written by the user, read like the table's
 * schema (unquoted folds to lower case), or else the table's own schema.
 */
export function resolveStateSchema(stateSchema: string | undefined, tableSchema: string): string {
  return stateSchema === undefined ? tableSchema : parseSchemaName(stateSchema);
}

