/**
 * The install path, as a user takes it: a clean clone of the committed HEAD, `npm pack` (which
 * must run the `prepare` build itself), the tarball installed into a fresh TypeScript Pulumi
 * project, type-checked there with the template's tsconfig, and a real `pulumi up` / `destroy`
 * of an expand whose program, library and dynamic provider all come from that project's
 * node_modules, never from the repo.
 *
 * Everything lives in one scratch dir in the system's temporary directory, outside the repo
 * (removed at the end of the run): below the repo, TypeScript and Node would find the repo's
 * node_modules by walking up (its devDependencies' types among them: the type check once passed
 * there while a user's project lacked @types/pg), and .work/'s `node_modules/pgshift` symlink
 * (test/support/pulumi.ts) points at the repo's code. The test also checks where `pgshift`
 * resolves from the project, and a preload script (NODE_OPTIONS) records the file the
 * dynamic-provider processes actually load for `require("pgshift/provider")`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { createRequire } from "node:module";
import * as path from "node:path";
import { promisify } from "node:util";
import { describeTableSchema } from "../support/catalog";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { collectOutput, createStack, isolateProgramChannels, repoRoot, type AutomationModule } from "../support/pulumi";

const execFileAsync = promisify(execFile);

const TABLE = "t";
const ROWS = 1000;

/** The environment of a user's shell: none of the npm_* variables of an enclosing `npm run`. */
function userEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!/^npm_/i.test(k) && k !== "INIT_CWD") env[k] = v;
    }
    return env;
}

async function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
    try {
        const { stdout, stderr } = await execFileAsync(cmd, args, {
            cwd,
            env: userEnv(),
            timeout: timeoutMs,
            maxBuffer: 64 * 1024 * 1024,
        });
        return stdout + stderr;
    } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message?: string };
        throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
    }
}

/** Version of a package in the repo's install (pinned in the project so npm finds it in its cache). */
function repoVersion(name: string): string {
    return require(`${name}/package.json`).version;
}

/** Records every resolution of pgshift in the process it is preloaded into (NODE_OPTIONS=--require). */
const PROBE = `"use strict";
const fs = require("fs");
const Module = require("module");
const log = process.env.PGSHIFT_PROBE_LOG;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const file = resolve.call(this, request, ...rest);
  if (log && (request === "pgshift" || request.startsWith("pgshift/"))) {
    fs.appendFileSync(log, JSON.stringify({ pid: process.pid, cwd: process.cwd(), request, file }) + "\\n");
  }
  return file;
};
`;

