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

// The migration's id is `migrationId`, never `id`: an error with an `id` thrown from a dynamic
// provider is taken by Pulumi for "created, but failed to initialize" (the message is dropped,
// the CLI shows "resource init failed", and the resource is recorded as created).
export class MigrationBusyError extends PgShiftError {
  constructor(readonly migrationId: string) {
    super(`another pgshift run holds the lock for ${migrationId}; wait for it to finish (one migration step at a time per column)`);
  }
}

export class IllegalTransitionError extends PgShiftError {}

export class ShadowIncompleteError extends PgShiftError {}

export class NotReversibleError extends PgShiftError {}

/**
 * The session ended under a running step: the backend was terminated (pg_terminate_backend),
 * the server shut down or restarted, or the network dropped. Every step is one transaction (an
 * interrupted concurrent index build is found INVALID and rebuilt, the backfill resumes from its
 * checkpoint), so running `pulumi up` again completes the stage.
 */
export class ConnectionLostError extends PgShiftError {
  constructor(readonly during: string, readonly reason: string, options?: { cause?: unknown }) {
    super(
      `the connection to the database was lost during ${during}: ${reason}. Nothing is left half-done (each step is one transaction; ` +
        `an interrupted index build is rebuilt, the backfill resumes from its last checkpoint): run pulumi up again once the server accepts connections.`,
      options,
    );
  }
}

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
  /** The session was terminated (pg_terminate_backend) or the server is shutting down, and kin. */
  adminShutdown: "57P01",
  crashShutdown: "57P02",
  cannotConnectNow: "57P03",
} as const;

/** SQLSTATE class 08 (connection exception) and the shutdown codes of class 57. */
export function isConnectionLoss(err: unknown): boolean {
  const code = sqlState(err);
  return !!code && (code.startsWith("08") || code === SqlState.adminShutdown || code === SqlState.crashShutdown || code === SqlState.cannotConnectNow);
}

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
  constructor(readonly migrationId: string, readonly owner: string, readonly wanted: string) {
    const id = migrationId;
    super(
      `${id} is run by ${owner}; ${wanted} cannot take it over (destroying either would undo the other's work). ` +
        `Keep the change in that one stack and remove this component. If that stack is gone for good, hand the migration over: ` +
        `UPDATE pgshift_migrations SET owner = '${wanted.replace(/'/g, "''")}' WHERE id = '${id.replace(/'/g, "''")}' (in the state schema).`,
    );
  }
}

/** The name given as the table is a relation of another kind (view, materialized view, foreign table, sequence ...). */
export class NotATableError extends PgShiftError {
  constructor(readonly table: string, readonly kind: string) {
    super(`${table} is a ${kind}; pgshift changes columns of tables. Name the table whose column should change (for a view: the table it reads from).`);
  }
}

