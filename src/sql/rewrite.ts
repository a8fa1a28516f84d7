import { ident } from "./quote";

/**
 * Words that PostgreSQL deparses bare inside multi-word syntax and that are also legal column
 * names: `AT TIME ZONE`, `character varying`, `double precision`, `with time zone`,
 * `EXTRACT(year FROM ...)`. Keyed by the word, the previous words that make it a keyword.
 */
const PHRASES: Record<string, string[]> = {
  time: ["at", "with", "without"],
  zone: ["time"],
  varying: ["character", "char", "national"],
  precision: ["double"],
};

function isKeywordInPhrase(word: string, before: string): boolean {
  const previous = /([A-Za-z_][A-Za-z0-9_$]*)\s*$/.exec(before)?.[1]?.toLowerCase();
  if (previous && PHRASES[word]?.includes(previous)) return true;
  // the field of EXTRACT(field FROM ...)
  return /\bextract\s*\($/i.test(before);
}

/**
 * Replaces references to column `from` by `to` in a SQL expression as PostgreSQL deparses it
 * (pg_get_expr / pg_get_indexdef / pg_get_constraintdef). String literals, quoted identifiers
 * of other names, function names (`name(`), type names (`::name`) and qualified names
 * (`x.name`) are left alone.
 */
export function replaceColumnReferences(sql: string, from: string, to: string): string {
  let out = "";
  let i = 0;
  const prevSignificant = () => out.replace(/\s+$/, "");
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'") {
      // string literal, '' escapes a quote
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    let name: string | null = null;
    let end = i;
    if (ch === '"') {
      let j = i + 1;
      let text = "";
      while (j < sql.length) {
        if (sql[j] === '"' && sql[j + 1] === '"') {
          text += '"';
          j += 2;
        } else if (sql[j] === '"') break;
        else text += sql[j++];
      }
      name = text;
      end = j + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(ch) && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? "")) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j])) j++;
      name = sql.slice(i, j).toLowerCase();
      end = j;
    }
    if (name === null) {
      out += ch;
      i++;
      continue;
    }
    const before = prevSignificant();
    const after = sql.slice(end).replace(/^\s+/, "");
    const isReference =
      name === from &&
      !before.endsWith("::") &&
      !before.endsWith(".") &&
      !after.startsWith("(") &&
      !after.startsWith(".") &&
      (ch === '"' || !isKeywordInPhrase(name, before));
    out += isReference ? ident(to) : sql.slice(i, end);
    i = end;
  }
  return out;
}
