import assert from "node:assert/strict";
import { migrationNames } from "../../src/names";
import type { PlanContext } from "../../src/plan/facts";
import { dollarQuote } from "../../src/sql/dollarQuote";
import { convertFunctionSql, forwardTriggerFunctionSql, reverseConvertFunctionSql } from "../../src/sql/functions";
import { moveIdentitySql } from "../../src/sql/identity";
import { markIrreversibleSql, reverseTriggerFunctionSql } from "../../src/sql/reverse";
import { fileContext } from "./support/fixtures";

/**
 * The body of the dollar quote after `AS` (CREATE FUNCTION) or `DO` in `sql` (or of `sql`
 * itself when it starts with one), read as PostgreSQL's lexer reads it: the body runs up to the
 * first later occurrence of the opening tag. Returns the body and what follows the closing tag.
 */
function firstDollarQuote(sql: string): { tag: string; body: string; after: string } {
  const open = /(?:^| AS |^DO )(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)/.exec(sql);
  assert.ok(open, `no dollar quote in ${sql}`);
  const tag = open[1];
  const start = open.index + open[0].length;
  const end = sql.indexOf(tag, start);
  assert.ok(end >= 0, `unterminated ${tag} in ${sql}`);
  return { tag, body: sql.slice(start, end), after: sql.slice(end + tag.length) };
}

describe("dollarQuote", () => {
  const cases: { body: string; quoted: string }[] = [
    { body: " SELECT 1 ", quoted: "$pgshift$ SELECT 1 $pgshift$" },
    { body: "we$pgshift$ird", quoted: "$pgshift_1$we$pgshift$ird$pgshift_1$" },
    { body: "$pgshift$ $pgshift_1$", quoted: "$pgshift_2$$pgshift$ $pgshift_1$$pgshift_2$" },
    // the closing tag would otherwise start inside the body: x$pgshift + $pgshift$ reads as x + $pgshift$ + pgshift$
    { body: "x$pgshift", quoted: "$pgshift_1$x$pgshift$pgshift_1$" },
    { body: "", quoted: "$pgshift$$pgshift$" },
  ];
  for (const c of cases) {
    it(`quotes ${JSON.stringify(c.body)}`, () => {
      const quoted = dollarQuote(c.body);
      assert.equal(quoted, c.quoted);
      const q = firstDollarQuote(quoted);
      assert.equal(q.body, c.body);
      assert.equal(q.after, "");
    });
  }
});

describe("function bodies survive a table named we$pgshift$ird and a using with $pgshift$ in it", () => {
  const base = fileContext({}, { using: "$pgshift$1$pgshift$::bigint + file_size", reverseUsing: "file_size::integer -- $pgshift$" });
  const ctx: PlanContext = {
    ...base,
    facts: { ...base.facts, table: { ...base.facts.table, name: "we$pgshift$ird", qualifiedName: '"public"."we$pgshift$ird"' } },
    names: migrationNames("public", "we$pgshift$ird", "file_size"),
  };
  const builders: [string, string, string][] = [
    ["convertFunctionSql", convertFunctionSql(ctx), "$pgshift$1$pgshift$::bigint + file_size"],
    ["reverseConvertFunctionSql", reverseConvertFunctionSql(ctx), "file_size::integer -- $pgshift$"],
    ["forwardTriggerFunctionSql", forwardTriggerFunctionSql(ctx), ctx.names.convertFunction],
    ["reverseTriggerFunctionSql", reverseTriggerFunctionSql(ctx), ctx.names.markIrreversibleFunction],
    ["markIrreversibleSql", markIrreversibleSql(ctx, "we$pgshift$ird"), "we$pgshift$ird"],
    ["moveIdentitySql", moveIdentitySql('"public"."we$pgshift$ird"', "id", "id_new", "d", "int4"), "we$pgshift$ird"],
  ];
  for (const [name, sql, inside] of builders) {
    it(`${name}: the whole body is one dollar quote, ending the statement`, () => {
      const q = firstDollarQuote(sql);
      assert.notEqual(q.tag, "$pgshift$", sql);
      assert.ok(q.body.includes(inside), `${inside} not in the body of ${sql}`);
      assert.equal(q.after, "", sql);
    });
  }

  it("a -- comment at the end of using ends at its own line: the closing parenthesis and the cast survive", () => {
    const body = firstDollarQuote(reverseConvertFunctionSql(ctx)).body;
    assert.match(body, /\nfile_size::integer -- \$pgshift\$\n\)::integer $/);
  });
});
