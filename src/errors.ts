/**
 * One error class per failure a user can act on. Each carries the names involved and a
 * message that says what to do; the provider and the component let them through as-is,
 * so the text is what `pulumi preview` / `pulumi up` prints.
 */
export class PgShiftError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The component's arguments are malformed (caught before any database access). */
export class InvalidSpecError extends PgShiftError {}

export class TableNotFoundError extends PgShiftError {
  constructor(readonly table: string) {
    super(`table ${table} does not exist (or is not visible on the search_path of the connecting role)`);
  }
}

export class ColumnNotFoundError extends PgShiftError {
  constructor(readonly table: string, readonly column: string) {
    super(`column "${column}" does not exist in table ${table}`);
  }
}

export class UnknownTypeError extends PgShiftError {
  constructor(readonly typeName: string) {
    super(`unknown target type "${typeName}": PostgreSQL has no type of that name (check the spelling, or create the type first)`);
  }
}

export class NoUsableKeyError extends PgShiftError {
  constructor(readonly table: string, readonly detail: string) {
    super(`table ${table} has no usable key for a batched backfill: ${detail}. Add a PRIMARY KEY (or a UNIQUE index over NOT NULL columns) first.`);
  }
}

export class NarrowingChangeError extends PgShiftError {
  constructor(readonly fromType: string, readonly toType: string, readonly reason: string) {
    super(`changing ${fromType} to ${toType} narrows the column (${reason}); values may not fit. Set allowNarrowing: true to opt in (pre-flight still checks every existing value).`);
  }
}

export class ConversionFailedError extends PgShiftError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly toType: string,
    readonly failingKeys: string[],
    readonly firstError: string,
  ) {
    super(
      `${failingKeys.length === 0 ? "some" : failingKeys.length} existing value(s) of ${table}.${column} do not convert to ${toType}` +
        (failingKeys.length ? `; first failing keys: ${failingKeys.join(", ")}` : "") +
        `; first error: ${firstError}. Fix those rows or give a \`using\` expression that converts them.`,
    );
  }
}

export class UniqueAfterConversionError extends PgShiftError {
  constructor(readonly table: string, readonly column: string, readonly toType: string, readonly index: string, readonly values: string[]) {
    super(
      `converting ${table}.${column} to ${toType} makes rows equal under unique index ${index}: converted keys ${values.join(", ")} occur more than once. ` +
        `Fix those rows (or the \`using\` expression) first.`,
    );
  }
}

export class DependentObjectsError extends PgShiftError {
  constructor(readonly table: string, readonly column: string, readonly dependents: string[], readonly advice: string) {
    super(`column ${table}.${column} is used by ${dependents.join(", ")}. ${advice}`);
  }
}

export class UnsupportedColumnError extends PgShiftError {}

export class LockTimeoutError extends PgShiftError {
  constructor(readonly what: string, readonly attempts: number, readonly blockers: string) {
    super(
      `gave up on ${what} after ${attempts} attempts: each time another session held a conflicting lock longer than the lock_timeout` +
        (blockers ? ` (blocking sessions: ${blockers})` : "") +
        `. Nothing was left half-done; run pulumi up again when the blocking transactions have finished, or raise lockTimeoutMs / lockRetries.`,
    );
  }
}

export class MigrationBusyError extends PgShiftError {
  constructor(readonly id: string) {
    super(`another pgshift run holds the lock for ${id}; wait for it to finish (one migration step at a time per column)`);
  }
}

export class IllegalTransitionError extends PgShiftError {}

export class ShadowIncompleteError extends PgShiftError {}

export class NotReversibleError extends PgShiftError {}

/** SQLSTATE codes pgshift branches on (never on message text). */
export const SqlState = {
  /** lock_timeout expired while waiting for a lock. */
  lockNotAvailable: "55P03",
  deadlockDetected: "40P01",
  serializationFailure: "40001",
  undefinedObject: "42704",
  undefinedTable: "42P01",
  undefinedColumn: "42703",
  /** statement_timeout or user cancel. */
  queryCanceled: "57014",
} as const;

export function sqlState(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof (err as { code: unknown }).code === "string"
    ? (err as { code: string }).code
    : undefined;
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Another stack (or another component) already runs this migration. */
export class OwnedElsewhereError extends PgShiftError {
  constructor(readonly id: string, readonly owner: string, readonly wanted: string) {
    super(
      `${id} is run by ${owner}; ${wanted} cannot take it over (destroying either would undo the other's work). ` +
        `Keep the change in that one stack and remove this component. If that stack is gone for good, hand the migration over: ` +
        `UPDATE pgshift_migrations SET owner = '${wanted.replace(/'/g, "''")}' WHERE id = '${id.replace(/'/g, "''")}' (in the state schema).`,
    );
  }
}

/** A name pgshift would create is already taken by an object it did not create. */
export class NameTakenError extends PgShiftError {
  constructor(readonly table: string, readonly taken: { kind: string; name: string }[]) {
    super(
      `pgshift would create ${taken.map((t) => `${t.kind} "${t.name}"`).join(", ")} for ${table}, but ${taken.length === 1 ? "that name is" : "those names are"} already taken ` +
        `by objects pgshift did not create. pgshift never adopts or drops an object it did not make: rename ${taken.length === 1 ? "it" : "them"} first.`,
    );
  }
}

/** Two migrations would both rebuild one index or constraint (it covers both columns). */
export class OverlappingMigrationError extends PgShiftError {}

/** The table's own triggers or rules would fire for the backfill's UPDATEs, and pgshift cannot keep them from firing. */
export class BackfillWouldFireError extends PgShiftError {}

/** The migration's table now resolves differently than when it started (search_path or connection changed). */
export class TableIdentityChangedError extends PgShiftError {}
