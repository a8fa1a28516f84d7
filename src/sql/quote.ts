import { escapeIdentifier, escapeLiteral } from "pg";

/** A double-quoted SQL identifier. Every identifier pgshift emits goes through here. */
export function ident(name: string): string {
  return escapeIdentifier(name);
}

/** `"schema"."name"` */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** SQL text of a row's key for messages: `"a"::text || ', ' || "b"::text`. */
export function keyAsText(keyColumns: { name: string }[], prefix = ""): string {
  return keyColumns.map((k) => `${prefix}${ident(k.name)}::text`).join(` || ', ' || `);
}

/** A single-quoted SQL string literal (for COMMENT ON and messages built into SQL). */
export function literal(value: string): string {
  return escapeLiteral(value);
}