describe("the packed tarball, installed into a fresh Pulumi project", function () {
    let db: TestDatabase;
    let root: string;

    before(async () => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "pgshift-tarball-"));
        db = await createTestDatabase("tarball");
        await withClient(db.url, async (c) => {
            await c.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, n integer)`);
            await c.query(`INSERT INTO ${TABLE} (n) SELECT g * 7 FROM generate_series(1, $1) g`, [ROWS]);
        });
    });

    after(async () => {
        await db?.drop();
        if (root && process.env.PGSHIFT_TEST_KEEP_WORK !== "1") {
            await fs.promises.rm(root, { recursive: true, force: true });
        }
    });

    it("packs a clean clone, type-checks in a new project and runs expand + destroy from the installed package", async function () {
        this.timeout(240_000);
        const started = Date.now();
        const lap = (what: string) => console.log(`    [tarball] ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);

        // 1. a clean clone of the committed HEAD, packed
        const head = (await run("git", ["rev-parse", "HEAD"], repoRoot, 30_000)).trim();
        const clone = path.join(root, "clone");
        await run("git", ["clone", "--quiet", "--no-checkout", repoRoot, clone], root, 60_000);
        await run("git", ["checkout", "--quiet", "--detach", head], clone, 60_000);
        assert.equal((await run("git", ["status", "--porcelain"], clone, 30_000)).trim(), "", "the clone is not clean");
        assert.ok(!fs.existsSync(path.join(clone, "dist")), "the clone has a dist/ before packing");
        // dependencies: the repo's install (read-only), not a fresh download
        fs.symlinkSync(fs.realpathSync(path.join(repoRoot, "node_modules")), path.join(clone, "node_modules"), "dir");
        const packDir = path.join(root, "pack");
        fs.mkdirSync(packDir);
        await run("npm", ["pack", "--pack-destination", packDir], clone, 120_000);
        const tarballs = fs.readdirSync(packDir).filter((f) => f.endsWith(".tgz"));
        assert.equal(tarballs.length, 1, `npm pack wrote ${tarballs.join(", ") || "nothing"}`);
        const tarball = path.join(packDir, tarballs[0]);
        const entries = (await run("tar", ["-tzf", tarball], packDir, 30_000)).split("\n").filter(Boolean);
        for (const wanted of [
            "package/package.json",
            "package/README.md",
            "package/dist/index.js",
            "package/dist/index.d.ts",
            "package/dist/src/provider/index.js",
            "package/dist/components/ColumnTypeChange.js",
            "package/dist/components/ColumnTypeChange.d.ts",
            "package/dist/policy/PulumiPolicy.yaml",
            "package/dist/policy/package.json",
            "package/dist/policy/index.js",
            "package/dist/policy/bin/pulumi-analyzer-policy-nodejs",
        ]) {
            assert.ok(entries.includes(wanted), `${wanted} missing from the tarball:\n${entries.join("\n")}`);
        }
        const unwanted = entries.filter(
            (e) => /(^|\/)(test|bench|demo|example)\//.test(e) || (e.endsWith(".ts") && !e.endsWith(".d.ts")),
        );
        assert.deepEqual(unwanted, [], "the tarball ships tests, benchmarks, demos or TypeScript sources");
        lap(`packed ${tarballs[0]} (${entries.length} files)`);

        // 2. a fresh project, as `pulumi new typescript` lays it out, with the tarball installed
        const project = path.join(root, "project");
        fs.mkdirSync(project);
        const pulumiVersion = repoVersion("@pulumi/pulumi");
        fs.writeFileSync(
            path.join(project, "package.json"),
            JSON.stringify(
                {
                    name: "pgshift-tarball-user",
                    private: true,
                    main: "index.ts",
                    dependencies: { "@pulumi/pulumi": pulumiVersion, pgshift: `file:${tarball}` },
                    devDependencies: { "@types/node": repoVersion("@types/node") },
                },
                null,
                2,
            ),
        );
        // the tsconfig of Pulumi's typescript template (no skipLibCheck: pgshift's .d.ts are checked)
        fs.writeFileSync(
            path.join(project, "tsconfig.json"),
            JSON.stringify(
                {
                    compilerOptions: {
                        strict: true,
                        outDir: "bin",
                        target: "es2020",
                        module: "commonjs",
                        moduleResolution: "node",
                        sourceMap: true,
                        experimentalDecorators: true,
                        pretty: false,
                        noFallthroughCasesInSwitch: true,
                        noImplicitReturns: true,
                        forceConsistentCasingInFileNames: true,
                    },
                    files: ["index.ts"],
                },
                null,
                2,
            ),
        );
        fs.writeFileSync(
            path.join(project, "index.ts"),
            [
                `import * as pulumi from "@pulumi/pulumi";`,
                `import { ColumnTypeChange, type Stage } from "pgshift";`,
                ``,
                `const config = new pulumi.Config();`,
                `const change = new ColumnTypeChange("n", {`,
                `    table: "${TABLE}",`,
                `    column: "n",`,
                `    toType: "bigint",`,
                `    stage: (config.get("stage") ?? "expand") as Stage,`,
                `    connection: config.requireSecret("databaseUrl"),`,
                `});`,
                `export const shadowColumn = change.shadowColumn;`,
                ``,
            ].join("\n"),
        );
        await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], project, 150_000);
        const installed = path.join(project, "node_modules", "pgshift");
        assert.ok(!fs.lstatSync(installed).isSymbolicLink(), "node_modules/pgshift is a link, not the unpacked tarball");
        const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
        await run(process.execPath, [tsc, "--noEmit", "-p", project], project, 120_000);
        lap("installed and type-checked");

        // 3. `pulumi up` from the project: program, library and dynamic provider from its node_modules
        const projectRequire = createRequire(path.join(project, "index.ts"));
        const inProject = (request: string) => {
            const file = projectRequire.resolve(request);
            assert.ok(
                !path.relative(path.join(project, "node_modules"), file).startsWith(".."),
                `${request} resolves to ${file}, outside the project's node_modules`,
            );
            return file;
        };
        assert.equal(inProject("pgshift"), path.join(installed, "dist", "index.js"));
        assert.equal(inProject("pgshift/provider"), path.join(installed, "dist", "src", "provider", "index.js"));
        inProject("@pulumi/pulumi");
        inProject("pg");
        const pgshift = projectRequire("pgshift") as typeof import("../../index");
        const pulumi = projectRequire("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        const automation = projectRequire("@pulumi/pulumi/automation") as AutomationModule;
        // the project's own runtime (and grpc-js): the same channel isolation as the repo's copy
        isolateProgramChannels(projectRequire("@pulumi/pulumi/runtime/settings"));

        const probe = path.join(root, "probe.cjs");
        fs.writeFileSync(probe, PROBE);
        const probeLog = path.join(root, "probe.log");
        const program = async () => {
            const change = new pgshift.ColumnTypeChange("n", {
                table: TABLE,
                column: "n",
                toType: "bigint",
                stage: (new pulumi.Config().get("stage") ?? "expand") as "expand" | "cutover",
                connection: pulumi.secret(db.url),
            });
            return { shadowColumn: change.shadowColumn };
        };
        const stack = await createStack({
            projectName: "pgshift-tarball",
            program,
            workDir: project,
            installsPgshift: true,
            automation,
            envVars: { NODE_OPTIONS: `--require ${probe}`, PGSHIFT_PROBE_LOG: probeLog },
            // the installed policy pack's analyzer script, for this CLI without pulumi-language-nodejs
            pathDirs: [path.join(installed, "dist", "policy", "bin")],
        });
        const policyPacks = [path.join(installed, "dist", "policy")];

        const schemaBefore = await describeTableSchema(db.url, TABLE);
        const digest = () =>
            withClient(db.url, async (c) => (await c.query(`SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS d FROM ${TABLE} t`)).rows[0].d as string);
        const dataBefore = await digest();

        const out = collectOutput();
        // the installed policy pack judges the program: nothing -> cutover in one update is refused
        await stack.setConfig("stage", { value: "cutover" });
        await assert.rejects(stack.preview({ onOutput: out.onOutput, policyPacks }), (err: Error) => /mandatory\]\s+pgshift-one-stage-per-update/.test(err.message + out.text()));
        await stack.setConfig("stage", { value: "expand" });
        out.clear();
        const up = await stack.up({ onOutput: out.onOutput, policyPacks });
        assert.equal(up.summary.result, "succeeded", out.text());
        assert.equal(up.outputs.shadowColumn?.value, "n__pgshift_new");
        await withClient(db.url, async (c) => {
            const { rows: cols } = await c.query(
                `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
                [TABLE],
            );
            assert.deepEqual(cols, [
                { column_name: "id", data_type: "integer" },
                { column_name: "n", data_type: "integer" },
                { column_name: "n__pgshift_new", data_type: "bigint" },
            ]);
            const { rows } = await c.query(
                `SELECT count(*)::int AS total, count(*) FILTER (WHERE n__pgshift_new IS DISTINCT FROM n::bigint)::int AS differ FROM ${TABLE}`,
            );
            assert.deepEqual(rows[0], { total: ROWS, differ: 0 });
        });
        lap("up");

        out.clear();
        const destroyed = await stack.destroy({ onOutput: out.onOutput });
        assert.equal(destroyed.summary.result, "succeeded", out.text());
        assert.equal(await describeTableSchema(db.url, TABLE), schemaBefore, "destroy did not restore the table");
        assert.equal(await digest(), dataBefore, "destroy changed the data");
        lap("destroyed");

        // the dynamic-provider processes loaded the installed package, not the repo's
        const loads = fs
            .readFileSync(probeLog, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { pid: number; cwd: string; request: string; file: string });
        const providerLoads = loads.filter((l) => l.request === "pgshift/provider" && l.pid !== process.pid);
        assert.ok(providerLoads.length > 0, `no dynamic-provider process required pgshift/provider:\n${JSON.stringify(loads, null, 2)}`);
        for (const l of providerLoads) {
            assert.equal(l.file, path.join(installed, "dist", "src", "provider", "index.js"), JSON.stringify(l));
            assert.equal(l.cwd, project, JSON.stringify(l));
        }
    });
});
