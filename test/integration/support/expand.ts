import assert from "node:assert/strict";
/**
 * Helpers of the integration tests: drive the provider's handlers directly (the same code a
 * dynamic resource runs, without Pulumi) and ask the catalog what pgshift left behind.
 */
import { Client } from "pg";
import { readMigration, type MigrationRow } from "../../../src/db/state";
import { migrationNames, type MigrationNames } from "../../../src/names";
import { planContext, type PlanContext } from "../../../src/plan/facts";
import { create, read, remove, type ChildInputs, type ChildOutputs } from "../../../src/provider";
import type { ChildKind } from "../../../src/provider/inputs";
import { parseSpec, type ColumnChangeInput, type ColumnChangeSpec } from "../../../src/spec";
import { fingerprint } from "../../support/fingerprint";
import { withClient } from "../../support/pg";

/** The expand children, in the order the component creates them. */
export const EXPAND_KINDS: ChildKind[] = ["shadow-column", "mirror-trigger", "backfill", "shadow-indexes"];

/** A validated spec with stage "expand" unless given. */
export function specOf(input: Omit<ColumnChangeInput, "stage"> & { stage?: ColumnChangeInput["stage"] }): ColumnChangeSpec {
  return parseSpec({ stage: "expand", ...input });
}

/** The inputs a MigrationChild child passes to the provider. */
export function stepInputs(url: string, kind: ChildKind, spec: ColumnChangeSpec): ChildInputs {
  return { kind, connection: { connectionString: url }, spec, statements: [] };
}

/** Runs the provider's create for `kind` and returns its outputs. */
export async function createStep(url: string, kind: ChildKind, spec: ColumnChangeSpec): Promise<ChildOutputs> {
  return (await create(stepInputs(url, kind, spec))).outs;
}

/** Runs the provider's delete for `kind` (with outputs as the engine would pass them). */
export async function removeStep(url: string, kind: ChildKind, spec: ColumnChangeSpec): Promise<void> {
  await remove(`${spec.table}.${spec.column}/${kind}`, { ...stepInputs(url, kind, spec), result: {} });
}

/** Runs the provider's read (refresh) for `kind`: the `result` it reports, or null when gone. */
export async function readStep(url: string, kind: ChildKind, spec: ColumnChangeSpec): Promise<Record<string, unknown> | null> {
  const r = await read(`${spec.table}.${spec.column}/${kind}`, { ...stepInputs(url, kind, spec), result: {} });
  return r.props ? r.props.result : null;
}

/** Creates the given expand children in order. */
export async function expand(url: string, spec: ColumnChangeSpec, kinds: ChildKind[] = EXPAND_KINDS): Promise<Record<string, ChildOutputs>> {
  const outs: Record<string, ChildOutputs> = {};
  for (const kind of kinds) outs[kind] = await createStep(url, kind, spec);
  return outs;
}

/** Names of the migration of `schema.table.column`. */
export function namesOf(table: string, column: string, schema = "public"): MigrationNames {
  return migrationNames(schema, table, column);
}

/** The migration's state row (null when none, or no state table). */
export function migrationRow(url: string, table: string, column: string, schema = "public"): Promise<MigrationRow | null> {
  return withClient(url, (c) => readMigration(c, schema, namesOf(table, column, schema).id));
}

/** The plan context the handlers use, rebuilt from the state row. */
export async function contextFromRow(url: string, spec: ColumnChangeSpec, table: string, column: string): Promise<PlanContext> {
  const row = await migrationRow(url, table, column);
  if (!row) throw new Error(`no state row for ${table}.${column}`);
  return planContext(spec, row.facts);
}

/** What pgshift may have created anywhere in the database: its state table, functions, triggers and objects. */
export interface PgshiftLeftovers {
  stateTables: string[];
  functions: string[];
  triggers: string[];
  columns: string[];
  relations: string[];
  constraints: string[];
}

export async function pgshiftLeftovers(c: Client): Promise<PgshiftLeftovers> {
  const q = async (sql: string) => (await c.query<{ n: string }>(sql)).rows.map((r) => r.n);
  return {
    stateTables: await q(`SELECT oid::regclass::text AS n FROM pg_class WHERE relname = 'pgshift_migrations' ORDER BY 1`),
    functions: await q(
      `SELECT p.oid::regprocedure::text AS n FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
        WHERE p.proname LIKE 'pgshift%' AND s.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1`,
    ),
    triggers: await q(`SELECT tgname AS n FROM pg_trigger WHERE tgname LIKE '%pgshift%' ORDER BY 1`),
    columns: await q(`SELECT attrelid::regclass::text || '.' || attname AS n FROM pg_attribute WHERE attname LIKE '%pgshift%' AND NOT attisdropped ORDER BY 1`),
    relations: await q(`SELECT oid::regclass::text AS n FROM pg_class WHERE relname LIKE '%pgshift%' AND relname NOT LIKE 'pgshift\\_migrations%' ORDER BY 1`),
    constraints: await q(`SELECT conname AS n FROM pg_constraint WHERE conname LIKE '%pgshift%' AND conrelid <> coalesce(to_regclass('pgshift_migrations'), 0) ORDER BY 1`),
  };
}

export const NO_LEFTOVERS: PgshiftLeftovers = { stateTables: [], functions: [], triggers: [], columns: [], relations: [], constraints: [] };

/**
 * Rows whose shadow differs from `expected` (an SQL expression over the table's columns, e.g.
 * `file_size::bigint`), as the first few keys; an empty list means the shadow is complete.
 */
export async function shadowMismatches(c: Client, table: string, shadow: string, expected: string, key = "id"): Promise<string[]> {
  const { rows } = await c.query<{ k: string }>(
    `SELECT (${key})::text AS k FROM ${table} WHERE ${c.escapeIdentifier(shadow)} IS DISTINCT FROM (${expected}) ORDER BY ${key} LIMIT 5`,
  );
  return rows.map((r) => r.k);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value, at most `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Runs `fn` (which must fail) on a client of `url`, and checks that nothing changed: the same
 * fingerprint (catalog and data), no pgshift object, and the client left in no transaction
 * (no xid open, the session still usable). Returns the error.
 */
export async function refusesUnchanged(url: string, fn: (c: Client) => Promise<unknown>): Promise<Error> {
  const before = await withClient(url, fingerprint);
  let caught: unknown;
  await withClient(url, async (c) => {
    try {
      await fn(c);
    } catch (err) {
      caught = err;
    }
    const { rows } = await c.query<{ s: string }>(`SELECT pg_current_xact_id_if_assigned()::text AS s`);
    assert.equal(rows[0].s, null, "pre-flight left a transaction with an xid open");
    await c.query("SELECT 1");
  });
  assert.ok(caught instanceof Error, "expected a refusal");
  assert.deepEqual(await withClient(url, fingerprint), before, "the database changed");
  await withClient(url, async (c) => assert.deepEqual(await pgshiftLeftovers(c), NO_LEFTOVERS));
  return caught as Error;
}

/** A session that holds a lock (or a snapshot) in an open transaction until release(). */
export async function holdInTransaction(url: string, ...statements: string[]): Promise<{ pid: number; release(): Promise<void> }> {
  const c = new Client({ connectionString: url, application_name: "test-lock-holder" });
  await c.connect();
  const { rows } = await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  await c.query("BEGIN");
  for (const sql of statements) await c.query(sql);
  let released = false;
  return {
    pid: rows[0].pid,
    async release() {
      if (released) return;
      released = true;
      await c.query("COMMIT").catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}
