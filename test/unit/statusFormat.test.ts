// `pgshift status` formatting: progress, rate and ETA from a state row, the table for
// people and the JSON for bots, with every number pinned (the server's now() is an input).
import assert from "node:assert/strict";
import {
  alignColumns,
  backfillStatus,
  buildReport,
  formatJson,
  formatTable,
  shorten,
  type LockWait,
  type SnapshotMigration,
  type StatusSnapshot,
} from "../../src/cli/statusFormat";
import type { BackfillCheckpoint } from "../../src/db/state";
import type { MigrationFacts } from "../../src/plan/facts";
import type { MigrationSpec } from "../../src/spec";

const T0 = new Date("2025-03-01T10:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function checkpoint(rowsScanned: number, done = false): BackfillCheckpoint {
  return { lastKey: [String(rowsScanned)], upperKey: ["20000"], rowsScanned, rowsUpdated: rowsScanned, done };
}

function migration(extra: Partial<SnapshotMigration> & { table?: string; column?: string } = {}): SnapshotMigration {
  const { table = "orders", column = "amount", ...rest } = extra;
  // only the fields the formatter reads: a full TableSnapshot is the catalog's business
  const facts = {
    table: { schema: "public", name: table, column: { name: column } },
    from: { formatted: "integer", typeName: "int4", typmod: -1 },
    to: { formatted: "bigint", typeName: "int8", typmod: -1 },
  } as unknown as MigrationFacts;
  return {
    id: `public.${table}.${column}`,
    stage: "expand",
    facts,
    spec: {} as MigrationSpec,
    backfill: null,
    reversible: true,
    irreversibleReason: null,
    owner: null,
    stateSchema: "public",
    createdAt: T0,
    updatedAt: T0,
    estimatedRows: 20_000,
    ...rest,
  };
}

describe("status: backfill progress", () => {
  it("not started: no checkpoint, no rate, no ETA", () => {
    const b = backfillStatus(migration(), at(5));
    assert.deepEqual(b, {
      status: "not-started",
      rowsScanned: 0,
      rowsUpdated: 0,
      estimatedRows: 20_000,
      percent: 0,
      rowsPerSecond: null,
      etaSeconds: null,
      lastCheckpointAt: null,
      secondsSinceCheckpoint: null,
      idle: false,
    });
  });

  it("in progress: rate = rows scanned / (updated_at - created_at), ETA = rows left / rate", () => {
    // 5,000 rows in 20 s: 250 rows/s; 15,000 left: 60 s
    const b = backfillStatus(migration({ backfill: checkpoint(5000), updatedAt: at(20) }), at(21.5));
    assert.equal(b.status, "in-progress");
    assert.equal(b.percent, 25);
    assert.equal(b.rowsPerSecond, 250);
    assert.equal(b.etaSeconds, 60);
    assert.equal(b.lastCheckpointAt, "2025-03-01T10:00:20.000Z");
    assert.equal(b.secondsSinceCheckpoint, 1.5);
    assert.equal(b.idle, false);
  });

  it("an estimate below the rows already scanned counts as the rows scanned, and in progress is never 100%", () => {
    const b = backfillStatus(migration({ backfill: checkpoint(25_000), updatedAt: at(10), estimatedRows: 20_000 }), at(10));
    assert.equal(b.estimatedRows, 25_000);
    assert.equal(b.percent, 99.9);
    assert.equal(b.etaSeconds, 0);
  });

  it("an unknown table size (never analyzed, or the table is gone) gives no percent and no ETA, but a rate", () => {
    const b = backfillStatus(migration({ backfill: checkpoint(3000), updatedAt: at(3), estimatedRows: null }), at(3));
    assert.equal(b.estimatedRows, null);
    assert.equal(b.percent, null);
    assert.equal(b.rowsPerSecond, 1000);
    assert.equal(b.etaSeconds, null);
  });

  it("a reltuples of 0 (an empty table when last analyzed) is no estimate either", () => {
    const b = backfillStatus(migration({ backfill: checkpoint(3000), updatedAt: at(3), estimatedRows: 0 }), at(3));
    assert.equal(b.estimatedRows, null);
    assert.equal(b.percent, null);
  });

  it("no checkpoint for more than 10 minutes: idle", () => {
    const b = backfillStatus(migration({ backfill: checkpoint(3000), updatedAt: at(30) }), at(30 + 601));
    assert.equal(b.idle, true);
  });

  it("done by the checkpoint, or by a stage past expand", () => {
    const byCheckpoint = backfillStatus(migration({ backfill: checkpoint(20_000, true), updatedAt: at(40) }), at(50));
    assert.equal(byCheckpoint.status, "done");
    assert.equal(byCheckpoint.percent, 100);
    assert.equal(byCheckpoint.etaSeconds, null);
    assert.equal(byCheckpoint.rowsPerSecond, 500);
    const byStage = backfillStatus(migration({ stage: "cutover", backfill: checkpoint(20_000, false), updatedAt: at(40) }), at(50));
    assert.equal(byStage.status, "done");
    assert.equal(backfillStatus(migration({ backfill: checkpoint(0, true), estimatedRows: null }), at(1)).percent, 100);
  });

  it("a checkpoint written in the same instant as the row gives no rate (no division by zero)", () => {
    const b = backfillStatus(migration({ backfill: checkpoint(1000), updatedAt: T0 }), T0);
    assert.equal(b.rowsPerSecond, null);
    assert.equal(b.etaSeconds, null);
  });
});

