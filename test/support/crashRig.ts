/**
 * Runs Pulumi operations in a child Node process (upRunner.ts) that can be SIGKILLed with its
 * whole process tree at a chosen statement of the dynamic provider (crashHook.cjs).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunnerJob, RunnerResult } from "./upRunner";

export type { RunnerJob } from "./upRunner";

export interface RunOutcome {
  /** The tree was killed (by the crash hook) before the operation ended. */
  killed: boolean;
  result?: RunnerResult;
  /** stdout + stderr of the runner (for failure messages). */
  log: string;
}

const RUNNER = path.join(__dirname, "upRunner.ts");

/** Runs one job in its own process group; resolves when the runner exits or is killed. */
export function runPulumi(job: RunnerJob, timeoutMs = 240_000): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", "ts-node/register/transpile-only", RUNNER, JSON.stringify(job)], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PGSHIFT_TEST_KEEP_WORK: "1" },
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
      reject(new Error(`pulumi ${job.op} did not finish within ${timeoutMs} ms:\n${log.slice(-4000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      // a killed tree may leave a grandchild (the CLI, the provider) for a moment; make sure
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group is gone
      }
      const line = log.split("\n").reverse().find((l) => l.startsWith("RESULT "));
      const result = line ? (JSON.parse(line.slice("RESULT ".length)) as RunnerResult) : undefined;
      resolve({ killed: signal === "SIGKILL", result, log });
    });
  });
}

/** Statements crashHook.cjs counted in a run (its log file), without the KILL marker. */
export function countedStatements(logFile: string): string[] {
  if (!fs.existsSync(logFile)) return [];
  return fs.readFileSync(logFile, "utf8").split("\n").filter((l) => /^\d+ /.test(l));
}
