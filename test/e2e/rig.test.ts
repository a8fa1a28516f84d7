// Smoke test of the Pulumi side of the test rig (test/support/pulumi.ts): the real CLI,
// the nodejs dynamic-provider plugin on PATH, the file backend and an inline program.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { collectOutput, createStack, exportedState, RIG_FLAKE } from "../support/pulumi";

const DYNAMIC_TYPE = "pulumi-nodejs:dynamic:Resource";

// A provider with only `create`: enough to prove that the engine starts the dynamic
// provider plugin and that the serialized provider runs in it. It also checks what the
// library's providers rely on: `require("pgshift/...")` and `require("pg")` resolve in the
// dynamic-provider process (its cwd is the stack's workDir below .work/).
const trivialProvider: pulumi.dynamic.ResourceProvider = {
    async create() {
        const pkg = require("pgshift/package.json");
        if (pkg.name !== "pgshift") throw new Error(`pgshift resolved to ${pkg.name}`);
        require.resolve("pg");
        return { id: "x", outs: {} };
    },
};

class Trivial extends pulumi.dynamic.Resource {
    constructor(name: string, opts?: pulumi.CustomResourceOptions) {
        super(trivialProvider, name, {}, opts);
    }
}

/** Engine events of one operation, for counting steps per resource type. */
function eventLog() {
    const events: EngineEvent[] = [];
    return {
        onEvent: (e: EngineEvent) => events.push(e),
        ops: (type: string) =>
            events
                .filter((e) => e.resOutputsEvent?.metadata.type === type)
                .map((e) => e.resOutputsEvent!.metadata.op),
    };
}

describe("test rig: Pulumi CLI + inline program + dynamic provider", function () {
    let stack: Stack;

    before(async () => {
        stack = await createStack({
            projectName: "pgshift-rig",
            program: async () => {
                const r = new Trivial("trivial");
                return { id: r.id };
            },
        });
    });

    after(async () => {
        // Leave nothing behind if a step in the middle failed.
        await stack?.destroy().catch(() => undefined);
    });

    it("previews one create", async () => {
        const out = collectOutput();
        const res = await stack.preview({ onOutput: out.onOutput });
        assert.equal(res.changeSummary.create, 2, `stack + trivial resource:\n${out.text()}`);
        assert.match(out.text(), /\+\s+.*trivial\s+create/);
    });

    it("creates the resource on up", async () => {
        const out = collectOutput();
        const ev = eventLog();
        const res = await stack.up({ onOutput: out.onOutput, onEvent: ev.onEvent });
        assert.equal(res.summary.result, "succeeded");
        assert.deepEqual(ev.ops(DYNAMIC_TYPE), ["create"], out.text());
        assert.equal(res.summary.resourceChanges?.create, 2, "the stack and the dynamic resource");
        assert.equal(res.outputs.id.value, "x");
        // Plugin wiring without noise: no "using pulumi-resource-pulumi-nodejs from $PATH".
        assert.doesNotMatch(out.text(), /warning:/, out.text());
        const state = JSON.parse(await exportedState(stack));
        const mine = state.deployment.resources.filter((r: { type: string }) => r.type === DYNAMIC_TYPE);
        assert.equal(mine.length, 1);
        assert.equal(mine[0].id, "x");
    });

    it("changes nothing on a second up", async () => {
        const out = collectOutput();
        const ev = eventLog();
        const res = await stack.up({ onOutput: out.onOutput, onEvent: ev.onEvent });
        assert.deepEqual(res.summary.resourceChanges, { same: 2 }, out.text());
        assert.deepEqual(ev.ops(DYNAMIC_TYPE), ["same"]);
    });

    it("destroys it", async () => {
        const out = collectOutput();
        const res = await stack.destroy({ onOutput: out.onOutput });
        assert.equal(res.summary.resourceChanges?.delete, 2, out.text());
        const state = JSON.parse(await exportedState(stack));
        assert.equal((state.deployment.resources ?? []).length, 0);
    });
});

describe("test rig: one more run after the rig's own gRPC flake, and only after it", function () {
    /**
     * A stack whose program's first `failures` runs fail with `message`. Thrown, not left as an
     * unhandled rejection: every inline program runs in this process, and a process-wide
     * rejection is no test's to leave behind.
     */
    async function failingStack(name: string, message: string, failures: number) {
        let runs = 0;
        const stack = await createStack({
            projectName: `pgshift-rig-${name}`,
            program: async () => {
                runs++;
                if (runs <= failures) throw new Error(message);
                return { runs };
            },
        });
        return { stack, runs: () => runs };
    }

    it("an up that failed with only the gRPC flake runs once more and succeeds", async () => {
        const { stack, runs } = await failingStack("flake-once", RIG_FLAKE, 1);
        const res = await stack.up();
        assert.equal(res.summary.result, "succeeded");
        assert.equal(runs(), 2);
        await stack.destroy();
    });

    it("a second flake in a row, or any other error, is the test's failure", async () => {
        const twice = await failingStack("flake-twice", RIG_FLAKE, 2);
        await assert.rejects(twice.stack.up(), (e: Error) => e.message.includes(RIG_FLAKE));
        assert.equal(twice.runs(), 2);
        const other = await failingStack("other", "pgshift: a real error", 1);
        await assert.rejects(other.stack.up(), /pgshift: a real error/);
        assert.equal(other.runs(), 1);
    });
});
