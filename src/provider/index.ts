/**
 * The implementation behind pgshift's dynamic resources. The serialized provider stored in the
 * Pulumi state is a small shim (components/provider.ts) that requires this module by package
 * name, so the code that runs is always the installed pgshift, never a copy frozen into the
 * state, and no credential is captured in a closure. Every method connects with the secret
 * connection input, takes the migration's advisory lock, reads pg_catalog and the state row,
 * and only then acts.
 */
import { resolveTable } from "../catalog/introspect";
import { withConnection } from "../db/connection";
import { parseSpec } from "../spec";
import { asError, OwnedElsewhereError, PgShiftError, TableIdentityChangedError, TableNotFoundError } from "../errors";
import { qualified } from "../sql/quote";
import { CHILD_KINDS, type ChildInputs, type ChildOutputs, type TableRef } from "./inputs";
import { handlers } from "./handlers";
import { tableText } from "./session";

export type { ChildInputs, ChildOutputs, TableRef } from "./inputs";

interface CheckFailure {
  property: string;
  reason: string;
}

function log(line: string): void {
  // the dynamic-provider process's stderr is shown in the `pulumi up` output
  process.stderr.write(`${line}\n`);
}

/** parseSpec over a child's spec (its lock policy included), for its errors. */
function validateSpec(spec: ChildInputs["spec"]): void {
  parseSpec({ ...spec, ...spec.lock, stage: "expand" });
}

export async function check(_olds: Partial<ChildInputs>, news: ChildInputs): Promise<{ inputs: ChildInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  if (!CHILD_KINDS.includes(news.kind)) failures.push({ property: "kind", reason: `unknown child kind ${JSON.stringify(news.kind)}` });
  try {
    // the spec may contain unknowns during preview; it was already validated by the component
    if (typeof news.spec === "object" && news.spec !== null) validateSpec(news.spec);
  } catch (err) {
    failures.push({ property: "spec", reason: asError(err).message });
  }
  return { inputs: news, failures };
}

/**
 * Fields whose change means a different migration: replace (delete the old one first). The
 * table is not among them as text: its identity is the table it resolved to when the child
 * was created (see checkSameTable), so qualifying the name ("t" -> "app.t") changes nothing.
 * A new target (toType, using) of a started migration is refused by the planner instead.
 */
const IDENTITY: (keyof ChildInputs["spec"])[] = ["column", "stateSchema"];

/** The Pulumi engine's placeholder for a value not known during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Refuses a change of the table the migration acts on: `t` resolves through the connecting
 * role's search_path, so a new connection or search_path could point an expanded migration
 * at another table (which would then be expanded and cut over at once, while the first keeps
 * a shadow column, trigger and functions nothing tracks).
 */
async function checkSameTable(recorded: TableRef, news: ChildInputs): Promise<void> {
  if (JSON.stringify(news.connection).includes(UNKNOWN) || typeof news.spec?.table !== "string" || news.spec.table === UNKNOWN) return;
  const now = await withConnection(
    news.connection,
    (db) => resolveTable(db, news.spec.table).then((t) => qualified(t.schema, t.name)).catch((err) => (err instanceof TableNotFoundError ? null : Promise.reject(err))),
    "pgshift diff",
  );
  const was = qualified(recorded.schema, recorded.name);
  if (now === was) return;
  throw new TableIdentityChangedError(
    `this migration was started on table ${was}, but ${JSON.stringify(news.spec.table)} now ${now ? `resolves to ${now}` : "resolves to no table"} ` +
      `(the connection or its search_path changed). pgshift will not move a started migration to another table: write table: ${JSON.stringify(was)} (schema-qualified) to go on with it.`,
  );
}

