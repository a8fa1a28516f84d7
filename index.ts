/**
 * pgshift: zero-downtime PostgreSQL column type changes as Pulumi components.
 *
 *   import { ColumnTypeChange, WidenColumn } from "pgshift";
 */
export { ColumnTypeChange } from "./components/ColumnTypeChange";
export type { ColumnTypeChangeArgs } from "./components/ColumnTypeChange";
export { WidenColumn } from "./components/WidenColumn";
export type { WidenColumnArgs } from "./components/WidenColumn";
export type { ConnectionArg } from "./components/connection";
export type { ConnectionConfig } from "./src/db/connection";
export type { BackfillOptions, ColumnChangeSpec, Stage } from "./src/spec";
export { STAGES } from "./src/spec";
export * from "./src/errors";
