import * as pulumi from "@pulumi/pulumi";
import { progressText } from "../src/backfill/progress";
import { CHILDREN, type ChildKey } from "../src/children";
import { planMigration, type MigrationPlan } from "../src/planning/planMigration";
import { parseSpec, stageIndex, type BackfillOptions, type ColumnChangeSpec, type Stage } from "../src/spec";
import { resolveConnection, type ConnectionArg } from "./connection";
import { MigrationChild } from "./MigrationChild";
import { refusal, refusing } from "./refusal";

export interface ColumnTypeChangeArgs {
  /** Table, optionally schema-qualified: `"contentcuration_file"`, `"app.file"`, `'"My Schema"."T"'`. */
  readonly table: string;
  /** The column whose type changes; its name stays the same. */
  readonly column: string;
  /** The new type, as in ALTER COLUMN ... TYPE: `"bigint"`, `"uuid"`, `"numeric(20,2)"`. */
  readonly toType: pulumi.Input<string>;
  /**
   * How far the change goes: "expand" (shadow column, trigger, backfill, index copies; the
   * application sees nothing), "cutover" (the column has the new type; reversible),
   * "contract" (the old column is dropped; final). Promote it one stage per `pulumi up`.
   */
  readonly stage: Stage;
  /**
   * Database connection (a secret): a connection string / URL or fields. Default: the stack
   * config keys of @pulumi/postgresql (`postgresql:host`, `port`, `username`, `password`,
   * `database`, `sslmode`), then the PG* environment variables.
   */
  readonly connection?: pulumi.Input<ConnectionArg>;
  /** SQL expression over the old column (by its name) giving the new value, as in ALTER ... USING. Default: a cast. */
  readonly using?: string;
  /** SQL expression over the new column (by its name) giving the old type's value, for the reverse trigger after cutover. Default: a cast. */
  readonly reverseUsing?: string;
  /** Allow a change that can lose values (bigint -> int, varchar(64) -> varchar(32)). Default false; pre-flight still checks every value. */
  readonly allowNarrowing?: boolean;
  /**
   * The columns whose foreign keys reference this one (transitively, in any schema): "change"
   * (default) gives every one of them the new type too, in one family of migrations with one
   * cutover; "keep" leaves their types (refused unless every foreign key stays valid; an integer
   * child of a key that becomes bigint then keeps integer's ceiling).
   */
  readonly referencingColumns?: "change" | "keep";
  /** Backfill tuning; see BackfillOptions for each default. */
  readonly backfill?: BackfillOptions;
  /** lock_timeout of the first attempt of every statement that takes a strong lock, ms. Default 100. */
  readonly lockTimeoutMs?: number;
  /** Attempts per statement before giving up (the timeout doubles each time). Default 10. */
  readonly lockRetries?: number;
  /** Ceiling of the escalating lock_timeout, ms. Default 5000. */
  readonly maxLockTimeoutMs?: number;
  /** Schema of pgshift's state table (pgshift_migrations). Default: the table's schema. */
  readonly stateSchema?: string;
}

/**
 * Changes the type of a live PostgreSQL column without downtime, one stage per `pulumi up`:
 * expand -> cutover -> contract. Children: ShadowColumn, MirrorTrigger, Backfill,
 * ShadowIndexes (always), Cutover (stage >= cutover), Contract (stage = contract).
 */
export class ColumnTypeChange extends pulumi.ComponentResource {
  /** The validated arguments, defaults filled in. */
  readonly spec: pulumi.Output<ColumnChangeSpec>;
  /** Name of the shadow column while the change is in expand. */
  readonly shadowColumn: pulumi.Output<string>;
  /** Every SQL statement the children run, by child, as planned from the catalog. */
  readonly statements: pulumi.Output<MigrationPlan["statements"]>;
  /** Rows the backfill scanned and updated. */
  readonly backfill: pulumi.Output<Record<string, unknown>>;
  /**
   * Where the backfill stands, for a PR bot: `backfill in progress: 60,000 of 200,000 rows
   * (30.0%)` while a time budget (backfill.maxDurationMs) keeps it spread over several
   * deploys, `backfill done: 200,000 rows` once it has finished.
   */
  readonly backfillProgress: pulumi.Output<string>;
  /** The stage the database has reached, as recorded in the state table when this program ran. */
  readonly recordedStage: pulumi.Output<Stage | null>;
  /**
   * Whether cutover -> expand is still lossless. Turns false when a value written after
   * cutover does not fit the old type (the write succeeds; the rollback is then refused).
   */
  readonly reversible: pulumi.Output<boolean>;
  readonly irreversibleReason: pulumi.Output<string | null>;
  /** The other columns of the key family that change with this one (`schema.table.column`), empty without one. */
  readonly family: pulumi.Output<string[]>;
  /**
   * The child resources by key (src/children.ts): the four of expand always, `cutover` when
   * stage is "cutover" or "contract", `contract` when stage is "contract".
   */
  readonly children: Partial<Record<ChildKey, MigrationChild>>;

