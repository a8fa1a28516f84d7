/**
 * The implementation behind pgshift's dynamic resources. The serialized provider stored in the
 * Pulumi state is a small shim (components/provider.ts) that requires this module by package
 * name, so the code that runs is always the installed pgshift, never a copy frozen into the
 * state, and no credential is captured in a closure. Every method connects with the secret
 * connection input, takes the migration's advisory lock, reads pg_catalog and the state row,
 * and only then acts.
 */
import { parseSpec } from "../spec";
import { asError, PgShiftError, TableNotFoundError } from "../errors";
import { STEP_KINDS, type StepInputs, type StepOutputs } from "./inputs";
import { handlers } from "./handlers";

export type { StepInputs, StepOutputs } from "./inputs";

interface CheckFailure {
  property: string;
  reason: string;
}

function log(line: string): void {
  // the dynamic-provider process's stderr is shown in the `pulumi up` output
  process.stderr.write(`${line}\n`);
}

/** parseSpec over a child's spec (its lock policy included), for its errors. */
function validateSpec(spec: StepInputs["spec"]): void {
  parseSpec({ ...spec, ...spec.lock, stage: "expand" });
}

export async function check(_olds: Partial<StepInputs>, news: StepInputs): Promise<{ inputs: StepInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  if (!STEP_KINDS.includes(news.kind)) failures.push({ property: "kind", reason: `unknown step kind ${JSON.stringify(news.kind)}` });
  try {
    // the spec may contain unknowns during preview; it was already validated by the component
    if (typeof news.spec === "object" && news.spec !== null) validateSpec(news.spec);
  } catch (err) {
    failures.push({ property: "spec", reason: asError(err).message });
  }
  return { inputs: news, failures };
}

/** Fields whose change means a different migration: replace (delete the old one first). */
const IDENTITY: (keyof StepInputs["spec"])[] = ["table", "column", "toType", "using", "stateSchema"];

export async function diff(_id: string, olds: StepOutputs, news: StepInputs): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const replaces = IDENTITY.some((k) => !same(olds.spec?.[k], news.spec?.[k])) ? ["spec"] : [];
  // `pulumi refresh` records what the catalog says in result.drift (a dropped index, an
  // unfinished backfill); the next `pulumi up` then repairs it by running the step again
  const drift = Array.isArray(olds.result?.drift) && olds.result.drift.length > 0;
  const changes =
    replaces.length > 0 ||
    drift ||
    !same(olds.spec, news.spec) ||
    !same(olds.statements, news.statements) ||
    !same(olds.connection, news.connection);
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
}

function resourceId(inputs: StepInputs): string {
  return `${inputs.spec.table}.${inputs.spec.column}/${inputs.kind}`;
}

async function apply(inputs: StepInputs): Promise<StepOutputs> {
  // again here, before connecting: a spec that skipped check (a JS caller, a state written by
  // an older pgshift with weaker rules) must not reach any DDL. (delete does not re-validate:
  // undoing an old migration must stay possible.)
  validateSpec(inputs.spec);
  const result = await handlers[inputs.kind].apply(inputs, log);
  return { ...inputs, result };
}

function rethrow(err: unknown): never {
  // keep our messages exactly as written; anything else gets context
  if (err instanceof PgShiftError) throw err;
  const e = asError(err);
  throw new Error(`pgshift: ${e.message}`, { cause: e });
}

export async function create(inputs: StepInputs): Promise<{ id: string; outs: StepOutputs }> {
  try {
    return { id: resourceId(inputs), outs: await apply(inputs) };
  } catch (err) {
    rethrow(err);
  }
}

export async function update(_id: string, _olds: StepOutputs, news: StepInputs): Promise<{ outs: StepOutputs }> {
  try {
    return { outs: await apply(news) };
  } catch (err) {
    rethrow(err);
  }
}

export async function remove(_id: string, props: StepOutputs): Promise<void> {
  try {
    await handlers[props.kind].remove(props, log);
  } catch (err) {
    // the table was dropped after (or instead of) the migration: there is nothing to undo
    if (err instanceof TableNotFoundError) {
      log(`pgshift: ${props.spec.table} no longer exists; nothing to remove for ${props.kind}`);
      return;
    }
    rethrow(err);
  }
}

export async function read(id: string, props: StepOutputs): Promise<{ id?: string; props?: StepOutputs }> {
  try {
    const result = await handlers[props.kind].read(props);
    return result === null ? {} : { id, props: { ...props, result } };
  } catch (err) {
    if (err instanceof TableNotFoundError) return {};
    rethrow(err);
  }
}
