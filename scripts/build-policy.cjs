// Completes the policy pack in dist/policy after tsc (npm run build): the files tsc does not
// emit. @pulumi/policy reads the pack's version from the package.json of its directory, so
// one is written there with pgshift's own version (the one home of that fact).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const out = path.join(root, "dist", "policy");
fs.cpSync(path.join(root, "policy", "PulumiPolicy.yaml"), path.join(out, "PulumiPolicy.yaml"));
// the analyzer script for CLIs without pulumi-language-nodejs (cpSync keeps its mode)
fs.cpSync(path.join(root, "policy", "bin"), path.join(out, "bin"), { recursive: true });
const { version } = require(path.join(root, "package.json"));
fs.writeFileSync(path.join(out, "package.json"), `${JSON.stringify({ name: "pgshift-policy", version, private: true, main: "index.js" }, null, 2)}\n`);