/** The table is a partition: a column cannot be added to it alone, only to its partitioned table. */
export class PartitionTableError extends PgShiftError {
  constructor(readonly table: string, readonly parent: string) {
    super(
      `table ${table} is a partition of ${parent}; PostgreSQL cannot add a column to a partition alone, and pgshift does not change columns of partitioned tables yet. ` +
        `Change the column with a plain ALTER TABLE ${parent} ALTER COLUMN ... TYPE (it locks the table), or DETACH the partition first.`,
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

/** The table is a parent or a child in a (non-partition) inheritance tree. */
export class InheritanceTableError extends PgShiftError {
  constructor(readonly table: string, readonly parents: string[], readonly children: string[]) {
    super(
      `table ${table} ` +
        [parents.length ? `inherits from ${parents.join(", ")}` : "", children.length ? `is inherited by ${children.join(", ")}` : ""].filter(Boolean).join(" and ") +
        `; a column of an inheritance tree must have the same type in every table of it, so pgshift cannot change it in one table. ` +
        `Change the column with a plain ALTER TABLE on the topmost parent (it recurses into the children and locks them), or detach the tables first (ALTER TABLE ... NO INHERIT).`,
    );
  }
}

/** Two migrations would both rebuild one index or constraint (it covers both columns). */
export class OverlappingMigrationError extends PgShiftError {}

/** The table's own triggers or rules would fire for the backfill's UPDATEs, and pgshift cannot keep them from firing. */
export class BackfillWouldFireError extends PgShiftError {}

/** backfill.runner "database" on a server where pg_cron is not usable (the message says why). */
export class BackfillRunnerError extends PgShiftError {}

/** The migration's table now resolves differently than when it started (search_path or connection changed). */
export class TableIdentityChangedError extends PgShiftError {}

/** Values of the column do not survive old -> new -> old, and allowNarrowing is not set. */
export class LossyConversionError extends PgShiftError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly fromType: string,
    readonly toType: string,
    readonly failingKeys: string[],
    readonly example: { value: string; back: string },
  ) {
    super(
      `converting ${table}.${column} from ${fromType} to ${toType} loses information: ${failingKeys.length} value(s) do not come back unchanged when converted back ` +
        `(keys ${failingKeys.join(", ")}; e.g. ${JSON.stringify(example.value)} comes back as ${example.back}). ` +
        `Set allowNarrowing: true to accept the loss, or give \`using\` / \`reverseUsing\` expressions that round-trip every value.`,
    );
  }
}

/** `reverseUsing` (or the default cast back) does not compile; found at pre-flight, not at cutover. */
export class ReverseConversionError extends InvalidSpecError {
  constructor(readonly fromType: string, readonly toType: string, readonly detail: string, readonly reverseUsing: string | undefined) {
    super(
      `the reverse conversion (${reverseUsing === undefined ? `the default cast from ${toType}` : "reverseUsing"}) back to ${fromType} does not compile: ${detail}. ` +
        `The reverse trigger needs it from cutover on; fix ${reverseUsing === undefined ? "it by giving reverseUsing" : "reverseUsing"}.`,
    );
  }
}

/** A conversion expression calls a VOLATILE function: the backfill's value never equals a re-conversion. */
export class VolatileConversionError extends PgShiftError {
  constructor(readonly field: "using" | "reverseUsing", readonly functions: string[]) {
    super(
      `${field} calls VOLATILE function(s) ${functions.join(", ")}: each call can give another value, so the converted column can never be verified against the old one (cutover would be refused forever). ` +
        `Use an expression of IMMUTABLE or STABLE functions only; to fill in new values (random ids, timestamps, sequence numbers), write them into the table first and then convert deterministically.`,
    );
  }
}

/** The state schema does not exist, or the role cannot create or write the state table in it. */
export class StateSchemaError extends PgShiftError {
  constructor(readonly schema: string, message: string) {
    super(message);
  }
}

/** A foreign key to one of the migration's key's columns, from a column whose type cannot reference the new type. */
export interface IncompatibleForeignKey {
  /** Quoted, schema-qualified table that holds the foreign key. */
  table: string;
  name: string;
  /** Each column pair as `referencing type -> referenced type (after the change)`. */
  pairs: string[];
  /** PostgreSQL's reason, from the rolled-back probe. */
  detail: string;
}

/**
 * Foreign keys that reference the column could not be re-added in the cutover swap: PostgreSQL
 * has no equality operator between the referencing column's type and the new type that the
 * new key's unique index can use. Refused at pre-flight instead of after expand and backfill.
 */
export class IncompatibleForeignKeyError extends PgShiftError {
  constructor(readonly table: string, readonly column: string, readonly toType: string, readonly keys: IncompatibleForeignKey[]) {
    super(
      `${table}.${column} cannot become ${toType}: ${keys.length === 1 ? "a foreign key references" : `${keys.length} foreign keys reference`} it from a column of another type, ` +
        `and cutover could not add ${keys.length === 1 ? "it" : "them"} again (${keys.map((k) => `foreign key ${k.name} on ${k.table}: ${k.pairs.join(", ")}: ${k.detail}`).join("; ")}). ` +
        `referencingColumns "keep" leaves the referencing columns' types, and a foreign key must hold between the two types at every moment of the change: ` +
        `leave referencingColumns out (default "change"), so that every referencing column becomes ${toType} together with the key in one cutover. Nothing was changed.`,
    );
  }
}

/** How a publication includes a table: listed (`FOR TABLE`), `FOR ALL TABLES`, or `FOR TABLES IN SCHEMA`. */
export type PublicationScope = "table" | "all tables" | "schema";

/**
 * The table is in a logical-replication publication that publishes the column: subscribers would
 * receive the shadow column (which they do not have: logical replication does not carry the
 * ADD COLUMN, and the subscriber stops applying changes) and, at cutover, the renamed columns.
 */
export class PublishedTableError extends PgShiftError {
  constructor(readonly table: string, readonly column: string, readonly shadowColumn: string, readonly publications: { name: string; scope: PublicationScope }[]) {
    const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const ways = publications.map((p) =>
      p.scope === "table"
        ? `ALTER PUBLICATION ${ident(p.name)} DROP TABLE ${table} (or give it a column list without ${ident(column)}: ALTER PUBLICATION ${ident(p.name)} SET TABLE ${table} (<the other columns>))`
        : `publication ${ident(p.name)} is FOR ${p.scope === "all tables" ? "ALL TABLES" : "TABLES IN SCHEMA"}, so the table cannot be left out of it alone: recreate it FOR TABLE with the tables it should publish, leaving ${table} out (or listing its columns without ${ident(column)})`,
    );
    super(
      `table ${table} is published for logical replication by ${publications.map((p) => `publication ${ident(p.name)}`).join(", ")}, and ${publications.length === 1 ? "it publishes" : "they publish"} column ${ident(column)}: ` +
        `subscribers would receive pgshift's shadow column ${ident(shadowColumn)} (logical replication does not replicate ADD COLUMN, so a subscriber without it stops applying changes) and, at cutover, the renamed columns. ` +
        `Stop publishing the column for the migration: ${ways.join("; ")}. After contract, change the column's type on the subscribers too, publish it again and run ALTER SUBSCRIPTION ... REFRESH PUBLICATION there.`,
    );
  }
}

/**
 * A foreign key of a key family (src/plan/family.ts) is NOT VALID: rows may violate it, and the
 * cutover, which re-adds it on the new columns and validates it, would fail after its swap.
 */
export class FamilyForeignKeyNotValidError extends PgShiftError {
  constructor(readonly table: string, readonly name: string) {
    super(
      `foreign key ${name} on ${table} is NOT VALID (rows may reference keys that do not exist), and the key family's cutover must validate it on the new columns. ` +
        `Validate it first (ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}; fix or delete the orphan rows it reports), then run pulumi up again. Nothing was changed.`,
    );
  }
}

/**
 * A foreign key that references a member of a key family appeared after expand froze the family:
 * the cutover would have to move a key it did not prepare (no shadow column on its side).
 */
export class LateReferenceError extends PgShiftError {
  constructor(readonly id: string, readonly keys: { table: string; name: string; column: string }[]) {
    super(
      `cutover of ${id} refused: ${keys.map((k) => `foreign key ${k.name} on ${k.table} references ${k.column}`).join("; ")}, but ${keys.length === 1 ? "it" : "they"} did not exist when expand ` +
        `recorded the key family. Drop ${keys.length === 1 ? "it" : "them"} (${keys.map((k) => `ALTER TABLE ${k.table} DROP CONSTRAINT ${k.name}`).join("; ")}) and add ${keys.length === 1 ? "it" : "them"} again after contract, ` +
        `or remove the component at stage "expand" and add it again (pre-flight then takes the new column into the family). Nothing was changed.`,
    );
  }
}

/**
 * A column of the key family (it references the changed key, directly or through another
 * member) cannot change with it: the member's own pre-flight refusal, named.
 */
export class FamilyMemberError extends PgShiftError {
  constructor(readonly member: string, readonly via: string, readonly refusal: PgShiftError) {
    super(
      `${member} references the changed key (${via}), so it changes type with it as a member of the key family, and it cannot: ${refusal.message} ` +
        `(To leave the referencing columns' types as they are, set referencingColumns: "keep"; pre-flight then checks that every foreign key stays valid.)`,
      { cause: refusal },
    );
  }
}

/** A change of a column that is a member of another change's key family (its row belongs to that family's root). */
export class FamilyMemberBusyError extends PgShiftError {
  constructor(readonly migrationId: string, readonly root: string) {
    super(
      `${migrationId} is changing type as a member of the key family of ${root} (it references that key); the component of ${root} drives it through every stage. ` +
        `Remove this component, or take ${root} to "contract" first and then change ${migrationId} on its own (after deleting its finished record).`,
    );
  }
}

/**
 * PostgreSQL's parser as pgshift bundles it (libpg-query, PostgreSQL 18's grammar) rejects an
 * index or constraint definition that the server printed, so its copy on the new column cannot
 * be written (raised while planning, before any DDL).
 */
export class UnreadableDefinitionError extends PgShiftError {
  constructor(readonly what: string, readonly definition: string, readonly detail: string) {
    super(
      `pgshift cannot copy the ${what} ${definition} to the new column: PostgreSQL's parser (PostgreSQL 18 grammar, as bundled in libpg-query) rejects it (${detail}). Please report it; change this column by hand until then.`,
    );
  }
}
