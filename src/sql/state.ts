import type { Stage } from "../spec";
import { literal, qualified } from "./quote";

/**
 * pgshift's state table: one row per migration (its stage, the facts it was planned from, the
 * backfill checkpoint, whether it is still reversible, its owner). It lives in the migrated
 * table's schema by default (a table owner can create it there without CREATE on the
 * database), or in `stateSchema`. The statements here are pure text; src/db/state.ts runs them.
 */
export const STATE_TABLE = "pgshift_migrations";

export function stateTableName(schema: string): string {
  return qualified(schema, STATE_TABLE);
}

/**
 * Records the stage a migration reached. The swaps end with it, in their own transaction, so
 * the row can never disagree with the columns.
 */
export function setStageSql(stateSchema: string, id: string, stage: Stage): string {
  return `UPDATE ${stateTableName(stateSchema)} SET stage = ${literal(stage)}, updated_at = now() WHERE id = ${literal(id)}`;
}

/**
 * A batch's move of the checkpoint, merged into the row as it is when the batch's transaction
 * gets its lock, so that workers committing batches of other parts at once (backfill.workers)
 * never write over each other: $2 the fields to set (one worker's whole progress), or, with
 * `part`, the part's progress for `ranges[$5]`; $3 and $4 the rows the batch scanned and
 * updated, added to the totals. Returns the checkpoint as it now is.
 */
export function moveCheckpointSql(stateSchema: string, part: boolean): string {
  const moved = part ? `jsonb_set(backfill, ARRAY['ranges', $5::int::text], $2::jsonb)` : `backfill || $2::jsonb`;
  return (
    `UPDATE ${stateTableName(stateSchema)} SET backfill = ${moved} || jsonb_build_object(` +
    `'rowsScanned', (backfill->>'rowsScanned')::bigint + $3::bigint, 'rowsUpdated', (backfill->>'rowsUpdated')::bigint + $4::bigint, ` +
    `'batches', coalesce((backfill->>'batches')::bigint, 0) + 1), updated_at = now() WHERE id = $1 RETURNING backfill`
  );
}

/** Counts a VACUUM the client runner ran in the checkpoint ($1 the id); returns the checkpoint as it now is. */
export function countVacuumSql(stateSchema: string): string {
  return `UPDATE ${stateTableName(stateSchema)} SET backfill = backfill || jsonb_build_object('vacuums', coalesce((backfill->>'vacuums')::bigint, 0) + 1), updated_at = now() WHERE id = $1 RETURNING backfill`;
}

/** Counts a throttle's pause in the checkpoint ($1 the id, $2 its ms), both runners; returns the checkpoint as it now is. */
export function countPauseSql(stateSchema: string): string {
  return (
    `UPDATE ${stateTableName(stateSchema)} SET backfill = backfill || jsonb_build_object('pauses', coalesce((backfill->>'pauses')::bigint, 0) + 1, ` +
    `'pausedMs', coalesce((backfill->>'pausedMs')::float8, 0) + $2::float8), updated_at = now() WHERE id = $1 RETURNING backfill`
  );
}

/** The backfill checkpoint ($1 the id, $2 the checkpoint as JSON), in the batch's transaction. */
export function saveCheckpointSql(stateSchema: string): string {
  return `UPDATE ${stateTableName(stateSchema)} SET backfill = $2, updated_at = now() WHERE id = $1`;
}
