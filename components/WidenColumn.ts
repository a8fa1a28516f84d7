import * as pulumi from "@pulumi/pulumi";
import { inferWidening } from "../src/planning/widen";
import { ColumnTypeChange, type ColumnTypeChangeArgs } from "./ColumnTypeChange";
import { resolveConnection } from "./connection";
import { refusing } from "./refusal";

export interface WidenColumnArgs extends Omit<ColumnTypeChangeArgs, "toType" | "using" | "reverseUsing" | "allowNarrowing"> {
  /** Target type; default: the next wider integer type (smallint -> integer, integer -> bigint), read from the catalog. */
  readonly toType?: "integer" | "bigint";
}

/**
 * A ColumnTypeChange preset for integer widenings (int -> bigint, smallint -> int), with the
 * target type inferred from the column. The casts cannot fail, so pre-flight skips the value
 * scan.
 */
export class WidenColumn extends ColumnTypeChange {
  constructor(name: string, args: WidenColumnArgs, opts?: pulumi.ComponentResourceOptions) {
    const connection = resolveConnection(args.connection);
    const toType = args.toType ?? connection.apply((c) => refusing(() => inferWidening(c, args.table, args.column, args.stateSchema)));
    super(name, { ...args, connection, toType }, opts);
  }
}