  constructor(name: string, args: ColumnTypeChangeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgshift:index:ColumnTypeChange", name, {}, opts);
    // validate everything but the (possibly inferred) type now, so mistakes fail before any I/O
    parseSpec({ ...args, toType: typeof args.toType === "string" ? args.toType : "bigint" });
    // A failure from here on (an inferred toType that does not parse, the pre-flight, a refused
    // stage) becomes one refusal (see ./refusal): the same object rejects every child's inputs
    // and the component's outputs, and Pulumi prints its message once, as written.
    const spec = pulumi.output(args.toType).apply((toType) => {
      try {
        return parseSpec({ ...args, toType });
      } catch (err) {
        throw refusal(err);
      }
    });
    this.spec = spec;
    const connection = resolveConnection(args.connection);
    // the migration's owner: a second stack or component that runs the same change is refused
    const owner = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
    // planning reads the catalog (never writes), once; the plan holds no secret, so unwrap it for preview
    // (its warnings are logged here, inside the one apply: every extra Output derived from a
    // refused plan would report the refusal once more)
    const plan = pulumi.unsecret(
      pulumi.all([connection, spec]).apply(([c, s]) =>
        refusing(async () => {
          const planned = await planMigration(c, s, owner);
          for (const w of planned.warnings) pulumi.log.warn(w, this);
          if (planned.family.length) pulumi.log.info(`${planned.id} changes type with its key family: ${planned.family.join(", ")} (one cutover for all)`, this);
          return planned;
        }),
      ),
    );
    // every child input comes from the one plan Output, so a refusal rejects them all with one
    // error (combining it with other Outputs made the engine report it once per combination)
    const common = { connection, spec: plan.childSpec, owner, observed: plan.observed };
    // one child per entry of CHILDREN that the stage reaches, each after the one before it
    const children: Partial<Record<ChildKey, MigrationChild>> = {};
    let previous: MigrationChild | undefined;
    for (const c of CHILDREN.filter((c) => stageIndex(args.stage) >= stageIndex(c.from))) {
      // the soak policy needs the cutover's time where it judges the contract: on the Contract child
      const cutoverAt = c.kind === "contract" ? { cutoverAt: children.cutover!.result.apply((r) => (typeof r?.cutoverAt === "string" ? r.cutoverAt : null)) } : {};
      // the step back to expand, also when Pulumi never recorded the Cutover (a crash right after its swap)
      const rollBack = c.kind === "shadow-indexes" ? { rollBack: plan.apply((p) => args.stage === "expand" && p.recordedStage === "cutover") } : {};
      previous = new MigrationChild(c.kind, `${name}-${c.kind}`, { ...common, ...cutoverAt, ...rollBack, statements: plan.statements[c.key] }, {
        parent: this,
        ...(previous ? { dependsOn: [previous] } : {}),
      });
      children[c.key] = previous;
    }
    this.children = children;
    this.shadowColumn = plan.shadowColumn;
    this.statements = plan.statements;
    this.backfill = children.backfill!.result;
    // the result's own phrase; a result written by an older pgshift has only done and rowsScanned
    this.backfillProgress = this.backfill.apply((r) =>
      typeof r?.progress === "string" ? r.progress : progressText({ scanned: Number(r?.rowsScanned ?? 0), total: null, done: r?.done === true }),
    );
    this.recordedStage = plan.recordedStage;
    this.reversible = plan.reversible;
    this.irreversibleReason = plan.irreversibleReason;
    this.family = plan.family;
    this.registerOutputs({
      shadowColumn: this.shadowColumn,
      statements: this.statements,
      backfill: this.backfill,
      backfillProgress: this.backfillProgress,
      recordedStage: this.recordedStage,
      reversible: this.reversible,
      irreversibleReason: this.irreversibleReason,
      family: this.family,
    });
  }
}
