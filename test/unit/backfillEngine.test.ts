import assert from "node:assert/strict";
import { EMPTY_CHECKPOINT, passesOf, resolveOrder } from "../../src/backfill/checkpoint";
import { backfillJobName, onDatabase } from "../../src/backfill/cron";
import { backfillPreview } from "../../src/backfill/preview";
import { backfillCallSql, backfillProcedureSql } from "../../src/backfill/procedure";
import { batchBoundSql, batchUpdateSql, coverTriggerSql, physicalBatchSql, physicalPassSql } from "../../src/backfill/sql";
import { fileContext } from "./support/fixtures";

const T = '"public"."contentcuration_file"';
const CONV = '"public"."pgshift_contentcuration_file_file_size_7770b426_conv"';

describe("backfill engine: order, physical batches, the in-database procedure", () => {
  it("auto order is physical for one uuid key only; an explicit order wins", () => {
    assert.equal(resolveOrder(fileContext(), "auto"), "keyset");
    assert.equal(resolveOrder(fileContext({ keyColumns: [{ name: "id", type: "uuid" }] }), "auto"), "physical");
    assert.equal(resolveOrder(fileContext({ keyColumns: [{ name: "id", type: "uuid" }, { name: "n", type: "integer" }] }), "auto"), "keyset");
    assert.equal(resolveOrder(fileContext({ keyColumns: [{ name: "id", type: "uuid" }] }), "keyset"), "keyset");
    assert.equal(resolveOrder(fileContext(), "physical"), "physical");
  });

  it("a physical batch is a TID range [$1, $2) on both the UPDATE and the count", () => {
    assert.equal(
      physicalBatchSql(fileContext()),
      `WITH updated AS (UPDATE ${T} AS t SET "file_size__pgshift_new" = ${CONV}(t."file_size") WHERE t.ctid >= $1::tid AND t.ctid < $2::tid ` +
        `AND t."file_size__pgshift_new" IS DISTINCT FROM ${CONV}(t."file_size") RETURNING 1) ` +
        `SELECT (SELECT count(*) FROM ${T} AS s WHERE s.ctid >= $1::tid AND s.ctid < $2::tid)::int AS scanned, (SELECT count(*) FROM updated)::int AS updated`,
    );
  });

  it("the cover trigger fires on any UPDATE whose shadow differs from the converted column, through the mirror function", () => {
    assert.deepEqual(coverTriggerSql(fileContext()), [
      `DROP TRIGGER IF EXISTS "zzz_pgshift_file_size_fwd_cov" ON ${T}`,
      `CREATE TRIGGER "zzz_pgshift_file_size_fwd_cov" BEFORE UPDATE ON ${T} FOR EACH ROW WHEN (NEW."file_size__pgshift_new" IS DISTINCT FROM ${CONV}(NEW."file_size")) ` +
        `EXECUTE FUNCTION "public"."pgshift_contentcuration_file_file_size_7770b426_fwd"()`,
    ]);
  });

  it("makes backfill.passes passes in physical order and in keyset order where the key follows the pages, as the spec says now; one otherwise", () => {
    const b = (passes: number) => fileContext({}, { backfill: { passes } }).spec.backfill;
    const keyset = { ...EMPTY_CHECKPOINT, order: "keyset" as const };
    assert.equal(passesOf(b(8), { ...EMPTY_CHECKPOINT, order: "physical" }), 8);
    assert.equal(passesOf(b(8), { ...keyset, keyFollowsPages: true }), 8);
    // a tuning change between runs reaches the next run's batches
    assert.equal(passesOf(b(3), { ...keyset, keyFollowsPages: true }), 3);
    assert.equal(passesOf(b(8), { ...keyset, keyFollowsPages: false }), 1);
    // a keyset checkpoint from before passes
    assert.equal(passesOf(b(8), keyset), 1);
  });

  it("the procedure runs the client runner's very batch statements, commits per batch and returns when its runner changes", () => {
    const ctx = fileContext({}, { backfill: { runner: "database" } });
    const sql = backfillProcedureSql(ctx, "public", { min: 100, max: 50_000 }, false, 8);
    assert.ok(sql.startsWith(`CREATE OR REPLACE PROCEDURE "public"."pgshift_contentcuration_file_file_size_7770b426_bfill"() LANGUAGE plpgsql AS $pgshift$`));
    const quoted = (s: string) => `'${s.replace(/'/g, "''")}'`;
    for (const fromStart of [true, false]) {
      assert.ok(sql.includes(`EXECUTE ${quoted(batchBoundSql(ctx, fromStart, true))} INTO r`), `batchBoundSql(${fromStart}) inside`);
      assert.ok(sql.includes(`EXECUTE ${quoted(batchUpdateSql(ctx, fromStart))} INTO n USING r.last->>0${fromStart ? "" : ", cp->'lastKey'->>0"};`), `batchUpdateSql(${fromStart}) inside`);
      // the passes before the last (backfill.passes, default 8): 1 to 7, each committed, then the state row taken again
      assert.ok(sql.includes(`EXECUTE ${quoted(batchUpdateSql(ctx, fromStart, 8))} INTO n USING r.last->>0${fromStart ? "" : ", cp->'lastKey'->>0"}, r.from_tid, r.to_tid, pass;`), `the pass of batchUpdateSql(${fromStart}) inside`);
    }
    assert.match(sql, /FOR pass IN 1\.\.7 LOOP[^]*?END;\n\s+EXIT WHEN locked_out;\n\s+COMMIT;\n\s+PERFORM set_config\('lock_timeout', '100', true\);\n\s+SET LOCAL synchronous_commit = off;\n\s+END LOOP;/);
    assert.match(sql, /SELECT backfill INTO cp_now FROM "public"\."pgshift_migrations" WHERE id = 'public\.contentcuration_file\.file_size' FOR UPDATE;/);
    const onePass = backfillProcedureSql(fileContext({}, { backfill: { runner: "database" } }), "public", { min: 100, max: 50_000 }, false, 1);
    assert.ok(!onePass.includes("cp_now FROM"), "one pass: the state row stays locked from the batch's start to its commit");
    assert.ok(onePass.includes(`EXECUTE ${quoted(batchBoundSql(ctx, true, false))} INTO r`), "one pass: the bound without the page probes");
    assert.match(sql, /cp->>'runner' IS DISTINCT FROM 'database' THEN\n\s+COMMIT;\n\s+RETURN;/);
    assert.match(sql, /UPDATE "public"\."pgshift_migrations" SET backfill = cp, updated_at = now\(\) WHERE id = 'public\.contentcuration_file\.file_size';\n\s+COMMIT;/);
    assert.match(sql, /EXCEPTION WHEN lock_not_available THEN/);
    const physical = backfillProcedureSql(ctx, "public", { min: 1, max: 700 }, true, 8);
    assert.ok(physical.includes(`EXECUTE ${quoted(physicalBatchSql(ctx))} INTO r USING format('(%s,0)', cp->>'page')`));
    assert.ok(physical.includes(`EXECUTE ${quoted(physicalPassSql(ctx, 8))} INTO r USING format('(%s,0)', cp->>'page'), format('(%s,0)', (cp->>'page')::bigint + size), pass;`));
    assert.match(physical, /scanned := coalesce\(scanned, r\.scanned\);/, "the first pass's count is the batch's");
    assert.equal(backfillCallSql(ctx), `CALL "public"."pgshift_contentcuration_file_file_size_7770b426_bfill"()`);
  });

  it("preview shows the procedure and the job only where the database may run it", () => {
    assert.equal(backfillPreview(fileContext(), "public").some((s) => s.includes("PROCEDURE")), false);
    const db = backfillPreview(fileContext({}, { backfill: { runner: "auto" } }), "public");
    assert.ok(db.some((s) => s.startsWith("CREATE OR REPLACE PROCEDURE")));
    assert.ok(db.some((s) => s.startsWith("-- pg_cron, every minute until done: CALL")));
  });

  it("preview shows the commit probe where backfill.maxCommitLatencyMs is on, and not at 0", () => {
    const probe = `/* at most once a second, with synchronous_commit = on, timed (backfill.maxCommitLatencyMs) */ UPDATE "public"."pgshift_migrations" SET backfill = backfill WHERE id = 'public.contentcuration_file.file_size'`;
    assert.ok(backfillPreview(fileContext(), "public").includes(probe));
    assert.equal(backfillPreview(fileContext({}, { backfill: { maxCommitLatencyMs: 0 } }), "public").some((s) => s.includes("maxCommitLatencyMs")), false);
  });

  it("job names fit cron.job's 63 bytes and stay distinct; the cron database is reached with the same credentials", () => {
    const long = backfillJobName("db_runner_mx4rkee6_554480", "public.cron_removed.file_size");
    const other = backfillJobName("db_runner_mx4rkee6_554480", "public.cron_removed.file_size2");
    assert.ok(Buffer.byteLength(long) <= 63 && long !== other, long);
    assert.equal(backfillJobName("app", "public.t.c"), "pgshift backfill app public.t.c");
    assert.deepEqual(onDatabase({ connectionString: "postgres://u:p%40ss@h:5433/app?sslmode=require" }, "postgres"), {
      connectionString: "postgres://u:p%40ss@h:5433/postgres?sslmode=require",
    });
    assert.deepEqual(onDatabase({ host: "h", database: "app", user: "u" }, "postgres"), { host: "h", database: "postgres", user: "u" });
  });
});
