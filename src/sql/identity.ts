import { INTEGER_BOUNDS } from "../conversion";
import { dollarQuote } from "./dollarQuote";
import { ident, literal } from "./quote";


/** Text placed into a format() template inside a SQL string literal: quotes doubled, and % too (format() reads %). */
function template(text: string): string {
  return text.replace(/'/g, "''").replace(/%/g, "%%");
}

/**
 * Moves an identity from column `from` to column `to` inside the cutover (or rollback)
 * transaction: same sequence name, options and current value. PostgreSQL cannot hand an
 * identity sequence to another column, so the block drops it and recreates it on `to`, with
 * MINVALUE / MAXVALUE left to the new type when they were the old type's bounds (as ALTER
 * COLUMN ... TYPE does). `to` must already be NOT NULL.
 */
export function moveIdentitySql(table: string, from: string, to: string, kind: string, fromTypeName: string): string {
  const bounds = INTEGER_BOUNDS[fromTypeName] ?? ["", ""];
  const generated = kind === "a" ? "ALWAYS" : "BY DEFAULT";
  return `DO ${dollarQuote(`
DECLARE
  seq text := pg_get_serial_sequence(${literal(table)}, ${literal(from)});
  s record;
  last_value bigint;
  called boolean;
BEGIN
  SELECT seqstart, seqincrement, seqmin, seqmax, seqcache, seqcycle INTO s FROM pg_sequence WHERE seqrelid = seq::regclass;
  EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last_value, called;
  ALTER TABLE ${table} ALTER COLUMN ${ident(from)} DROP IDENTITY;
  EXECUTE format('ALTER TABLE ${template(table)} ALTER COLUMN ${template(ident(to))} ADD GENERATED ${generated} AS IDENTITY (SEQUENCE NAME %s START WITH %s INCREMENT BY %s %s %s CACHE %s %s)',
    seq, s.seqstart, s.seqincrement,
    CASE WHEN s.seqmin::text IN ('1', ${literal(bounds[0])}) THEN 'NO MINVALUE' ELSE 'MINVALUE ' || s.seqmin END,
    CASE WHEN s.seqmax::text IN ('-1', ${literal(bounds[1])}) THEN 'NO MAXVALUE' ELSE 'MAXVALUE ' || s.seqmax END,
    s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END);
  PERFORM setval(pg_get_serial_sequence(${literal(table)}, ${literal(to)}), last_value, called);
END
`)}`;
}
