import assert from "node:assert/strict";
import type { ConstraintInfo, IndexInfo } from "../../src/snapshot";
import { shadowConstraintDefinition, shadowIndexSql } from "../../src/sql/indexes";
import { exprKey, index, key } from "./support/fixtures";

const TABLE = '"public"."contentcuration_file"';
const SHADOW = "file_size__pgshift_new";

/** shadowIndexSql for the file_size -> shadow change, named `<index>__pgshift`. */
function shadowOf(i: IndexInfo, column = "file_size", shadow = SHADOW): string {
  return shadowIndexSql(TABLE, i, column, shadow, `${i.name}__pgshift`);
}

describe("shadowIndexSql", () => {
  const cases: { name: string; index: IndexInfo; column?: string; shadow?: string; expected: string }[] = [
    {
      name: "plain",
      index: index("file_size_idx", [key("file_size")]),
      expected: `CREATE INDEX CONCURRENTLY "file_size_idx__pgshift" ON ${TABLE} USING btree ("file_size__pgshift_new")`,
    },
    {
      name: "multi-column: only the changed column is replaced, order kept",
      index: index("checksum_file_size_idx", [key("checksum"), key("file_size"), key("id")]),
      expected: `CREATE INDEX CONCURRENTLY "checksum_file_size_idx__pgshift" ON ${TABLE} USING btree ("checksum", "file_size__pgshift_new", "id")`,
    },
    {
      name: "DESC (nulls first is its default), DESC NULLS LAST, ASC NULLS FIRST",
      index: index("sorted_idx", [
        key("file_size", { descending: true, nullsFirst: true }),
        key("checksum", { descending: true, nullsFirst: false }),
        key("id", { nullsFirst: true }),
      ]),
      expected: `CREATE INDEX CONCURRENTLY "sorted_idx__pgshift" ON ${TABLE} USING btree ("file_size__pgshift_new" DESC, "checksum" DESC NULLS LAST, "id" NULLS FIRST)`,
    },
    {
      name: "unique",
      index: index("file_size_key", [key("file_size")], { unique: true, constraint: "file_size_key" }),
      expected: `CREATE UNIQUE INDEX CONCURRENTLY "file_size_key__pgshift" ON ${TABLE} USING btree ("file_size__pgshift_new")`,
    },
    {
      name: "partial: the predicate is rewritten too",
      index: index("large_idx", [key("checksum")], { predicate: "((file_size > 1000000) AND (checksum <> 'file_size'::text))" }),
      expected:
        `CREATE INDEX CONCURRENTLY "large_idx__pgshift" ON ${TABLE} USING btree ("checksum") ` +
        `WHERE (("file_size__pgshift_new" > 1000000) AND (checksum <> 'file_size'::text))`,
    },
    {
      name: "expression over the column: rewritten, parenthesized, its opclass dropped",
      index: index("code_lower_idx", [exprKey("lower((code)::text)", { opclass: "text_pattern_ops" })]),
      column: "code",
      shadow: "code__pgshift_new",
      expected: `CREATE INDEX CONCURRENTLY "code_lower_idx__pgshift" ON ${TABLE} USING btree ((lower(("code__pgshift_new")::text)))`,
    },
    {
      name: "expression over other columns: kept with its opclass, next to the shadow",
      index: index("lower_checksum_size_idx", [exprKey("lower(checksum)", { opclass: "text_pattern_ops" }), key("file_size")]),
      expected: `CREATE INDEX CONCURRENTLY "lower_checksum_size_idx__pgshift" ON ${TABLE} USING btree ((lower(checksum)) "text_pattern_ops", "file_size__pgshift_new")`,
    },
    {
      name: "arithmetic expression (pg_get_indexdef already parenthesizes it)",
      index: index("kb_idx", [exprKey("(file_size / 1024)")]),
      expected: `CREATE INDEX CONCURRENTLY "kb_idx__pgshift" ON ${TABLE} USING btree ((("file_size__pgshift_new" / 1024)))`,
    },
    {
      name: "INCLUDE list with the column",
      index: index("checksum_incl_idx", [key("checksum")], { include: ["id", "file_size"] }),
      expected: `CREATE INDEX CONCURRENTLY "checksum_incl_idx__pgshift" ON ${TABLE} USING btree ("checksum") INCLUDE ("id", "file_size__pgshift_new")`,
    },
    {
      name: "NULLS NOT DISTINCT",
      index: index("file_size_nnd_key", [key("file_size")], { unique: true, nullsNotDistinct: true }),
      expected: `CREATE UNIQUE INDEX CONCURRENTLY "file_size_nnd_key__pgshift" ON ${TABLE} USING btree ("file_size__pgshift_new") NULLS NOT DISTINCT`,
    },
    {
      name: "non-default opclass: kept on another column, dropped on the changed one",
      index: index("opclass_idx", [key("checksum", { opclass: "text_pattern_ops" }), key("file_size", { opclass: "int4_minmax_ops" })]),
      expected: `CREATE INDEX CONCURRENTLY "opclass_idx__pgshift" ON ${TABLE} USING btree ("checksum" "text_pattern_ops", "file_size__pgshift_new")`,
    },
    {
      name: "collation of another column kept",
      index: index("collated_idx", [key("checksum", { collation: "C" }), key("file_size")]),
      expected: `CREATE INDEX CONCURRENTLY "collated_idx__pgshift" ON ${TABLE} USING btree ("checksum" COLLATE "C", "file_size__pgshift_new")`,
    },
    {
      name: "another access method",
      index: index("file_size_brin", [key("file_size")], { method: "brin" }),
      expected: `CREATE INDEX CONCURRENTLY "file_size_brin__pgshift" ON ${TABLE} USING brin ("file_size__pgshift_new")`,
    },
    {
      name: "everything at once, in PostgreSQL's clause order",
      index: index("all_key", [key("checksum", { descending: true, nullsFirst: true }), key("file_size")], {
        unique: true,
        include: ["id"],
        nullsNotDistinct: true,
        predicate: "(file_size IS NOT NULL)",
      }),
      expected:
        `CREATE UNIQUE INDEX CONCURRENTLY "all_key__pgshift" ON ${TABLE} USING btree ("checksum" DESC, "file_size__pgshift_new") ` +
        `INCLUDE ("id") NULLS NOT DISTINCT WHERE ("file_size__pgshift_new" IS NOT NULL)`,
    },
    {
      name: "names that need quoting",
      index: index('Weird "Idx"', [key("Check Sum"), key("file_size")]),
      expected: `CREATE INDEX CONCURRENTLY "Weird ""Idx""__pgshift" ON ${TABLE} USING btree ("Check Sum", "file_size__pgshift_new")`,
    },
  ];

  for (const c of cases) {
    it(c.name, () => assert.equal(shadowOf(c.index, c.column, c.shadow), c.expected));
  }
});

