import type { Client } from "pg";
import { connect, withConnection } from "../db/connection";
import { withMigrationLock } from "../db/advisoryLock";
import { runSteps, type ExecutionStats, type ExecutorOptions } from "../db/executor";
import { readLiveState } from "../db/live";
import { WATCH_EVERY_MS } from "../db/watch";
import { checkOwner, readMigration, type MigrationRow } from "../db/state";
import { PgShiftError } from "../errors";
import { functionNames, type MigrationNames } from "../names";
import { locateMigration } from "../db/locate";
import { planContext, type LiveOf, type LiveState, type PlanContext } from "../plan/facts";
import { familyContexts } from "../plan/family";
import type { Step } from "../plan/step";
import type { MigrationSpec } from "../spec";
import { loadSqlParser } from "../sql/parser";
import { qualified } from "../sql/quote";
import type { ChildInputs } from "./inputs";

export type Log = (line: string) => void;

/** One provider call's view of a migration: connection, names, state row, executor options. */
export interface Session {
  db: Client;
  spec: MigrationSpec;
  schema: string;
  table: string;
  stateSchema: string;
  names: MigrationNames;
  row: MigrationRow | null;
  exec: ExecutorOptions;
  log: Log;
}

/**
 * Connects, resolves the table, takes the migration's advisory lock and reads its state row.
 * Every handler runs inside one.
 */
export async function withSession<T>(inputs: ChildInputs, log: Log, fn: (s: Session) => Promise<T>): Promise<T> {
  await loadSqlParser(); // the handlers' plans rewrite index and constraint definitions
  return withConnection(inputs.connection, async (db) => {
    const { schema, table, names, stateSchema } = await locateMigration(db, tableText(inputs), inputs.spec.column, inputs.spec.stateSchema);
    return withMigrationLock(db, names.id, async () => {
      const row = await readMigration(db, stateSchema, names.id);
      checkOwner(names.id, row?.owner ?? null, inputs.owner);
      return fn({
        db,
        spec: inputs.spec,
        schema,
        table,
        stateSchema,
        names,
        row,
        exec: {
          lock: inputs.spec.lock,
          table: qualified(schema, table),
          log,
          watch: { connect: () => connect(inputs.connection, `pgshift ${inputs.kind} watch`), everyMs: WATCH_EVERY_MS },
        },
        log,
      });
    });
  }, `pgshift ${inputs.kind}`);
}

/** The table a child acts on: the one recorded when it was created, else the spec's. */
export function tableText(inputs: ChildInputs): string {
  return inputs.table ? qualified(inputs.table.schema, inputs.table.name) : inputs.spec.table;
}

/** The state row, which ShadowColumn writes first; every later step needs it. */
export function requireRow(s: Session, kind: string): MigrationRow {
  if (!s.row) {
    throw new PgShiftError(`${kind}: the migration of ${s.names.id} has no state row; the ShadowColumn step has not run (or its row in ${s.stateSchema}.pgshift_migrations was deleted). Run pulumi up again.`);
  }
  return s.row;
}

export function contextOf(s: Session, row: MigrationRow): PlanContext {
  return planContext(s.spec, row.facts);
}

export function live(s: Session): Promise<LiveState> {
  return readLiveState(s.db, s.schema, s.table, functionNames(s.names));
}

/** Every member of the migration's key family (src/plan/family.ts), the root first: a migration without one is a family of one. */
export function familyOf(s: Session, row: MigrationRow): PlanContext[] {
  return familyContexts(contextOf(s, row));
}

/** The live state of every member's table, read once per table (members on one table share it). */
export async function familyLive(s: Session, members: PlanContext[]): Promise<LiveOf> {
  const byTable = new Map<string, LiveState>();
  for (const m of members) {
    const t = m.facts.table;
    if (byTable.has(t.qualifiedName)) continue;
    const functions = members.filter((o) => o.facts.table.qualifiedName === t.qualifiedName).flatMap((o) => functionNames(o.names));
    byTable.set(t.qualifiedName, await readLiveState(s.db, t.schema, t.name, functions));
  }
  return (m) => byTable.get(m.facts.table.qualifiedName)!;
}

/** The state row of a member (the root's is the session's). */
export async function memberRow(s: Session, row: MigrationRow, m: PlanContext): Promise<MigrationRow | null> {
  return m.names.id === row.id ? row : readMigration(s.db, s.stateSchema, m.names.id);
}

/**
 * The first member of the family whose backfill has not finished, with its checkpoint (what
 * the index copies and the cutover wait for); null once every one has.
 */
export async function unfinishedBackfill(s: Session, row: MigrationRow): Promise<{ ctx: PlanContext; row: MigrationRow | null } | null> {
  for (const m of familyOf(s, row)) {
    const r = await memberRow(s, row, m);
    if (!r?.backfill?.done) return { ctx: m, row: r };
  }
  return null;
}

/** The executor options for steps on a member's table (lock waits are reported against it). */
export function execFor(s: Session, m: PlanContext): ExecutorOptions {
  return { ...s.exec, table: m.facts.table.qualifiedName };
}

/** Runs each member's steps (planned from the live state of its table), member by member. */
export async function runForEachMember(s: Session, row: MigrationRow, plan: (ctx: PlanContext, live: LiveState) => Step[]): Promise<ExecutionStats> {
  const members = familyOf(s, row);
  const liveOf = await familyLive(s, members);
  const total: ExecutionStats = { statements: 0, lockRetries: 0 };
  for (const m of members) {
    const stats = await runSteps(s.db, plan(m, liveOf(m)), execFor(s, m));
    total.statements += stats.statements;
    total.lockRetries += stats.lockRetries;
  }
  return total;
}

/**
 * The remove of an expand child: undo what `plan` lists, only while the migration is in
 * expand (from cutover on, its objects are the table's real ones and stay).
 */
export function removeWhileExpanding(plan: (ctx: PlanContext, live: LiveState) => Step[]): (props: ChildInputs, log: Log) => Promise<void> {
  return (props, log) =>
    withSession(props, log, async (s) => {
      if (!s.row || s.row.stage !== "expand") return;
      await runForEachMember(s, s.row, plan);
    });
}

/**
 * The read (refresh) of an expand child: null before the state row exists; from cutover on
 * just the stage (its objects are the table's real ones); in expand, what `report` finds in
 * the catalog (null when the child's objects are gone).
 */
export function readWhileExpanding(
  report: (s: Session, row: MigrationRow, state: LiveState) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>,
): (props: ChildInputs) => Promise<Record<string, unknown> | null> {
  return (props) =>
    withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      if (s.row.stage !== "expand") return { stage: s.row.stage };
      return report(s, s.row, await live(s));
    });
}
