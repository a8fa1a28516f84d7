import type { PlanContext } from "../plan/facts";
import { dollarQuote } from "../sql/dollarQuote";
import { literal, qualified } from "../sql/quote";
import { countPauseSql, stateTableName } from "../sql/state";
import { batchBoundSql, batchSessionSql, batchUpdateSql, commitProbeSql, DATABASE_LOAD_SQL, physicalBatchSql, physicalPassSql, tableBytesSql } from "./sql";
import { commitPauseMsSql, LOAD_CHECK_EVERY_MS, nextBatchSizeSql, replicationPauseMsSql } from "./throttle";

export function backfillProcedureName(ctx: PlanContext): string {
  return qualified(ctx.facts.table.schema, ctx.names.backfillProcedure);
}

/** Bounds of the adaptive batch size, in the order's unit (rows for keyset, pages for physical). */
export interface BatchBounds {
  min: number;
  max: number;
}

/**
 * The in-database backfill (backfill.runner "database"): a PROCEDURE that pg_cron calls and
 * that does what the client runner (run.ts) does, with the same statements: between batches the
 * same throttles (replicas' lag, long transactions, a commit's time, read at most once a second); each batch locks the state row, runs the batch from the checkpoint in it
 * (its `passes` - 1 passes before the last each COMMIT, and the state row is taken again before
 * the last), writes the
 * checkpoint (with the adaptive batch size, the time spent and, at the end, the table's size)
 * and COMMITs. It returns when the backfill is done or the checkpoint's runner is no longer
 * "database" (the client runner took over, or the job was removed). A lock timeout rolls back
 * that batch only (a sub-block) and retries after a pause. A procedure cannot VACUUM, and the
 * dead rows of a CALL still running are not in the statistics autovacuum reads (a backend
 * reports them when it goes idle): a second job VACUUMs the table instead (cron.ts).
 */
