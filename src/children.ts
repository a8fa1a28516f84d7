import type { Stage } from "./spec";

/**
 * The child resources of a ColumnTypeChange, in the order they run: the one home of their
 * kinds, Pulumi type names (`pulumi-nodejs:dynamic/pgshift:<type>`), the key of their SQL in
 * the plan and the component's `statements` output, and the first stage in which each exists.
 * The type names and the component's child names (`<name>-<kind>`) are resource identity:
 * never rename them.
 */
export const CHILDREN = [
  // writes the state row before any DDL, then ADD COLUMN and the conversion function
  { kind: "shadow-column", type: "ShadowColumn", key: "shadowColumn", from: "expand" },
  // the trigger exists before the backfill starts: rows written from then on never need it
  { kind: "mirror-trigger", type: "MirrorTrigger", key: "mirrorTrigger", from: "expand" },
  { kind: "backfill", type: "Backfill", key: "backfill", from: "expand" },
  // index copies after the backfill: built first, every backfill UPDATE would maintain them too
  { kind: "shadow-indexes", type: "ShadowIndexes", key: "shadowIndexes", from: "expand" },
  // the stage flag maps onto Pulumi's verbs: advancing creates the child, stepping back
  // deletes it, and the delete is the rollback
  { kind: "cutover", type: "Cutover", key: "cutover", from: "cutover" },
  { kind: "contract", type: "Contract", key: "contract", from: "contract" },
] as const satisfies readonly { kind: string; type: string; key: string; from: Stage }[];

export type ChildKind = (typeof CHILDREN)[number]["kind"];
/** The key of a child's statements in the plan (camelCase of its kind). */
export type ChildKey = (typeof CHILDREN)[number]["key"];

export const CHILD_KINDS: readonly ChildKind[] = CHILDREN.map((c) => c.kind);