describe("shadowConstraintDefinition", () => {
  const constraint = (type: ConstraintInfo["type"], definition: string, columns = ["file_size"]): ConstraintInfo => ({
    name: "c",
    type,
    definition,
    columns,
    validated: true,
    coversColumn: true,
  });

  const cases: { name: string; constraint: ConstraintInfo; column?: string; expected: string }[] = [
    {
      name: "CHECK: every reference rewritten, NOT VALID appended",
      constraint: constraint("c", "CHECK (((file_size >= 0) AND (file_size < 1099511627776)))"),
      expected: 'CHECK ((("file_size__pgshift_new" >= 0) AND ("file_size__pgshift_new" < 1099511627776))) NOT VALID',
    },
    {
      name: "CHECK that is already NOT VALID: not doubled",
      constraint: constraint("c", "CHECK ((file_size >= 0)) NOT VALID"),
      expected: 'CHECK (("file_size__pgshift_new" >= 0)) NOT VALID',
    },
    {
      name: "FOREIGN KEY: only the local column list rewritten",
      constraint: constraint("f", "FOREIGN KEY (file_size) REFERENCES sizes(file_size) ON DELETE CASCADE"),
      expected: 'FOREIGN KEY ("file_size__pgshift_new") REFERENCES sizes(file_size) ON DELETE CASCADE NOT VALID',
    },
    {
      name: "composite FOREIGN KEY",
      constraint: constraint("f", "FOREIGN KEY (tenant_id, owner_id) REFERENCES users(tenant_id, id)", ["tenant_id", "owner_id"]),
      column: "owner_id",
      expected: 'FOREIGN KEY (tenant_id, "owner_id__pgshift_new") REFERENCES users(tenant_id, id) NOT VALID',
    },
    {
      name: "FOREIGN KEY that is already NOT VALID: not doubled",
      constraint: constraint("f", "FOREIGN KEY (owner_id) REFERENCES users(id) NOT VALID", ["owner_id"]),
      column: "owner_id",
      expected: 'FOREIGN KEY ("owner_id__pgshift_new") REFERENCES users(id) NOT VALID',
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const column = c.column ?? "file_size";
      assert.equal(shadowConstraintDefinition(c.constraint, column, `${column}__pgshift_new`), c.expected);
    });
  }
});