export function backfillProcedureSql(ctx: PlanContext, stateSchema: string, bounds: BatchBounds, physical: boolean, passes: number): string {
  const b = ctx.spec.backfill;
  const keys = ctx.facts.table.keyColumns;
  const upper = keys.map((_, i) => `cp->'upperKey'->>${i}`).join(", ");
  const last = keys.map((_, i) => `cp->'lastKey'->>${i}`).join(", ");
  const session = batchSessionSql(ctx).map((s) => `    ${s};\n`).join("");
  const lastOfBatch = keys.map((_, i) => `r.last->>${i}`).join(", ");
  const id = literal(ctx.names.id);
  const pages = `format('(%s,0)', cp->>'page'), format('(%s,0)', (cp->>'page')::bigint + size)`;
  /** The keyset statement for the checkpoint as it is: from the start of the key, or after its lastKey. */
  const byLastKey = (statement: (fromStart: boolean) => string) =>
    `IF jsonb_typeof(cp->'lastKey') IS DISTINCT FROM 'array' THEN\n` +
    `          ${statement(true)}\n` +
    `        ELSE\n` +
    `          ${statement(false)}\n` +
    `        END IF;`;
  // keyset: the batch's end first (its last key, r.last), which every pass of the batch updates up to
  const bound = byLastKey((fromStart) => `EXECUTE ${literal(batchBoundSql(ctx, fromStart, passes > 1))} INTO r USING ${upper}, size${fromStart ? "" : `, ${last}`};`) + `\n        scanned := r.scanned;`;
  const keysetUpdate = (pass: boolean) =>
    byLastKey((fromStart) => `EXECUTE ${literal(batchUpdateSql(ctx, fromStart, pass ? passes : undefined))} INTO n USING ${lastOfBatch}${fromStart ? "" : `, ${last}`}${pass ? ", r.from_tid, r.to_tid, pass" : ""};`);
  // physical: the first pass's count is the batch's (physicalPassSql)
  const physicalUpdate = (sql: string, using: string) => `EXECUTE ${literal(sql)} INTO r USING ${using};\n        n := r.updated;\n        scanned := coalesce(scanned, r.scanned);`;
  const passSql = physical ? physicalUpdate(physicalPassSql(ctx, passes), `${pages}, pass`) : keysetUpdate(true);
  const lastPass = physical ? physicalUpdate(physicalBatchSql(ctx), pages) : `IF r.last IS NOT NULL THEN\n          ${keysetUpdate(false)}\n        END IF;`;
  const retake =
    passes > 1
      ? `
    IF NOT locked_out THEN
      -- the passes' commits let the state row go: take it again, and leave this batch to the next round if another runner moved it meanwhile
      SELECT backfill INTO cp_now FROM ${stateTableName(stateSchema)} WHERE id = ${id} FOR UPDATE;
      IF cp_now IS NULL OR cp_now->'lastKey' IS DISTINCT FROM cp->'lastKey' OR cp_now->'page' IS DISTINCT FROM cp->'page' OR cp_now->>'runner' IS DISTINCT FROM 'database' THEN
        COMMIT;
        CONTINUE;
      END IF;
      cp := cp_now;
    END IF;`
      : "";
  const boundBlock = physical
    ? ""
    : `BEGIN
        ${bound}
    EXCEPTION WHEN lock_not_available THEN
      locked_out := true;
    END;
    `;
  const batch = `${boundBlock}-- the passes before the last (backfill.passes), each committed before the next begins: a pass finds room on a page only once the one before it has committed
    FOR pass IN 1..${passes - 1} LOOP
      EXIT WHEN locked_out;${physical ? "" : "\n      EXIT WHEN r.last IS NULL; -- (apart: r is not assigned when the bound was locked out)"}
      BEGIN
        ${passSql}
        rows_updated := rows_updated + n;
      EXCEPTION WHEN lock_not_available THEN
        locked_out := true;
      END;
      EXIT WHEN locked_out;
      COMMIT;
      PERFORM set_config('lock_timeout', '${ctx.spec.lock.lockTimeoutMs}', true);
${session.replace(/^ {4}/gm, "      ")}    END LOOP;${retake}
    IF NOT locked_out THEN
      BEGIN
        n := 0;
        ${lastPass}
        rows_updated := rows_updated + n;
      EXCEPTION WHEN lock_not_available THEN
        locked_out := true;
      END;
    END IF;`;
  const moved = physical
    ? `jsonb_build_object('page', (cp->>'page')::bigint + size, 'done', (cp->>'page')::bigint + size >= (cp->>'pages')::bigint)`
    : // as the client runner's: done when the batch came short or ended on the upper key
      `jsonb_build_object('lastKey', coalesce(r.last::jsonb, cp->'lastKey'), 'done', r.scanned < size OR coalesce(r.last::jsonb = cp->'upperKey', false))`;
  // the commit probe (backfill.maxCommitLatencyMs): a synchronous commit of a write of nothing, timed
  const probe =
    b.maxCommitLatencyMs > 0
      ? `
      IF pause_ms = 0 THEN
        ${commitProbeSql(stateSchema, ctx.names.id)};
        PERFORM set_config('synchronous_commit', 'on', true);
        t0 := clock_timestamp();
        COMMIT;
        pause_ms := ${commitPauseMsSql("extract(epoch FROM clock_timestamp() - t0) * 1000", b.maxCommitLatencyMs)};
      END IF;`
      : "";
  const body = `
DECLARE
  cp jsonb;
  cp_now jsonb;
  r record;
  n bigint;
  scanned bigint;
  rows_updated bigint;
  size bigint;
  t0 timestamptz;
  mark timestamptz := clock_timestamp();
  elapsed float8;
  load record;
  load_checked timestamptz; -- NULL: read before the next batch (PostgreSQL 15 has no infinite interval)
  pause_ms float8;
  locked_out boolean;
BEGIN
  PERFORM set_config('statement_timeout', '0', false);
  PERFORM set_config('idle_in_transaction_session_timeout', '0', false);
  LOOP
    pause_ms := 0;
    IF load_checked IS NULL OR clock_timestamp() - load_checked >= interval '${LOAD_CHECK_EVERY_MS} milliseconds' THEN
      SELECT * INTO load FROM (${DATABASE_LOAD_SQL}) l;
      load_checked := clock_timestamp();
      pause_ms := ${replicationPauseMsSql("load.lag", b.maxReplicationLagMs)};
      IF pause_ms = 0 AND ${b.maxTransactionAgeMs} > 0 AND load.age > ${b.maxTransactionAgeMs} THEN pause_ms := 1000; END IF;${probe}
    END IF;
    IF pause_ms > 0 THEN
      load_checked := NULL;
      EXECUTE ${literal(countPauseSql(stateSchema))} USING ${id}, pause_ms;
      COMMIT;
      PERFORM pg_sleep(pause_ms / 1000.0);
      CONTINUE;
    END IF;
    SELECT backfill INTO cp FROM ${stateTableName(stateSchema)} WHERE id = ${id} FOR UPDATE;
    IF cp IS NULL OR coalesce((cp->>'done')::boolean, false) OR cp->>'runner' IS DISTINCT FROM 'database' THEN
      COMMIT;
      RETURN;
    END IF;
    size := greatest(${bounds.min}, least(${bounds.max}, coalesce((cp->>'batchSize')::bigint, ${bounds.min})));
    -- the first attempt's lock_timeout, retried after a pause: a batch that waits holds its rows' locks meanwhile
    PERFORM set_config('lock_timeout', '${ctx.spec.lock.lockTimeoutMs}', true);
${session}    t0 := clock_timestamp();
    locked_out := false;
    rows_updated := 0;
    scanned := NULL;
    ${batch}
    IF locked_out THEN
      COMMIT;
      PERFORM pg_sleep(0.5);
      CONTINUE;
    END IF;
    elapsed := extract(epoch FROM clock_timestamp() - t0) * 1000;
    cp := cp || ${moved} || jsonb_build_object(
      'rowsScanned', (cp->>'rowsScanned')::bigint + scanned,
      'rowsUpdated', (cp->>'rowsUpdated')::bigint + rows_updated,
      'batches', coalesce((cp->>'batches')::bigint, 0) + 1,
      'batchSize', ${nextBatchSizeSql("size", "elapsed", b.targetBatchMs, bounds.min, bounds.max)},
      'lastBatchMs', round(elapsed),
      'spent', jsonb_build_object('ms', coalesce((cp->'spent'->>'ms')::float8, 0) + extract(epoch FROM clock_timestamp() - mark) * 1000,
                                  'rows', coalesce((cp->'spent'->>'rows')::bigint, 0) + scanned));
    IF (cp->>'done')::boolean THEN
      cp := cp || jsonb_build_object('tableBytesAfter', (${tableBytesSql(ctx)}));
      -- the batch that finishes waits for its flush: "done" is what the next stages act on
      PERFORM set_config('synchronous_commit', 'on', true);
    END IF;
    UPDATE ${stateTableName(stateSchema)} SET backfill = cp, updated_at = now() WHERE id = ${id};
    COMMIT;
    mark := clock_timestamp();
    IF (cp->>'done')::boolean THEN
      RETURN;
    END IF;
    IF ${b.pauseMs} > 0 THEN
      PERFORM pg_sleep(${b.pauseMs} / 1000.0);
    END IF;
  END LOOP;
END
`;
  return `CREATE OR REPLACE PROCEDURE ${backfillProcedureName(ctx)}() LANGUAGE plpgsql AS ${dollarQuote(body)}`;
}

export function dropBackfillProcedureSql(ctx: PlanContext): string {
  return `DROP PROCEDURE IF EXISTS ${backfillProcedureName(ctx)}()`;
}

/** What pg_cron runs. */
export function backfillCallSql(ctx: PlanContext): string {
  return `CALL ${backfillProcedureName(ctx)}()`;
}
