// Preloaded (NODE_OPTIONS=--require) into the dynamic-provider process of a `pulumi up` that
// test/support/upRunner.ts starts, to crash it at an exact, reproducible moment: right after
// (or `delayMs` after) the provider issues its k-th statement that is not a plain SELECT. Then
// it SIGKILLs the whole `pulumi up` tree: the runner's process group (the runner, the CLI) and
// its own (the engine may start plugins in a group of their own), as a crashed CI runner would.
// A statement already sent still runs on the server (a COMMIT commits), as in a real crash.
//
// Environment:
//   PGSHIFT_CRASH_AT        "k:delayMs"  (absent: only count)
//   PGSHIFT_CRASH_GROUP     process group of the runner
//   PGSHIFT_CRASH_LOG       file: one line per counted statement (calibration, and what was hit)
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const logFile = process.env.PGSHIFT_CRASH_LOG;
const [atText, delayText] = (process.env.PGSHIFT_CRASH_AT || "").split(":");
const at = Number(atText) || 0;
const delayMs = Number(delayText) || 0;
const group = Number(process.env.PGSHIFT_CRASH_GROUP) || 0;

function killTree() {
  if (logFile) fs.appendFileSync(logFile, "KILL\n");
  try {
    if (group) process.kill(-group, "SIGKILL");
  } catch {
    // already gone
  }
  process.kill(0, "SIGKILL");
}

// pg as the provider resolves it: from the Pulumi project dir (cwd) through pgshift's link
let pg;
try {
  pg = require(require.resolve("pg", { paths: [path.join(process.cwd(), "node_modules", "pgshift"), process.cwd()] }));
} catch {
  pg = undefined;
}
if (pg && (logFile || at)) {
  const original = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (config, ...rest) {
    const text = typeof config === "string" ? config : config && typeof config.text === "string" ? config.text : "";
    if (text && !/^\s*SELECT\b/i.test(text)) {
      count++;
      if (logFile) fs.appendFileSync(logFile, `${count} ${text.replace(/\s+/g, " ").slice(0, 160)}\n`);
      if (count === at) {
        if (delayMs > 0) setTimeout(killTree, delayMs);
        else setImmediate(killTree);
      }
    }
    return original.call(this, config, ...rest);
  };
}
