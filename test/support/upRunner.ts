/**
 * One Pulumi operation on a ColumnTypeChange stack, in a Node process of its own, so a test can
 * SIGKILL the whole `pulumi up` tree (this process, which serves the inline program; the CLI;
 * the dynamic provider) at a chosen moment: the Automation API runs the program in-process, so
 * a test that ran `up` itself could not kill it. Started by `runPulumi` (crashRig.ts) in a
 * process group of its own; the crash itself is test/support/crashHook.cjs in the provider.
 *
 * argv[2] is a JSON RunnerJob; the last stdout line is `RESULT <json RunnerResult>`.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ColumnTypeChange, type Stage } from "../../index";
import { collectOutput, createStack } from "./pulumi";

export interface RunnerJob {
  op: "up" | "cancel" | "destroy" | "preview" | "refresh";
  projectName: string;
  workDir: string;
  backendDir: string;
  url: string;
  change: { table: string; column: string; toType: string; stage: Stage; backfill?: Record<string, number> };
  /** Crash the provider after its k-th non-SELECT statement, delayMs later (crashHook.cjs). */
  crash?: { at: number; delayMs: number };
  /** Where crashHook.cjs lists the statements it counted. */
  statementLog?: string;
}

export interface RunnerResult {
  ok: boolean;
  error?: string;
  output: string;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as RunnerJob;
  const program = async () => {
    new ColumnTypeChange("crash", { ...job.change, connection: pulumi.secret(job.url) });
  };
  const hook = path.join(__dirname, "crashHook.cjs");
  const envVars: Record<string, string> = {};
  if (job.crash || job.statementLog) {
    envVars.NODE_OPTIONS = `--require ${hook}`;
    envVars.PGSHIFT_CRASH_GROUP = String(process.pid);
    if (job.crash) envVars.PGSHIFT_CRASH_AT = `${job.crash.at}:${job.crash.delayMs}`;
    if (job.statementLog) envVars.PGSHIFT_CRASH_LOG = job.statementLog;
  }
  const stack = await createStack({ projectName: job.projectName, program, workDir: job.workDir, backendDir: job.backendDir, envVars });
  const out = collectOutput();
  const result: RunnerResult = { ok: true, output: "" };
  try {
    if (job.op === "up") await stack.up({ onOutput: out.onOutput });
    else if (job.op === "destroy") await stack.destroy({ onOutput: out.onOutput });
    else if (job.op === "preview") await stack.preview({ onOutput: out.onOutput });
    else if (job.op === "refresh") await stack.refresh({ onOutput: out.onOutput });
    else await stack.cancel();
  } catch (err) {
    result.ok = false;
    result.error = err instanceof Error ? err.message : String(err);
  }
  result.output = out.text();
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stdout.write(`\nRESULT ${JSON.stringify({ ok: false, error: String(err?.stack ?? err), output: "" })}\n`);
    process.exit(1);
  },
);
