#!/usr/bin/env node
/**
 * The `pgshift` command (package.json "bin"): `pgshift status` lists every migration in every
 * pgshift state table the role can read. Exit codes: 0 done, 1 the database could not be
 * reached or read (one line on stderr, never the password), 2 bad arguments.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import type { Client } from "pg";
import { clientConfig, type ConnectionConfig } from "../db/connection";
import { connectTimeoutMs, describeTarget, resolveCliConnection, safeMessage, UsageError } from "./connection";
import { buildReport, formatJson, formatTable } from "./statusFormat";
import { prepareSession, readStatus, STATUS_APPLICATION_NAME } from "./statusQuery";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

interface StatusOptions {
  connection?: string;
  schema?: string;
  json?: boolean;
}

/** The package's version, from the package.json above this file (in src/cli or dist/src/cli). */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "pgshift" && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return "unknown";
  }
}

/** An error's text; Node's connection errors are often an AggregateError with no message of its own. */
function errorText(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return [...new Set(err.errors.map(errorText))].join("; ");
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

async function openClient(conn: ConnectionConfig, env: NodeJS.ProcessEnv): Promise<Client> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require("pg") as typeof import("pg");
  const db = new pg.Client({ ...clientConfig(conn, STATUS_APPLICATION_NAME), connectionTimeoutMillis: connectTimeoutMs(env) });
  // a server that goes away mid-read surfaces as the query's error; do not crash on the event too
  db.on("error", () => undefined);
  await db.connect();
  return db;
}

async function status(opts: StatusOptions, io: CliIo): Promise<number> {
  const fail = (code: number, text: string): number => {
    io.stderr(`pgshift status: ${text}\n`);
    return code;
  };
  let conn: ConnectionConfig;
  try {
    if (opts.schema !== undefined && opts.schema.trim() === "") throw new UsageError("--schema is empty");
    conn = resolveCliConnection(opts.connection, io.env);
  } catch (err) {
    if (err instanceof UsageError) return fail(EXIT_USAGE, err.message);
    throw err;
  }
  let db: Client;
  try {
    db = await openClient(conn, io.env);
  } catch (err) {
    return fail(EXIT_FAILURE, safeMessage(`cannot connect to ${describeTarget(conn, io.env)}: ${errorText(err)}`, conn, io.env));
  }
  try {
    await prepareSession(db);
    const report = buildReport(await readStatus(db, opts.schema ?? null));
    io.stdout(opts.json ? formatJson(report) : formatTable(report));
    return EXIT_OK;
  } catch (err) {
    return fail(EXIT_FAILURE, safeMessage(`reading the status from ${describeTarget(conn, io.env)} failed: ${errorText(err)}`, conn, io.env));
  } finally {
    await db.end().catch(() => undefined);
  }
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const program = new Command("pgshift")
    .description("Zero-downtime PostgreSQL column type changes: inspect the migrations pgshift runs.")
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(pgshift --help, pgshift status --help: the commands and options)");
  program
    .command("status")
    .description("List every migration in every pgshift state table the role can read: stage, change, backfill progress, reversibility, owner, and pgshift sessions waiting on a lock.")
    .option("-c, --connection <url>", "libpq connection URL (default: DATABASE_URL, else the PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE variables)")
    .option("-s, --schema <schema>", "only migrations whose table or state table is in this schema")
    .option("--json", "print a JSON document (stable field names) instead of a table")
    .action(async (opts: StatusOptions) => {
      code = await status(opts, io);
    });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? EXIT_OK : EXIT_USAGE;
    }
    io.stderr(`pgshift: ${safeMessage(errorText(err), undefined, io.env)}\n`);
    return EXIT_FAILURE;
  }
  return code;
}

if (require.main === module) {
  const io: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env };
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
