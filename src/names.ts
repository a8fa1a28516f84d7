import { createHash } from "node:crypto";

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 = 63 bytes; we never rely on that. */
export const MAX_IDENTIFIER_BYTES = 63;

function shortHash(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 8);
}

/**
 * `base + suffix`, shortened to fit 63 bytes. A shortened name keeps a hash of the full
 * name so two long names that share a prefix still get different identifiers.
 */
export function fitIdentifier(base: string, suffix: string): string {
  const full = base + suffix;
  if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full;
  const tag = `_${shortHash(full)}`;
  const room = MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix) - Buffer.byteLength(tag);
  // cut whole code points: half a surrogate pair would reach PostgreSQL as U+FFFD
  const chars = Array.from(base);
  while (Buffer.byteLength(chars.join("")) > room) chars.pop();
  return chars.join("") + tag + suffix;
}

/** Every name pgshift creates for one migration, derived from the column being changed. */
export interface MigrationNames {
  /** Key of the migration's row in the state table and of its advisory lock. */
  id: string;
  /** The new-type column that is filled during expand and renamed to `column` at cutover. */
  shadowColumn: string;
  /** Where the original column lives between cutover and contract. */
  oldColumn: string;
  /** SQL function old type -> new type (the `using` expression). */
  convertFunction: string;
  /** SQL function new type -> old type (the `reverseUsing` expression). */
  reverseConvertFunction: string;
  /** Trigger function that keeps the shadow equal to the converted column. */
  forwardTriggerFunction: string;
  /** Trigger function that keeps the old column equal to the new one after cutover. */
  reverseTriggerFunction: string;
  /**
   * SECURITY DEFINER function the reverse trigger calls when a new value does not fit the old
   * type: it marks the migration as no longer reversible instead of failing the write.
   */
  markIrreversibleFunction: string;
  /**
   * Trigger names. BEFORE triggers fire in name order; the `zzz_` prefix makes ours fire after
   * the application's own BEFORE triggers, so the shadow sees the final value of the row.
   */
  forwardInsertTrigger: string;
  forwardUpdateTrigger: string;
  reverseInsertTrigger: string;
  reverseUpdateTrigger: string;
  /** The procedure the in-database backfill's pg_cron job calls (backfill.runner "database"). */
  backfillProcedure: string;
  /**
   * BEFORE UPDATE trigger of a physical-order backfill: fills the shadow of any updated row
   * whose shadow differs, so a row an update moves behind the scan is still covered.
   */
  coverTrigger: string;
  /** CHECK (shadow IS NOT NULL) that lets cutover SET NOT NULL without a table scan. */
  notNullCheck: string;
}

export function migrationNames(schema: string, table: string, column: string): MigrationNames {
  const id = `${schema}.${table}.${column}`;
  // Functions live in the schema, so table + column alone can collide ("order_item"."id" and
  // "order"."item_id" both read order_item_id): a hash of the exact (schema, table, column)
  // makes every function name unique per migration whatever the names are.
  const tag = shortHash(JSON.stringify([schema, table, column]));
  const fn = (kind: string) => fitIdentifier(`pgshift_${table}_${column}`, `_${tag}_${kind}`);
  const trg = (kind: string) => fitIdentifier(`zzz_pgshift_${column}`, `_${kind}`);
  return {
    id,
    shadowColumn: fitIdentifier(column, "__pgshift_new"),
    oldColumn: fitIdentifier(column, "__pgshift_old"),
    convertFunction: fn("conv"),
    reverseConvertFunction: fn("rconv"),
    forwardTriggerFunction: fn("fwd"),
    reverseTriggerFunction: fn("rev"),
    markIrreversibleFunction: fn("irrev"),
    forwardInsertTrigger: trg("fwd_ins"),
    forwardUpdateTrigger: trg("fwd_upd"),
    reverseInsertTrigger: trg("rev_ins"),
    reverseUpdateTrigger: trg("rev_upd"),
    backfillProcedure: fn("bfill"),
    coverTrigger: trg("fwd_cov"),
    notNullCheck: fitIdentifier(column, "__pgshift_notnull"),
  };
}

/** The migration's SQL functions, all in the table's schema. */
export function functionNames(n: MigrationNames): string[] {
  return [n.convertFunction, n.reverseConvertFunction, n.forwardTriggerFunction, n.reverseTriggerFunction, n.markIrreversibleFunction];
}

/** Name of the copy, on the shadow column, of an index or constraint that covers the column. */
export function copyName(original: string): string {
  return fitIdentifier(original, "__pgshift");
}

/** Name an original index or constraint takes between cutover and contract (its copy takes the original name). */
export function oldName(original: string): string {
  return fitIdentifier(original, "__pgshift_old");
}