export async function diff(_id: string, olds: ChildOutputs, news: ChildInputs): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (olds.table) await checkSameTable(olds.table, news);
  const replaces = IDENTITY.some((k) => !same(olds.spec?.[k], news.spec?.[k])) ? ["spec"] : [];
  // `pulumi refresh` records what the catalog says in result.drift (a dropped index, an
  // unfinished backfill); the next `pulumi up` then repairs it by running the child again
  const drift = Array.isArray(olds.result?.drift) && olds.result.drift.length > 0;
  const changes =
    replaces.length > 0 ||
    drift ||
    !same(olds.spec, news.spec) ||
    !same(olds.statements, news.statements) ||
    !same(olds.connection, news.connection) ||
    !same(olds.owner, news.owner) ||
    // a step back that the Cutover child's delete may not do (src/provider/inputs.ts)
    news.rollBack === true;
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
}

function resourceId(inputs: ChildInputs): string {
  return `${inputs.spec.table}.${inputs.spec.column}/${inputs.kind}`;
}

/**
 * Runs the child's handler on its table (`recorded` when the child was created, else resolved
 * now, once) and records that table in the outputs.
 */
async function apply(inputs: ChildInputs, recorded: TableRef | undefined): Promise<ChildOutputs> {
  // again here, before connecting: a spec that skipped check (a JS caller, a state written by
  // an older pgshift with weaker rules) must not reach any DDL. (delete does not re-validate:
  // undoing an old migration must stay possible.)
  validateSpec(inputs.spec);
  const withTable = { ...inputs, table: recorded ?? (await resolveOnce(inputs)) };
  const result = await handlers[inputs.kind].apply(withTable, log);
  return { ...withTable, result };
}

async function resolveOnce(inputs: ChildInputs): Promise<TableRef> {
  return withConnection(inputs.connection, async (db) => {
    const t = await resolveTable(db, tableText(inputs));
    return { schema: t.schema, name: t.name };
  }, `pgshift ${inputs.kind}`);
}

/**
 * Result fields recorded once, when the child first did its work (the Cutover's `cutoverAt`):
 * an update (new code, a new connection) or a refresh keeps the first value.
 */
const RECORDED_ONCE = ["cutoverAt"] as const;

function keepRecorded(old: Record<string, unknown> | undefined, next: Record<string, unknown>): Record<string, unknown> {
  const kept = RECORDED_ONCE.filter((k) => old?.[k] !== undefined).map((k) => [k, old![k]]);
  return { ...next, ...Object.fromEntries(kept) };
}

function rethrow(err: unknown): never {
  // keep our messages exactly as written; anything else gets context
  if (err instanceof PgShiftError) throw err;
  const e = asError(err);
  throw new Error(`pgshift: ${e.message}`, { cause: e });
}

export async function create(inputs: ChildInputs): Promise<{ id: string; outs: ChildOutputs }> {
  try {
    return { id: resourceId(inputs), outs: await apply(inputs, undefined) };
  } catch (err) {
    rethrow(err);
  }
}

export async function update(_id: string, olds: ChildOutputs, news: ChildInputs): Promise<{ outs: ChildOutputs }> {
  try {
    // children created before the table was recorded resolve it now, once
    const outs = await apply(news, olds.table);
    return { outs: { ...outs, result: keepRecorded(olds.result, outs.result) } };
  } catch (err) {
    rethrow(err);
  }
}

export async function remove(_id: string, props: ChildOutputs): Promise<void> {
  try {
    await handlers[props.kind].remove(props, log);
  } catch (err) {
    // the table was dropped after (or instead of) the migration: there is nothing to undo
    if (err instanceof TableNotFoundError) {
      log(`pgshift: ${props.spec.table} no longer exists; nothing to remove for ${props.kind}`);
      return;
    }
    // another owner runs the migration: removing this (refused) claim must not undo its work
    if (err instanceof OwnedElsewhereError) {
      log(`pgshift: ${err.migrationId} is run by ${err.owner}; removing ${props.kind} of ${err.wanted} leaves it untouched`);
      return;
    }
    rethrow(err);
  }
}

export async function read(id: string, props: ChildOutputs): Promise<{ id?: string; props?: ChildOutputs }> {
  try {
    const result = await handlers[props.kind].read(props);
    return result === null ? {} : { id, props: { ...props, result: keepRecorded(props.result, result) } };
  } catch (err) {
    if (err instanceof TableNotFoundError) return {};
    if (err instanceof OwnedElsewhereError) return { id, props };
    rethrow(err);
  }
}
