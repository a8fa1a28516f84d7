import { escapeIdentifier, escapeLiteral } from "pg";

/** A double-quoted SQL identifier. Every identifier pgshift emits goes through here. */
export function ident(name: string): string {
  return escapeIdentifier(name);
}

/** `"schema"."name"` */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** A single-quoted SQL string literal (for COMMENT ON and messages built into SQL). */
export function literal(value: string): string {
  return escapeLiteral(value);
}
