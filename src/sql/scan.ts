/**
 * A small SQL lexer, just enough to tell whether a user's `using` / `reverseUsing` text is one
 * expression: it skips what PostgreSQL's lexer skips or keeps opaque (string literals,
 * quoted identifiers, dollar quotes, comments) and reports the first thing outside them that
 * would let the text end the generated function body's SELECT: a `;`, a parenthesis that
 * closes more than the text opened (`x) FROM other_table WHERE (true`), or a literal or
 * comment left open. It follows PostgreSQL's rules:
 *
 * - `'...'` with `''` for a quote (standard_conforming_strings on, the default since 9.1);
 * - `E'...'` / `e'...'`, where a backslash escapes the next character as well;
 * - `"..."` identifiers with `""` for a quote;
 * - `$tag$ ... $tag$` dollar quotes (the tag is empty or an identifier without `$`); `$1` is a
 *   parameter, and a `$` inside an identifier (`file$1`) starts nothing;
 * - `--` to the end of the line, and `/* ... *\/` comments, which nest.
 */

export type ExpressionProblem =
  | { kind: "semicolon"; at: number }
  | { kind: "unbalanced"; at: number }
  | { kind: "unterminated"; what: string; at: number };

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Index just past the quote that ends a literal opened at `start` (`quote` = ' or "), or -1. */
function endOfQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i];
    if (backslashEscapes && ch === "\\") {
      i++;
      continue;
    }
    if (ch === quote) {
      if (text[i + 1] === quote) {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return -1;
}

/**
 * The first problem in `text`, or null when it is a single expression's worth of tokens. A `;`
 * or an unterminated literal anywhere wins over unbalanced parentheses (the more telling message).
 */
export function expressionProblem(text: string): ExpressionProblem | null {
  let depth = 0;
  let unbalanced: number | null = null;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === "'") {
      const end = endOfQuoted(text, i, "'", false);
      if (end < 0) return { kind: "unterminated", what: "string literal '...'", at: i };
      i = end;
    } else if (ch === '"') {
      const end = endOfQuoted(text, i, '"', false);
      if (end < 0) return { kind: "unterminated", what: 'quoted identifier "..."', at: i };
      i = end;
    } else if (IDENT_START.test(ch)) {
      let j = i + 1;
      while (j < text.length && IDENT_CONT.test(text[j])) j++;
      if (j === i + 1 && (ch === "E" || ch === "e") && text[j] === "'") {
        const end = endOfQuoted(text, j, "'", true);
        if (end < 0) return { kind: "unterminated", what: "escape string E'...'", at: i };
        j = end;
      }
      i = j;
    } else if (ch === "$") {
      const tag = DOLLAR_TAG.exec(text.slice(i));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        if (close < 0) return { kind: "unterminated", what: `dollar quote ${tag[0]}`, at: i };
        i = close + tag[0].length;
      } else {
        // a parameter ($1) or a stray $
        i++;
        while (i < text.length && /[0-9]/.test(text[i])) i++;
      }
    } else if (ch === "-" && next === "-") {
      while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
    } else if (ch === "/" && next === "*") {
      const start = i;
      let nesting = 0;
      for (;;) {
        if (i >= text.length) return { kind: "unterminated", what: "comment /* ... */", at: start };
        if (text[i] === "/" && text[i + 1] === "*") {
          nesting++;
          i += 2;
        } else if (text[i] === "*" && text[i + 1] === "/") {
          nesting--;
          i += 2;
          if (nesting === 0) break;
        } else {
          i++;
        }
      }
    } else if (ch === ";") {
      return { kind: "semicolon", at: i };
    } else if (ch === "(") {
      depth++;
      i++;
    } else if (ch === ")") {
      if (--depth < 0 && unbalanced === null) unbalanced = i;
      i++;
    } else {
      i++;
    }
  }
  if (unbalanced !== null) return { kind: "unbalanced", at: unbalanced };
  return depth === 0 ? null : { kind: "unbalanced", at: text.length };
}
