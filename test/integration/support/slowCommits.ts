/**
 * Slow commits on a real server, for the backfill's commit-latency throttle
 * (backfill.maxCommitLatencyMs): a deferred constraint trigger on pgshift's state table sleeps
 * at the COMMIT of the throttle's probe (its write of nothing, the state row set to itself), for
 * the first `slowProbes` probes only, so the backfill can end once they are past. A second
 * trigger notes when each batch's checkpoint write ran (its count of batches moved): the log
 * tells how long after each probe the next probe or batch came.
 */
import type { Client } from "pg";

/** Installs the triggers on `stateTable` (the qualified state table) and the log table they write, in place of any installed before. */
export async function slowProbeCommits(c: Client, stateTable: string, sleepMs: number, slowProbes: number): Promise<void> {
  await c.query(`
    DROP TABLE IF EXISTS commit_log;
    DROP FUNCTION IF EXISTS slow_probe() CASCADE;
    DROP FUNCTION IF EXISTS log_checkpoint() CASCADE;
    CREATE TABLE commit_log (n serial PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL);
    CREATE FUNCTION slow_probe() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO commit_log (kind, at) VALUES ('probe', clock_timestamp());
      IF (SELECT count(*) FROM commit_log WHERE kind = 'probe') <= ${slowProbes} THEN PERFORM pg_sleep(${sleepMs / 1000}); END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER slow_probe AFTER UPDATE ON ${stateTable} DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (OLD.backfill IS NOT DISTINCT FROM NEW.backfill) EXECUTE FUNCTION slow_probe();
    CREATE FUNCTION log_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO commit_log (kind, at) VALUES ('checkpoint', clock_timestamp());
      RETURN NULL;
    END $$;
    CREATE TRIGGER log_checkpoint AFTER UPDATE ON ${stateTable}
      FOR EACH ROW WHEN (OLD.backfill->'batches' IS DISTINCT FROM NEW.backfill->'batches') EXECUTE FUNCTION log_checkpoint();`);
}

/** Each probe in order, with the ms from its write to the next write of the log (the next probe or checkpoint); null for the last. */
export async function probeGaps(c: Client): Promise<Array<number | null>> {
  const { rows } = await c.query<{ kind: string; gap: number | null }>(
    `SELECT kind, (extract(epoch FROM lead(at) OVER (ORDER BY n) - at) * 1000)::float8 AS gap FROM commit_log ORDER BY n`,
  );
  return rows.filter((r) => r.kind === "probe").map((r) => r.gap);
}
