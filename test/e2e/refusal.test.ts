/**
 * Refusals through the real `pulumi preview` and `pulumi up`: a planning error (pre-flight,
 * an illegal stage jump, a WidenColumn that cannot infer its type) must arrive as one clear
 * error line, pgshift's message as written, exactly once: no "unhandled exception", no
 * inspected objects (`<ref *1>`, `promise: Promise {...}`), no stack frames, no
 * `error serializing property` prefixes. And the database is left exactly as it was.
 *
 * Each case prints the wall time and the peak RSS of this process (the inline program runs
 * here) so a regression to the slow, heavy path is visible; they are not asserted.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange, WidenColumn } from "../../index";
import { planMigration } from "../../src/planning/planMigration";
import { parseSpec } from "../../src/spec";
import { inferWidening } from "../../src/planning/widen";
import { fingerprint } from "../support/fingerprint";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, dropStaleProgramHandlers } from "../support/pulumi";

const TABLE = "refusal_file";

function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Peak RSS of this process while `fn` runs, sampled every 50 ms, and the wall time. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = Date.now();
  try {
    const value = await fn();
    return { value, seconds: (Date.now() - started) / 1000, peakMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20) };
  } finally {
    clearInterval(timer);
  }
}

describe("refusals through the real pulumi preview and up", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("refusal");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, file_size integer NOT NULL, label text, note text)`);
      await c.query(`INSERT INTO ${TABLE} (file_size, label, note) SELECT g, g::text, 'n' || g FROM generate_series(1, 1000) g`);
      // one value that does not convert to integer
      await c.query(`UPDATE ${TABLE} SET label = 'not-a-number' WHERE id = 7`);
      // a key family whose member a view uses (issue #9): the whole family is refused, naming the member
      await c.query(`CREATE TABLE refusal_node (id varchar(32) PRIMARY KEY)`);
      await c.query(`CREATE TABLE refusal_child (id int PRIMARY KEY, node_id varchar(32) REFERENCES refusal_node (id))`);
      await c.query(`INSERT INTO refusal_node SELECT md5(g::text) FROM generate_series(1, 10) g`);
      await c.query(`INSERT INTO refusal_child SELECT g, md5(g::text) FROM generate_series(1, 10) g`);
      await c.query(`CREATE VIEW refusal_child_nodes AS SELECT node_id FROM refusal_child`);
    });
  });

  after(async () => {
    await db?.drop();
  });

  interface Case {
    title: string;
    program: () => void;
    /** pgshift's message, as the library itself produces it. */
    expected: () => Promise<string>;
  }

  const conn = () => ({ connectionString: db.url });
  const refusalOf = async (p: Promise<unknown>): Promise<string> => {
    const err = await p.then(
      () => assert.fail("expected the planning to refuse"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    return err.message;
  };

  const cases: Case[] = [
    {
      title: "a column that does not exist",
      program: () => new ColumnTypeChange("missing", { table: TABLE, column: "nope", toType: "bigint", stage: "expand", connection: pulumi.secret(db.url) }),
      expected: () => refusalOf(planMigration(conn(), parseSpec({ table: TABLE, column: "nope", toType: "bigint", stage: "expand" }))),
    },
    {
      title: "a conversion that fails on an existing value",
      program: () => new ColumnTypeChange("label", { table: TABLE, column: "label", toType: "integer", stage: "expand", connection: pulumi.secret(db.url) }),
      expected: () => refusalOf(planMigration(conn(), parseSpec({ table: TABLE, column: "label", toType: "integer", stage: "expand" }))),
    },
    {
      title: "an illegal stage jump (contract on a fresh table)",
      program: () => new ColumnTypeChange("jump", { table: TABLE, column: "file_size", toType: "bigint", stage: "contract", connection: pulumi.secret(db.url) }),
      expected: () => refusalOf(planMigration(conn(), parseSpec({ table: TABLE, column: "file_size", toType: "bigint", stage: "contract" }))),
    },
    {
      title: "a key family with a member a view uses",
      program: () => new ColumnTypeChange("node", { table: "refusal_node", column: "id", toType: "uuid", stage: "expand", connection: pulumi.secret(db.url) }),
      expected: () => refusalOf(planMigration(conn(), parseSpec({ table: "refusal_node", column: "id", toType: "uuid", stage: "expand" }))),
    },
    {
      title: "a WidenColumn on a text column (inferred toType)",
      program: () => new WidenColumn("widen-note", { table: TABLE, column: "note", stage: "expand", connection: pulumi.secret(db.url) }),
      expected: () => refusalOf(inferWidening(conn(), TABLE, "note")),
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.title} in one clear line, at preview and at up, and changes nothing`, async () => {
      const expected = await c.expected();
      assert.ok(expected.length > 20, expected);
      const stack = await createStack({ projectName: "pgshift-refusal", program: async () => void c.program() });
      const before = await withClient(db.url, fingerprint);
      for (const op of ["preview", "up"] as const) {
        // only this run's handler may report: one left by a killed run of an earlier test would repeat it
        dropStaleProgramHandlers();
        const out = collectOutput();
        let stderr = "";
        const opts = { onOutput: out.onOutput, onError: (s: string) => void (stderr += s) };
        const run = await measured(() =>
          (op === "preview" ? stack.preview(opts) : stack.up(opts)).then(
            () => undefined,
            (e: unknown) => e as Error,
          ),
        );
        const err = run.value;
        console.log(`      ${op} of ${c.title}: refused in ${run.seconds.toFixed(1)} s, peak RSS ${run.peakMb} MB`);
        assert.ok(err instanceof Error, `${op} succeeded:\n${out.text()}`);
        const shown = `${out.text()}\n${stderr}`;
        const context = `--- ${op} output ---\n${shown}`;
        for (const noise of ["unhandled exception", "Unhandled exception", "error serializing property", "<ref", "    at ", "Promise {"]) {
          assert.ok(!shown.includes(noise), `no ${JSON.stringify(noise)}\n${context}`);
        }
        // What the user reads is the Diagnostics section (the progress lines above it echo each
        // diagnostic as it arrives). The Automation API's inline-program server appends a recap,
        // "One or more errors occurred: <every unhandled error's message>", to the program's own
        // report; the CLI's nodejs language host has no such line. Apart from that recap, the
        // message is reported once, as its own error line.
        const diagnostics = /\nDiagnostics:\n([\s\S]*?)(?:\nResources:|\nOutputs:|$)/.exec(out.text())?.[1] ?? "";
        const errors = diagnostics.split("\n").filter((l) => /^\s+error: /.test(l)).map((l) => l.replace(/^\s+error: /, ""));
        const RECAP = "One or more errors occurred: ";
        assert.deepEqual(
          errors.filter((l) => !l.startsWith(RECAP)),
          [expected],
          `pgshift's message, as written, is the one error reported\n${context}`,
        );
        assert.ok(errors.filter((l) => l.startsWith(RECAP)).every((l) => l === RECAP + expected), `the recap repeats the message as written\n${context}`);
        assert.equal(occurrences(diagnostics, expected), errors.length, `the message appears in no other form\n${context}`);
        assert.deepEqual(await withClient(db.url, fingerprint), before, `${op} changed the database`);
      }
    });
  }
});
