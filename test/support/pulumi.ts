/**
 * The real Pulumi CLI, driven through inline Automation API programs, with a local file
 * backend per stack. No nodejs language host is needed: inline programs serve the
 * language runtime from this process. The dynamic-provider plugin
 * (pulumi-resource-pulumi-nodejs) is the script at the root of the @pulumi/pulumi package,
 * put on the CLI's PATH here.
 *
 * Every stack's workDir lies below <repo>/.work/, where a `node_modules/pgshift` symlink
 * points at the repo. The engine starts the dynamic-provider process in the project's
 * `main` dir, which createStack sets to the workDir (the Automation API's default for
 * inline programs is process.cwd()), so the library's
 * `require("pgshift/provider")` (dist/, built by `npm run build`) and `require("pg")`
 * resolve from there.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import {
    LocalWorkspace,
    PulumiCommand,
    type ConfigMap,
    type PulumiFn,
    type Stack,
} from "@pulumi/pulumi/automation";

const execFileAsync = promisify(execFile);

/** The repository root (this file is test/support/pulumi.ts). */
export const repoRoot = path.resolve(__dirname, "..", "..");
/** Git-ignored scratch space of the test rig. */
export const workRoot = path.join(repoRoot, ".work");
/** Passphrase of the test stacks' passphrase secrets provider. */
export const TEST_PASSPHRASE = "pgshift-test-passphrase";

/** Version of the @pulumi/pulumi SDK in node_modules; the CLI must have the same major.minor. */
export const sdkVersion: string = require("@pulumi/pulumi/package.json").version;
/** Folder of the pulumi-resource-pulumi-nodejs plugin script. */
export const nodejsPluginDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

let commandPromise: Promise<PulumiCommand> | undefined;

/**
 * Each inline program run adds an `uncaughtException` / `unhandledRejection` handler of the
 * Automation API's language server (automation/server.js, newUncaughtHandler) and removes it
 * when the run ends. A run whose engine was killed (killResume) never ends, and its handler
 * would report every later program's error once more. This removes those handlers, and only
 * those (recognised by their source; mocha's own stay). Call only while no stack operation runs.
 */
export function dropStaleProgramHandlers(): void {
    const isProgramHandler = (l: (...args: never[]) => unknown) => l.toString().includes("errorSet.has(err)");
    for (const l of process.listeners("uncaughtException")) if (isProgramHandler(l)) process.off("uncaughtException", l);
    for (const l of process.listeners("unhandledRejection")) if (isProgramHandler(l)) process.off("unhandledRejection", l);
}
const createdDirs = new Set<string>();

function sameMinor(version: string, wanted: string): boolean {
    const v = /v?(\d+)\.(\d+)\./.exec(version);
    const w = /(\d+)\.(\d+)\./.exec(wanted);
    return !!v && !!w && v[1] === w[1] && v[2] === w[2];
}

async function cliVersion(bin: string): Promise<string | undefined> {
    try {
        const { stdout } = await execFileAsync(bin, ["version"], {
            env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
            timeout: 60_000,
        });
        return stdout.trim();
    } catch {
        return undefined;
    }
}

function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH || "").split(path.delimiter)) {
        if (!dir) continue;
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) return fs.realpathSync(candidate);
        } catch {
            // not here
        }
    }
    return undefined;
}

async function resolveCommand(): Promise<PulumiCommand> {
    const onPathBin = onPath("pulumi");
    if (onPathBin) {
        const v = await cliVersion(onPathBin);
        if (v && sameMinor(v, sdkVersion)) {
            return PulumiCommand.get({ root: path.dirname(path.dirname(onPathBin)) });
        }
    }
    // Build (or reuse) the CLI from the Go module proxy; the script prints the bin dir last.
    const script = path.join(repoRoot, "scripts", "build-pulumi.sh");
    let stdout: string;
    try {
        ({ stdout } = await execFileAsync("bash", [script], {
            cwd: repoRoot,
            maxBuffer: 64 * 1024 * 1024,
            timeout: 45 * 60_000,
        }));
    } catch (err) {
        const e = err as { stderr?: string; message?: string };
        const tail = (e.stderr || "").trim().split("\n").slice(-30).join("\n");
        throw new Error(
            `no pulumi v${sdkVersion.replace(/\.\d+$/, ".x")} on PATH and scripts/build-pulumi.sh failed: ${e.message}\n${tail}`,
        );
    }
    const binDir = stdout.trim().split("\n").pop()!.trim();
    return PulumiCommand.get({ root: path.dirname(binDir) });
}

