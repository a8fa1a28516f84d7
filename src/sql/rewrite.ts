import type { ColumnRef, Node, ScanToken } from "libpg-query";
import { UnreadableDefinitionError } from "../errors";
import { parseSql, scanSql } from "./parser";
import { ident } from "./quote";

/**
 * Renames a column inside SQL text that PostgreSQL deparsed (pg_get_indexdef's key expressions
 * and predicates, pg_get_constraintdef's CHECKs and FOREIGN KEYs), for the copies built on the
 * shadow column. PostgreSQL's own parser decides what is a reference to the column (a
 * ColumnRef naming it, unqualified or qualified with the table): never a keyword, a function
 * or type name, a string literal, a field of a composite or another relation's column. Only
 * those identifier tokens are replaced (their byte range, from the scanner); the rest of the
 * text is PostgreSQL's, byte for byte, so nothing depends on a deparser re-printing it right.
 */

/** The table a qualified reference may name (`files.size`, `public.files.size`). */
export interface TableName {
  schema: string;
  name: string;
}

interface Reference {
  /** The names of the ColumnRef, null for `*`. */
  names: (string | null)[];
  /** Byte offset of its first token. */
  location: number;
}

/** Every ColumnRef in a parse (sub)tree. */
function columnRefs(node: unknown, out: Reference[] = []): Reference[] {
  if (Array.isArray(node)) {
    for (const n of node) columnRefs(n, out);
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "ColumnRef") {
        const ref = value as ColumnRef;
        out.push({ names: (ref.fields ?? []).map(stringOf), location: ref.location ?? -1 });
      } else {
        columnRefs(value, out);
      }
    }
  }
  return out;
}

function stringOf(node: Node): string | null {
  return "String" in node ? (node.String.sval ?? "") : null;
}

/** The name an identifier token stands for: a quoted one as written, a bare one folded to lower case (ASCII only, as PostgreSQL does). */
function identifierName(token: ScanToken): string {
  if (token.text.startsWith('"')) return token.text.slice(1, -1).replace(/""/g, '"');
  return token.text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

class Rewriter {
  readonly bytes: Buffer;
  readonly tokens: ScanToken[];
  private readonly byStart = new Map<number, number>();
  private readonly ranges: { start: number; end: number }[] = [];

  constructor(readonly text: string) {
    this.bytes = Buffer.from(text, "utf8");
    this.tokens = scanSql(text);
    this.tokens.forEach((t, i) => this.byStart.set(t.start, i));
  }

  /** Index of the token that starts at byte `location`. */
  tokenAt(location: number): number {
    const i = this.byStart.get(location);
    if (i === undefined) throw new Error(`pgshift: no SQL token at byte ${location} of ${this.text}`);
    return i;
  }

  /** Marks token `i`, which must be the identifier `name`, for replacement. */
  rename(i: number, name: string): void {
    const token = this.tokens[i];
    if (!token || identifierName(token) !== name) {
      throw new Error(`pgshift: expected the identifier ${ident(name)} at token ${i} of ${this.text}, found ${token?.text ?? "nothing"}`);
    }
    this.ranges.push({ start: token.start, end: token.end });
  }

  /** The text with every marked token replaced by `replacement`, from byte `from` on. */
  result(replacement: string, from: number): string {
    const pieces: Buffer[] = [];
    let at = from;
    for (const r of [...this.ranges].sort((a, b) => a.start - b.start)) {
      pieces.push(this.bytes.subarray(at, r.start), Buffer.from(replacement, "utf8"));
      at = r.end;
    }
    pieces.push(this.bytes.subarray(at));
    return Buffer.concat(pieces).toString("utf8");
  }

  /** Marks the references to column `from` among `refs` (qualified ones only with `table`). */
  renameReferences(refs: Reference[], from: string, table: TableName | undefined): void {
    for (const ref of refs) {
      const n = ref.names;
      const qualifier = n.slice(0, -1);
      const ofTable =
        qualifier.length === 0 ||
        (table !== undefined &&
          ((qualifier.length === 1 && qualifier[0] === table.name) ||
            (qualifier.length === 2 && qualifier[0] === table.schema && qualifier[1] === table.name)));
      // the tokens of a qualified name are name . name . name
      if (n[n.length - 1] === from && ofTable) this.rename(this.tokenAt(ref.location) + 2 * qualifier.length, from);
    }
  }
}

function parsed(text: string, what: string, sql: string): ReturnType<typeof parseSql> {
  try {
    return parseSql(text);
  } catch (e) {
    throw new UnreadableDefinitionError(what, sql, (e as Error).message);
  }
}

/**
 * `sql`, one SQL expression, with every reference to column `from` replaced by the quoted
 * identifier `to`. References qualified with a table name are replaced only when `table` is
 * given and they name it (pg_get_indexdef and pg_get_constraintdef never qualify them).
 */
export function replaceColumnReferences(sql: string, from: string, to: string, table?: TableName): string {
  const prefix = "SELECT ";
  const text = prefix + sql;
  const stmts = parsed(text, "index expression or predicate", sql).stmts ?? [];
  const select = stmts.length === 1 ? stmts[0].stmt : undefined;
  const targets = select && "SelectStmt" in select ? select.SelectStmt.targetList : undefined;
  const onlyTarget = targets?.length === 1 && select && "SelectStmt" in select && !select.SelectStmt.fromClause;
  if (!onlyTarget) throw new Error(`pgshift: not one SQL expression: ${sql}`);
  const rewriter = new Rewriter(text);
  rewriter.renameReferences(columnRefs(targets), from, table);
  return rewriter.result(ident(to), Buffer.byteLength(prefix));
}

/**
 * A CHECK or FOREIGN KEY constraint definition (pg_get_constraintdef) with column `from`
 * renamed to `to`: the references in the CHECK's expression, or the FOREIGN KEY's own column
 * list (the referenced columns belong to the other table).
 */
export function replaceConstraintColumns(definition: string, from: string, to: string, table?: TableName): string {
  const prefix = "ALTER TABLE t ADD ";
  const text = prefix + definition;
  const stmt = parsed(text, "constraint", definition).stmts?.[0]?.stmt;
  const cmd = stmt && "AlterTableStmt" in stmt ? stmt.AlterTableStmt.cmds : undefined;
  const def = cmd?.length === 1 && "AlterTableCmd" in cmd[0] ? cmd[0].AlterTableCmd.def : undefined;
  const constraint = def && "Constraint" in def ? def.Constraint : undefined;
  if (!constraint || (constraint.contype !== "CONSTR_CHECK" && constraint.contype !== "CONSTR_FOREIGN")) {
    throw new Error(`pgshift: not a CHECK or FOREIGN KEY constraint: ${definition}`);
  }
  const rewriter = new Rewriter(text);
  rewriter.renameReferences(columnRefs(constraint.raw_expr), from, table);
  if (constraint.contype === "CONSTR_FOREIGN") {
    // FOREIGN KEY ( a , b ) REFERENCES ...: the k-th column is token 3 + 2k after FOREIGN
    const start = rewriter.tokenAt(constraint.location ?? -1);
    (constraint.fk_attrs ?? []).map(stringOf).forEach((name, k) => {
      if (name === from) rewriter.rename(start + 3 + 2 * k, from);
    });
  }
  return rewriter.result(ident(to), Buffer.byteLength(prefix));
}