const WAIT: LockWait = {
  pid: 4242,
  applicationName: "pgshift shadow-column",
  user: "deploy",
  waitingSeconds: 3.2,
  lockType: "relation",
  lockMode: "AccessExclusiveLock",
  relation: "public.invoices",
  query: "ALTER TABLE public.invoices\n   ADD COLUMN total__pgshift_new bigint",
  blockedBy: [
    { pid: 4200, applicationName: "psql", user: "app", state: "idle in transaction", transactionSeconds: 302, query: "LOCK TABLE invoices IN SHARE MODE" },
  ],
};

function snapshot(extra: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    now: at(21),
    schema: null,
    migrations: [
      migration({ backfill: checkpoint(5000), updatedAt: at(20) }),
      migration({
        table: "users",
        column: "id",
        stage: "cutover",
        backfill: checkpoint(1_000_000, true),
        updatedAt: at(20),
        reversible: false,
        irreversibleReason: "a value written since cutover does not fit integer",
        owner: "acme/shop/prod/users-id",
        estimatedRows: 1_000_000,
      }),
      migration({ table: "invoices", column: "total", estimatedRows: null }),
    ],
    lockWaits: [WAIT],
    ...extra,
  };
}

describe("status: the table", () => {
  it("one line per migration, footnotes for irreversibility reasons, then the lock waits", () => {
    assert.equal(
      formatTable(buildReport(snapshot())),
      [
        "STAGE    CHANGE                                   BACKFILL                       RATE        ETA    REVERSIBLE  OWNER",
        "expand   public.orders.amount integer -> bigint   5,000 of ~20,000 rows (25.0%)  250 rows/s  1m00s  yes         -",
        "cutover  public.users.id integer -> bigint        done (1,000,000 rows)          -           -      no [1]      acme/shop/prod/users-id",
        "expand   public.invoices.total integer -> bigint  not started                    -           -      yes         -",
        "",
        "[1] public.users.id: a value written since cutover does not fit integer",
        "",
        "pgshift sessions waiting on locks (1):",
        "  pid 4242 (pgshift shadow-column) waiting 3s for AccessExclusiveLock on public.invoices: ALTER TABLE public.invoices ADD COLUMN total__pgshift_new bigint",
        "    blocked by pid 4200 (psql, user app, idle in transaction, transaction open 5m02s): LOCK TABLE invoices IN SHARE MODE",
        "",
      ].join("\n"),
    );
  });

  it("an unknown size and an idle backfill say so", () => {
    const text = formatTable(
      buildReport(snapshot({ now: at(4000), lockWaits: [], migrations: [migration({ backfill: checkpoint(3000), updatedAt: at(3), estimatedRows: null })] })),
    );
    assert.match(text, /3,000 rows \(table size unknown\)\s+1,000 rows\/s\s+\? \(idle 1h06m\)/);
  });

  it("no migrations: one sentence that says where it looked", () => {
    assert.equal(formatTable(buildReport(snapshot({ migrations: [], lockWaits: [] }))), "No pgshift migrations in any state table this role can read.\n");
    assert.equal(formatTable(buildReport(snapshot({ schema: "billing", migrations: [], lockWaits: [] }))), "No pgshift migrations in schema billing.\n");
  });

  it("a lock wait without a relation (an advisory lock) and a blocker hidden from this role", () => {
    const text = formatTable(
      buildReport(
        snapshot({
          migrations: [],
          lockWaits: [{ ...WAIT, lockType: "advisory", lockMode: "ExclusiveLock", relation: null, blockedBy: [{ pid: 9, applicationName: "", user: null, state: null, transactionSeconds: null, query: "<insufficient privilege>" }] }],
        }),
      ),
    );
    assert.match(text, /waiting 3s for ExclusiveLock \(advisory lock\):/);
    assert.match(text, /blocked by pid 9 \(no application_name\): <insufficient privilege>/);
  });

  it("alignColumns pads every column but the last, without trailing blanks", () => {
    assert.deepEqual(alignColumns([["a", "bb", "c"], ["ccc", "", ""]]), ["a    bb  c", "ccc"]);
  });

  it("shorten makes one line of at most max characters", () => {
    assert.equal(shorten("SELECT\n  1", 20), "SELECT 1");
    assert.equal(shorten("x".repeat(30), 10), "xxxxxxx...");
  });
});