/**
 * The Pulumi CLI of the tests: `pulumi` on PATH if it is v<sdk major.minor>.x, else the one
 * scripts/build-pulumi.sh builds (or already built) under .pulumi-cli/. Resolved once per process.
 */
export function pulumiCommand(): Promise<PulumiCommand> {
    if (!commandPromise) {
        commandPromise = resolveCommand();
        commandPromise.catch(() => {
            commandPromise = undefined;
        });
    }
    return commandPromise;
}

const NODEJS_PLUGIN = "pulumi-resource-pulumi-nodejs";

/**
 * Puts a copy of the pulumi-resource-pulumi-nodejs script next to a CLI that this repo
 * built (.pulumi-cli/, or PGSHIFT_PULUMI_DIR), where official CLI releases ship it. The
 * engine then finds it as a "bundled" plugin: found only on $PATH (node_modules/@pulumi/pulumi)
 * it still works, but every operation prints "warning: using pulumi-resource-pulumi-nodejs
 * from $PATH". The script resolves @pulumi/pulumi from its cwd, so a copy is as good as
 * the original. A CLI elsewhere (pulumi on PATH) is left alone.
 */
export function ensureBundledNodejsPlugin(cliBinDir: string): void {
    const ours = [path.join(repoRoot, ".pulumi-cli"), process.env.PGSHIFT_PULUMI_DIR]
        .filter((d): d is string => !!d)
        .some((d) => !path.relative(path.resolve(d), cliBinDir).startsWith(".."));
    const dest = path.join(cliBinDir, NODEJS_PLUGIN);
    if (!ours || fs.existsSync(dest)) return;
    const tmp = `${dest}.${process.pid}.tmp`;
    fs.copyFileSync(path.join(nodejsPluginDir, NODEJS_PLUGIN), tmp);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, dest);
}

/** Makes sure <repo>/.work/node_modules/pgshift links to the repo (relative link). */
export function ensurePgshiftLink(): void {
    const nm = path.join(workRoot, "node_modules");
    fs.mkdirSync(nm, { recursive: true });
    const link = path.join(nm, "pgshift");
    const target = path.relative(nm, repoRoot); // "../.."
    try {
        const current = fs.readlinkSync(link);
        if (path.resolve(nm, current) === repoRoot) return;
        fs.rmSync(link, { force: true, recursive: true });
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EINVAL") {
            // a real directory or file is in the way
            fs.rmSync(link, { force: true, recursive: true });
        } else if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
            throw err;
        }
    }
    fs.symlinkSync(target, link, "dir");
}

/** A new directory below .work/<kind>/, removed by cleanupPulumiWork() at the end of the run. */
export function scratchDir(kind: string, hint = "x"): string {
    const safe = hint.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 40);
    const dir = path.join(workRoot, kind, `${safe}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`);
    fs.mkdirSync(dir, { recursive: true });
    createdDirs.add(dir);
    return dir;
}

