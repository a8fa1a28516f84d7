import * as pulumi from "@pulumi/pulumi";

/** Errors already turned into refusals, so the same failure is reported as the same object. */
const refusals = new WeakSet<object>();

/**
 * Turns a planning failure (pre-flight, a refused stage, an inferred type that cannot be
 * inferred, a malformed connection) into the one error Pulumi reports for the whole component.
 *
 * Why each piece:
 * - a `pulumi.RunError`: the SDK's uncaught-error handlers print only its message. Any other
 *   error is printed as `Unhandled exception: <stack>` (inline programs) or util.inspect'ed
 *   with its own properties (`<ref *1> PgShiftError ... promise: Promise {...}`, the nodejs
 *   language host).
 * - one object for one failure (idempotent): the same rejection reaches every child through
 *   its inputs and the component's outputs; the handlers report an error once per identity.
 * - the message pinned: the serializer rewrites `err.message` with an
 *   `error serializing property "<k>": ` prefix for every property level it passes through.
 * - no `promise` property: debuggablePromise stores the last promise that carried the error on
 *   it, which keeps that promise chain alive and gets inspected along with the error.
 * - no stack: it points into the SDK's promise machinery, never at the user's code.
 * The original error stays reachable as `cause` (its class says which check refused).
 */
export function refusal(err: unknown): pulumi.RunError {
  if (typeof err === "object" && err !== null && refusals.has(err)) return err as pulumi.RunError;
  const message = err instanceof Error ? err.message : String(err);
  const refused = new pulumi.RunError(message, { cause: err });
  Object.defineProperty(refused, "message", { get: () => message, set: () => undefined, enumerable: false, configurable: false });
  Object.defineProperty(refused, "promise", { get: () => undefined, set: () => undefined, enumerable: false, configurable: false });
  refused.stack = message;
  refusals.add(refused);
  return refused;
}

/** `fn`'s result, or its failure as the component's refusal (for the body of an apply). */
export async function refusing<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw refusal(err);
  }
}
