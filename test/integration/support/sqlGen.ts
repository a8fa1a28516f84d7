/**
 * Random SQL over one column, for the property test of the column rename
 * (test/integration/rewriteProperty.test.ts): expressions, casts (with multi-word type names),
 * functions, operators, CASE, EXTRACT, AT TIME ZONE and string literals that contain the
 * column's name, over a column whose name may be a keyword, a function or type name, quoted,
 * mixed-case or non-ASCII. Seeded, so a failure is replayed with its seed.
 */
import { ident, literal } from "../../../src/sql/quote";

/** Column names that trip a tokenizer: keywords of every category, names of functions and types, quoting. */
export const COLUMN_NAMES = [
  "file_size", "zone", "time", "year", "varying", "precision", "select", "lower", "text", "Mixed Case", 'a"b', "größe", "at",
];

export class SqlGen {
  constructor(private readonly rnd: () => number, private readonly column: string, private readonly table: string) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rnd() * items.length)];
  }

  /** The column as a user may write it: quoted, bare (folded to lower case), upper case, or qualified with the table. */
  ref(): string {
    const bare = /^[a-z_][a-z0-9_]*$/.test(this.column) && !["time", "precision", "select", "at"].includes(this.column);
    const forms = [ident(this.column), `${this.table}.${ident(this.column)}`];
    if (bare) forms.push(this.column, this.column.toUpperCase());
    return this.pick(forms);
  }

  /** A string literal that mentions the column's name (it must stay as it is). */
  private mention(): string {
    return literal(this.pick([this.column, ident(this.column), `%${this.column}%`, `it's ${this.column}`]));
  }

  /** An integer expression. */
  num(depth: number): string {
    const leaves = [() => this.ref(), () => this.ref(), () => this.ref(), () => "other", () => String(Math.floor(this.rnd() * 100))];
    if (depth <= 0) return this.pick(leaves)();
    const d = depth - 1;
    const forms = [
      ...leaves,
      () => `(${this.num(d)} + ${this.num(d)})`,
      () => `(${this.num(d)} * ${this.num(d)} - 1)`,
      () => `(- ${this.num(d)})`,
      () => `(${this.num(d)} % 7)`,
      () => `abs(${this.num(d)})`,
      () => `coalesce(${this.num(d)}, ${this.num(d)}, 0)`,
      () => `greatest(${this.num(d)}, ${this.num(d)})`,
      () => `(${this.num(d)})::bigint::integer`,
      () => `CAST(CAST(${this.num(d)} AS double precision) AS integer)`,
      () => `length((${this.num(d)})::character varying(20))`,
      () => `length(lower((${this.num(d)})::text || ${this.mention()}))`,
      () => `CASE WHEN ${this.bool(d)} THEN ${this.num(d)} ELSE ${this.num(d)} END`,
      () => `EXTRACT(year FROM created_at)::integer`,
      () => `(EXTRACT(epoch FROM (created_at AT TIME ZONE 'UTC')))::integer`,
      () => `length(SUBSTRING(note FROM 1 FOR ${this.num(d)}))`,
    ];
    return this.pick(forms)();
  }

  /** A boolean expression. */
  bool(depth: number): string {
    const d = Math.max(depth - 1, 0);
    const forms = [
      () => `${this.num(d)} > ${this.num(d)}`,
      () => `${this.num(d)} IS NOT NULL`,
      () => `${this.num(d)} BETWEEN 1 AND 100`,
      () => `${this.num(d)} IN (1, 2, 3)`,
      () => `${this.num(d)} IS DISTINCT FROM ${this.num(d)}`,
      () => `note <> ${this.mention()}`,
      () => `note LIKE ${this.mention()}`,
      () => `(note)::character varying = ${this.mention()}`,
      ...(depth > 0
        ? [() => `(${this.bool(d)} AND ${this.bool(d)})`, () => `(${this.bool(d)} OR ${this.bool(d)})`, () => `NOT (${this.bool(d)})`]
        : []),
    ];
    return this.pick(forms)();
  }
}
