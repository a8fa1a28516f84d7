import assert from "node:assert/strict";
import { expressionProblem, type ExpressionProblem } from "../../src/sql/scan";

describe("expressionProblem (the single-expression check of using / reverseUsing)", () => {
  describe("accepts one expression, whatever its literals, identifiers and comments hold", () => {
    for (const text of [
      "file_size::bigint",
      "coalesce(nullif(file_size::text, ';'), '0')::bigint",
      "replace(file_size::text, 'it''s;', '')::bigint",
      String.raw`replace(file_size::text, E'\';', '')::bigint`,
      String.raw`E'\\' || ';'`,
      `"we;ird"::bigint`,
      `"a""; b"`,
      "$$;$$ || $tag$ ; $ $$ $tag$ || $a$ $b$ ; $b$ $a$",
      "file$1 + $1",
      "x -- a comment with ; and ' in it\n+ 1",
      "x /* ; ' \" $$ */ + 1",
      "x /* outer /* inner ; */ still ; comment */ + 1",
      "(((x)))",
      "x -- trailing comment with a ) in it",
      "U&'d\\0061t\\+000061;'",
      "B'101' || X'1F'",
    ]) {
      it(JSON.stringify(text), () => assert.equal(expressionProblem(text), null));
    }
  });

  const refused: [string, ExpressionProblem][] = [
    ["x; drop table t", { kind: "semicolon", at: 1 }],
    ["'a'; select 1", { kind: "semicolon", at: 3 }],
    // the case: a quote inside a line comment opened a fake literal for the old regex
    ["x -- '\n; drop table t; select ''", { kind: "semicolon", at: 7 }],
    ["x /* ' */; select 1", { kind: "semicolon", at: 9 }],
    // an E'' literal whose backslash escapes a quote: E'\'' is one literal, then ") ;"
    [String.raw`E'\'') ; drop table x; select (''`, { kind: "semicolon", at: 7 }],
    [String.raw`E'\'; drop table x`, { kind: "unterminated", what: "escape string E'...'", at: 0 }],
    // ... and a plain one ends where E'' would not
    [String.raw`'\' ; drop table x; select '\'`, { kind: "semicolon", at: 4 }],
    // a nested comment ends at its last */, not its first
    ["x /* a /* b */ ; */ ; select 1", { kind: "semicolon", at: 20 }],
    ["$a$ $b$ $a$; select 1", { kind: "semicolon", at: 11 }],
    // an identifier's $ starts no dollar quote
    ["x$a$ ; $a$", { kind: "semicolon", at: 5 }],
    ['"x;" ; y', { kind: "semicolon", at: 5 }],
    ["x) FROM pg_class WHERE (true", { kind: "unbalanced", at: 1 }],
    ["(x", { kind: "unbalanced", at: 2 }],
    ["x) + (y", { kind: "unbalanced", at: 1 }],
    ["x -- )\n)", { kind: "unbalanced", at: 7 }],
    ["'abc", { kind: "unterminated", what: "string literal '...'", at: 0 }],
    ['"abc', { kind: "unterminated", what: 'quoted identifier "..."', at: 0 }],
    ["$q$ abc $Q$", { kind: "unterminated", what: "dollar quote $q$", at: 0 }],
    ["x /* /* */", { kind: "unterminated", what: "comment /* ... */", at: 2 }],
  ];
  describe("refuses what could end the generated SELECT", () => {
    for (const [text, problem] of refused) {
      it(JSON.stringify(text), () => assert.deepEqual(expressionProblem(text), problem));
    }
  });
});
