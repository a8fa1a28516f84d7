// Mocha configuration of the whole suite (npm test and the test:* scripts).
//
// PGSHIFT_TEST_FOLDERS selects folders below test/ (comma-separated; default
// "unit,integration,e2e"). The test:unit / test:integration / test:e2e scripts set it,
// and .ci/run uses it to restrict the runs on PostgreSQL 14, 16, 17 and 18.
"use strict";

const KNOWN = ["unit", "integration", "e2e"];
const folders = (process.env.PGSHIFT_TEST_FOLDERS || KNOWN.join(","))
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
const unknown = folders.filter((f) => !KNOWN.includes(f));
if (unknown.length > 0 || folders.length === 0) {
    throw new Error(`PGSHIFT_TEST_FOLDERS: unknown folder(s) ${unknown.join(", ") || "(none given)"}; use ${KNOWN.join(", ")}`);
}

// Files or globs on the command line (`npx mocha test/e2e/rig.test.ts`) replace the folders:
// mocha would otherwise run them in addition to the configured spec.
const VALUE_FLAGS = new Set([
    "--config", "--package", "--reporter", "-R", "--reporter-option", "--reporter-options", "-O",
    "--require", "-r", "--file", "--ignore", "--exclude", "--extension", "--grep", "-g",
    "--fgrep", "-f", "--timeout", "-t", "--slow", "-s", "--retries", "--jobs", "-j", "--ui", "-u",
    "--node-option", "-n", "--spec", "--watch-files", "--watch-ignore",
]);
function hasPositionalSpecs(argv) {
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--") return i + 1 < argv.length;
        if (a.startsWith("-")) {
            if (!a.includes("=") && VALUE_FLAGS.has(a)) i++;
            if (a === "--spec") return true;
            continue;
        }
        return true;
    }
    return false;
}
const cliSpecs = hasPositionalSpecs(process.argv.slice(2));

module.exports = {
    ...(cliSpecs ? {} : { spec: folders.map((f) => `test/${f}/**/*.test.ts`) }),
    extension: ["ts"],
    // ts-node compiles the TypeScript test files, as Pulumi's Node.js runtime compiles
    // TypeScript programs; transpile-only, type-checking is tsc's (npm run typecheck).
    // hooks.ts is the root hook plugin (one PostgreSQL server per run).
    require: ["ts-node/register/transpile-only", "./test/support/hooks.ts"],
    reporter: "./test/support/summary-reporter.cjs",
    // e2e tests drive the real Pulumi CLI against a real server: be generous.
    timeout: 600000,
    slow: 10000,
    // Leftover handles (a pool a test forgot, gRPC servers of the Automation API) must not
    // keep CI waiting; the root afterAll hook has already stopped the server by then.
    exit: true,
    forbidOnly: Boolean(process.env.CI),
};
