/**
 * Reading the numeric environment variables of `npm run bench` and `npm run demo`
 * (BENCH_ROWS, DEMO_ROWS, the writer pauses, ...): one parser, so both accept the same
 * spellings ("1_000_000", "1,000,000") and refuse the same mistakes with the same message.
 */

/**
 * A mistake in how the script was invoked (a bad variable), not a failure of what it runs:
 * the demo prints only its message, without a stack.
 */
export class UsageError extends Error {}

/** The integer in `process.env[name]`, or `fallback` when it is unset or blank. */
export function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.replace(/[_,]/g, ""));
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}
