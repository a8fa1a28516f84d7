/**
 * pgshift's policy pack: `pulumi preview --policy-pack node_modules/pgshift/dist/policy`.
 * The rules are pure (src/policy/rules.ts); this file only hands them the child resources'
 * inputs and the pack's config. See README "Policy pack".
 */
import { PolicyPack, UnknownValueError, type ReportViolation, type ResourceValidationArgs, type ResourceValidationPolicy } from "@pulumi/policy";
import type { PolicyConfigSchema } from "@pulumi/policy";
import {
  DEFAULT_POLICY_SETTINGS,
  childKindOf,
  lockViolations,
  sameTableWarnings,
  soakViolation,
  stageSkip,
  throttleViolation,
  type ChildView,
  type MigrationInUpdate,
  type PolicySettings,
} from "../src/policy/rules";

type Setting = keyof PolicySettings;

/** The config schema of the settings a policy reads, their defaults from DEFAULT_POLICY_SETTINGS. */
function schemaOf(settings: Record<string, string>): PolicyConfigSchema {
  const properties = Object.fromEntries(
    Object.entries(settings).map(([key, description]) => [key, { type: "integer" as const, minimum: 0, default: DEFAULT_POLICY_SETTINGS[key as Setting], description }]),
  );
  return { properties };
}

function settingsOf(args: ResourceValidationArgs): PolicySettings {
  return { ...DEFAULT_POLICY_SETTINGS, ...args.getConfig<Partial<PolicySettings>>() };
}

/** The child's view, or undefined for any resource that is not a pgshift child. */
function childOf(args: ResourceValidationArgs): ChildView | undefined {
  const kind = childKindOf(args.type);
  if (!kind) return undefined;
  const p = args.props;
  // cutoverAt read only by the rule that needs it: in a preview where the Cutover child changes
  // too it is unknown, and reading an unknown makes a policy advisory ("can't run during preview")
  return {
    kind,
    spec: p.spec,
    observed: p.observed,
    get cutoverAt() {
      return p.cutoverAt;
    },
  };
}

/** A mandatory policy over pgshift's children: `check` returns the violations of one child. */
function childPolicy(
  name: string,
  description: string,
  check: (child: ChildView, settings: PolicySettings) => (string | undefined)[],
  configSchema?: PolicyConfigSchema,
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    ...(configSchema ? { configSchema } : {}),
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
      const child = childOf(args);
      if (!child) return;
      for (const message of check(child, settingsOf(args))) if (message) reportViolation(message);
    },
  };
}

/** Whether a stack resource's `result` output is missing or unknown: it is created or changed in this update (preview). */
function changing(props: Record<string, unknown>): boolean {
  try {
    return props.result === undefined || props.result === null;
  } catch (err) {
    if (err instanceof UnknownValueError) return true;
    throw err;
  }
}

new PolicyPack("pgshift", {
  policies: [
    childPolicy(
      "pgshift-one-stage-per-update",
      "A column type change advances at most one stage per update (expand, then cutover, then contract).",
      (child) => [stageSkip(child)],
    ),
    childPolicy(
      "pgshift-cutover-soak",
      "Contract only after cutover has been live for the soak time.",
      (child, s) => [soakViolation(child, new Date(), s.soakSeconds)],
      schemaOf({ soakSeconds: "How long cutover must have been live before contract, in seconds." }),
    ),
    childPolicy(
      "pgshift-lock-settings",
      "lock_timeout and lock retries are on and within their ceilings.",
      // once per migration: every migration has a ShadowColumn child, and all children carry the same spec
      (child, s) => (child.kind === "shadow-column" ? lockViolations(child.spec.lock, s) : []),
      schemaOf({
        maxLockTimeoutMs: "Ceiling for lockTimeoutMs and maxLockTimeoutMs, in ms.",
        minLockRetries: "Fewest attempts per statement (1: no retry).",
        maxLockRetries: "Most attempts per statement.",
      }),
    ),
    childPolicy(
      "pgshift-backfill-throttle",
      "The backfill of a large table runs with at least one throttle.",
      (child, s) => [throttleViolation(child, s)],
      schemaOf({ maxUnthrottledTableBytes: "Largest table (pg_table_size, bytes) whose backfill may run with no throttle." }),
    ),
    {
      name: "pgshift-one-change-per-table",
      description: "Warns when two column type changes touch the same table in one update.",
      enforcementLevel: "advisory",
      validateStack: (args, reportViolation) => {
        const migrations = new Map<string, MigrationInUpdate>();
        for (const r of args.resources) {
          const kind = childKindOf(r.type);
          const component = r.parent?.urn;
          if (!kind || !component) continue;
          const p = r.props;
          // `observed` since this pack exists; `table` (recorded by the provider) for older children
          const table = p.observed?.table ?? p.table;
          if (!table) continue;
          const m = migrations.get(component) ?? { component, table, column: p.spec.column, changing: false };
          migrations.set(component, { ...m, changing: m.changing || changing(p) });
        }
        for (const message of sameTableWarnings([...migrations.values()])) reportViolation(message);
      },
    },
  ],
});
