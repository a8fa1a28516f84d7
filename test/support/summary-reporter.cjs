// Mocha's spec reporter plus one closing line that CI parsers read:
//   tests: N passed, N failed, N skipped
// "failed" counts failed tests and failed hooks (mocha reports both as failures);
// "skipped" counts pending tests (it.skip, this.skip(), tests without a body).
// Plain JS so mocha can load it before any TypeScript hook is registered.
"use strict";
const Mocha = require("mocha");

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
    constructor(runner, options) {
        super(runner, options);
        // Plain text in pipes and CI logs. Mocha 12 colors whenever CI is set (supports-color),
        // and its symbols (the check mark) are pre-colored by picocolors regardless of
        // useColors; `color: false` in .mocharc is ignored. --color still forces colors.
        const forced = process.argv.some((a) => a === "--color" || a === "--colors" || a === "-c");
        if (!process.stdout.isTTY && !forced && process.env.MOCHA_COLORS === undefined) {
            const { Base } = Mocha.reporters;
            Base.useColors = false;
            for (const key of Object.keys(Base.symbols)) {
                Base.symbols[key] = String(Base.symbols[key]).replace(/\x1b\[[0-9;]*m/g, "");
            }
        }
        // Registered after Spec's own epilogue listener, so this line comes last.
        runner.once(EVENT_RUN_END, () => {
            const s = this.stats;
            process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
        });
    }
}

module.exports = SummaryReporter;
