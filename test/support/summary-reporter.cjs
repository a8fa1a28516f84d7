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
        // Registered after Spec's own epilogue listener, so this line comes last.
        runner.once(EVENT_RUN_END, () => {
            const s = this.stats;
            process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
        });
    }
}

module.exports = SummaryReporter;