/** Removes the scratch dirs this process created (kept when PGSHIFT_TEST_KEEP_WORK=1). */
export async function cleanupPulumiWork(): Promise<void> {
    if (process.env.PGSHIFT_TEST_KEEP_WORK === "1") return;
    for (const dir of createdDirs) {
        await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    createdDirs.clear();
}

export interface CreateStackOptions {
    projectName: string;
    /** Defaults to "test". */
    stackName?: string;
    program: PulumiFn;
    /** Stack config, e.g. { "postgresql:password": { value, secret: true }, "stage": { value: "expand" } }. */
    config?: Record<string, { value: string; secret?: boolean }>;
    /**
     * Directory of the file backend. Defaults to a fresh one per stack; pass the same dir to
     * several stacks (or stackBackendDir(stack)) to share one.
     */
    backendDir?: string;
    /**
     * Defaults to a fresh dir below .work/stacks/; must lie below .work/ (for pgshift resolution:
     * .work/node_modules/pgshift links the repo), unless the project installs pgshift itself
     * (`installsPgshift`).
     */
    workDir?: string;
    /** The project at workDir has pgshift in its own node_modules (test/e2e/tarball.test.ts): workDir may lie anywhere. */
    installsPgshift?: boolean;
    /** Extra environment for the CLI (and so for the dynamic-provider processes it starts). */
    envVars?: Record<string, string>;
    /** Directories put first on the CLI's PATH (plugins it finds there, e.g. the policy pack's analyzer script). */
    pathDirs?: string[];
    /**
     * The `@pulumi/pulumi/automation` module that drives the stack. Defaults to the repo's. A
     * project with its own install (test/e2e/tarball.test.ts) passes its copy, so the inline
     * program, the library it loads and the dynamic provider all use that project's @pulumi/pulumi.
     */
    automation?: AutomationModule;
}

/** The part of `@pulumi/pulumi/automation` createStack uses. */
export interface AutomationModule {
    LocalWorkspace: Pick<typeof LocalWorkspace, "createOrSelectStack">;
    PulumiCommand: Pick<typeof PulumiCommand, "get">;
}

const backendOf = new WeakMap<Stack, string>();

/**
 * No `.attrs` sidecar files in the file backend. gocloud's fileblob (Pulumi's file:// backend)
 * writes each blob's sidecar with os.Create and then the JSON, not atomically like the blob
 * itself (a temp file renamed). A crash trial's SIGKILL of the CLI between the two left an empty
 * `<stack>.json.attrs`, and every later `pulumi stack select` failed with "failed to load
 * checkpoint: EOF" (the existence check reads the sidecar): CI saw it once. The state itself was
 * whole; Pulumi needs nothing from the sidecar.
 */
const BACKEND_QUERY = "?metadata=skip";

/**
 * An inline-program stack on a local file backend with the test environment:
 * PULUMI_BACKEND_URL=file://<backendDir>?metadata=skip (BACKEND_QUERY), PULUMI_CONFIG_PASSPHRASE, no update check, no
 * automatic plugin downloads, PULUMI_HOME under .work/, and the nodejs dynamic-provider
 * plugin and the CLI on PATH.
 */
export async function createStack(opts: CreateStackOptions): Promise<Stack> {
    const repoCmd = await pulumiCommand();
    // the same CLI, as a PulumiCommand of the automation module that drives the stack
    const pulumiCmd =
        opts.automation && path.isAbsolute(repoCmd.command)
            ? await opts.automation.PulumiCommand.get({ root: path.dirname(path.dirname(repoCmd.command)) })
            : repoCmd;
    ensurePgshiftLink();
    const stackName = opts.stackName ?? "test";
    const workDir = opts.workDir ?? scratchDir("stacks", `${opts.projectName}-${stackName}`);
    const rel = path.relative(workRoot, path.resolve(workDir));
    if (!opts.installsPgshift && (rel.startsWith("..") || path.isAbsolute(rel))) {
        throw new Error(`createStack: workDir ${workDir} must lie below ${workRoot} (pgshift/provider resolution)`);
    }
    fs.mkdirSync(workDir, { recursive: true });
    const backendDir = opts.backendDir ?? scratchDir("backends", `${opts.projectName}-${stackName}`);
    fs.mkdirSync(backendDir, { recursive: true });
    const pulumiHome = path.join(workRoot, "pulumi-home");
    fs.mkdirSync(pulumiHome, { recursive: true });
    const cliBinDir = path.dirname(pulumiCmd.command);
    if (path.isAbsolute(pulumiCmd.command)) ensureBundledNodejsPlugin(cliBinDir);
    const envVars: Record<string, string> = {
        PULUMI_BACKEND_URL: `file://${backendDir}${BACKEND_QUERY}`,
        PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_HOME: pulumiHome,
        PATH: [...(opts.pathDirs ?? []), nodejsPluginDir, path.isAbsolute(pulumiCmd.command) ? cliBinDir : "", process.env.PATH || ""]
            .filter(Boolean)
            .join(path.delimiter),
        ...opts.envVars,
    };
    const stack = await (opts.automation?.LocalWorkspace ?? LocalWorkspace).createOrSelectStack(
        { stackName, projectName: opts.projectName, program: opts.program },
        {
            workDir,
            pulumiHome,
            envVars,
            pulumiCommand: pulumiCmd,
            // The engine starts provider plugins in the project's `main` dir. The Automation
            // API's default for inline programs is process.cwd() (the repo root here), where
            // `pgshift` does not resolve; point it at the workDir below .work/ instead.
            projectSettings: { name: opts.projectName, runtime: "nodejs", main: workDir },
        },
    );
    if (opts.config && Object.keys(opts.config).length > 0) {
        await stack.setAllConfig(opts.config as ConfigMap);
    }
    backendOf.set(stack, backendDir);
    return stack;
}

/** The part of @pulumi/pulumi's runtime/settings module (internal, untyped) the rig changes. */
interface PulumiRuntimeSettings {
    grpcClientOptions: Record<string, unknown>;
}

/**
 * Gives every gRPC channel an inline program opens to its engine (resource monitor, engine)
 * subchannels of its own, instead of grpc-js's process-wide pool keyed by address.
 *
 * Why: every inline program of the suite runs in this one (mocha) process, and the runtime
 * never closes the channels of a run served from its async-local store (settings.disconnectSync
 * closes only the module-level ones). A call on such a channel after its engine has exited (a
 * killed run, a log line after the end) leaves the pooled subchannel for 127.0.0.1:<port> in
 * TRANSIENT_FAILURE with a backoff. When a later engine is given the same ephemeral port, its
 * program's new channel picked that subchannel and failed at once with "14 UNAVAILABLE: No
 * connection established. Last error: null". The runtime swallows gRPC errors of a run
 * (automation/server.js), so a preview or up then either failed after 1 s with only that
 * message or "succeeded" with nothing registered, planning to delete the whole stack (CI saw
 * both). Under a real `pulumi up` each run is its own process and nothing is shared.
 * test/e2e/rig.test.ts reproduces the failure with the pool and shows it gone without it.
 */
export function isolateProgramChannels(settings: PulumiRuntimeSettings): void {
    settings.grpcClientOptions["grpc.use_local_subchannel_pool"] = 1;
}

/** The repo's copy of @pulumi/pulumi's runtime settings (a tarball project has its own). */
export const repoRuntimeSettings: PulumiRuntimeSettings = require("@pulumi/pulumi/runtime/settings");
isolateProgramChannels(repoRuntimeSettings);

/** The file-backend directory a stack from createStack uses (to share it with another stack). */
export function stackBackendDir(stack: Stack): string {
    const dir = backendOf.get(stack);
    if (!dir) throw new Error("stackBackendDir: not a stack made by createStack");
    return dir;
}

/**
 * The text of every file the stack's file backend stores (its state as written, secrets
 * encrypted); `stack export` through the Automation API decrypts, so secrets are checked here.
 */
export function storedStateFiles(backendDir: string): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(backendDir, { withFileTypes: true, recursive: true })) {
        if (entry.isFile()) out.push(fs.readFileSync(path.join(entry.parentPath ?? backendDir, entry.name), "utf8"));
    }
    return out;
}

/** JSON text of the stack's exported state (stack.exportStack()), pretty-printed. */
export async function exportedState(stack: Stack): Promise<string> {
    const deployment = await stack.exportStack();
    return JSON.stringify(deployment, null, 2);
}

export interface OutputCollector {
    /** Pass as `onOutput` to preview/up/refresh/destroy. */
    onOutput: (out: string) => void;
    /** Everything collected so far. */
    text(): string;
    /** Forget what was collected (to reuse the collector for the next operation). */
    clear(): void;
}

/**
 * Collects the engine's text output for assertions. Echoes it to stdout too when
 * `echo` is true or PGSHIFT_TEST_VERBOSE=1.
 */
export function collectOutput(echo = process.env.PGSHIFT_TEST_VERBOSE === "1"): OutputCollector {
    let buf = "";
    return {
        onOutput: (out: string) => {
            buf += out;
            if (echo) process.stdout.write(out);
        },
        text: () => buf,
        clear: () => {
            buf = "";
        },
    };
}
