import { loadModule, parseSync, scanSync, type ParseResult, type ScanToken } from "libpg-query";

/**
 * PostgreSQL's own parser and scanner (libpg_query compiled to WebAssembly, so nothing is
 * compiled at install). The module is instantiated asynchronously, once per process, while
 * the plans that use it are pure and synchronous: the async edges that plan (planning's
 * `planMigrationWith`, the provider's `withSession`, the test suite's root hook) await
 * `loadSqlParser()` first, and the pure functions call `parseSql` / `scanSql`.
 */
let loaded = false;

/** Loads the parser; cheap after the first call (the module is shared by the process). */
export async function loadSqlParser(): Promise<void> {
  if (loaded) return;
  await loadModule();
  loaded = true;
}

function requireLoaded(): void {
  // a programming error, not a user's: every entry point that plans awaits loadSqlParser()
  if (!loaded) throw new Error("pgshift: the SQL parser is not loaded (await loadSqlParser() before planning)");
}

/** The raw parse tree of `sql` (locations are byte offsets into its UTF-8 encoding). */
export function parseSql(sql: string): ParseResult {
  requireLoaded();
  return parseSync(sql);
}

/** PostgreSQL's tokens of `sql` (start / end are byte offsets into its UTF-8 encoding). */
export function scanSql(sql: string): ScanToken[] {
  requireLoaded();
  return scanSync(sql).tokens;
}