describe("status: the JSON", () => {
  it("has the documented field names (a contract for bots: add, never rename)", () => {
    const doc = JSON.parse(formatJson(buildReport(snapshot()))) as Record<string, unknown> & { migrations: Record<string, unknown>[]; lockWaits: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(doc), ["formatVersion", "generatedAt", "schema", "migrations", "lockWaits"]);
    assert.equal(doc.formatVersion, 1);
    assert.equal(doc.generatedAt, "2025-03-01T10:00:21.000Z");
    assert.deepEqual(Object.keys(doc.migrations[0]), [
      "id", "stateSchema", "stage", "table", "column", "from", "to", "change", "backfill", "reversible", "irreversibleReason", "owner", "familyRoot", "createdAt", "updatedAt",
    ]);
    assert.deepEqual(Object.keys(doc.migrations[0].backfill as object), [
      "status", "rowsScanned", "rowsUpdated", "estimatedRows", "percent", "rowsPerSecond", "etaSeconds", "lastCheckpointAt", "secondsSinceCheckpoint", "idle",
    ]);
    assert.deepEqual(doc.migrations[0].table, { schema: "public", name: "orders" });
    assert.equal(doc.migrations[0].change, "public.orders.amount integer -> bigint");
    assert.deepEqual(Object.keys(doc.lockWaits[0]), ["pid", "applicationName", "user", "waitingSeconds", "lockType", "lockMode", "relation", "query", "blockedBy"]);
    assert.deepEqual(Object.keys((doc.lockWaits[0].blockedBy as object[])[0]), ["pid", "applicationName", "user", "state", "transactionSeconds", "query"]);
    assert.equal(doc.migrations[1].irreversibleReason, "a value written since cutover does not fit integer");
  });
});

describe("status: key families", () => {
  it("a member's row names its family's root, in the JSON and in the table", () => {
    const root = migration({ table: "orders", column: "id" });
    const member = migration({ table: "order_items", column: "order_id" });
    member.facts = { ...member.facts, familyRoot: "public.orders.id" };
    const report = buildReport({ now: at(1), schema: null, migrations: [root, member], lockWaits: [] });
    assert.deepEqual(report.migrations.map((m) => m.familyRoot), [null, "public.orders.id"]);
    const lines = formatTable(report).split("\n");
    assert.ok(lines.some((l) => l.includes("public.order_items.order_id integer -> bigint (key family of public.orders.id)")), lines.join("\n"));
    assert.ok(lines.some((l) => /public\.orders\.id integer -> bigint(?! \(key family)/.test(l)), lines.join("\n"));
  });
});
