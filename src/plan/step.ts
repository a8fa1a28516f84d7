/**
 * One unit of work in a plan. Plans are pure data: the same list is what `pulumi preview`
 * shows and what the provider executes.
 */
export interface Step {
  /** What the step does, in words (shown in progress output and errors). */
  description: string;
  /**
   * "transaction": every statement in one transaction under SET LOCAL lock_timeout, retried as
   * a whole. "alone": a single statement outside any transaction (CREATE/DROP INDEX
   * CONCURRENTLY, VALIDATE of a large constraint), with a session lock_timeout.
   */
  mode: "transaction" | "alone";
  sql: string[];
  /**
   * Statements run after a failed attempt, before the retry: a CREATE INDEX CONCURRENTLY that
   * hit lock_timeout leaves an INVALID index that must be dropped first.
   */
  onRetry?: string[];
}

export function transaction(description: string, ...sql: string[]): Step {
  return { description, mode: "transaction", sql };
}

export function alone(description: string, sql: string, onRetry?: string[]): Step {
  return { description, mode: "alone", sql: [sql], ...(onRetry ? { onRetry } : {}) };
}

/** The statements of a plan, as shown in `pulumi preview`. */
export function statementsOf(steps: Step[]): string[] {
  return steps.flatMap((s) => s.sql);
}

/**
 * How cutover, its rollback and contract are planned: steps that take no strong lock (run
 * first), one short swap transaction under lock_timeout with retries (the moment the
 * application sees the change), and steps after it.
 */
export interface SwapPlan {
  before: Step[];
  swap: Step;
  after: Step[];
}

/** A swap plan's steps in the order they run. */
export function swapSteps(plan: SwapPlan): Step[] {
  return [...plan.before, plan.swap, ...plan.after];
}
