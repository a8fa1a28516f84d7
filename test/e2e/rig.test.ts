// Smoke test of the Pulumi side of the test rig (test/support/pulumi.ts): the real CLI,
// the nodejs dynamic-provider plugin on PATH, the file backend and an inline program.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { collectOutput, createStack, exportedState, nodejsPluginDir, repoRuntimeSettings } from "../support/pulumi";

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

describe("test rig: a program's channels to its engine share no subchannel with an earlier run's", function () {
    // The grpc-js copy @pulumi/pulumi's runtime uses, so the pool under test is the programs' own.
    const grpc: typeof import("@grpc/grpc-js") = require(require.resolve("@grpc/grpc-js", { paths: [nodejsPluginDir] }));
    const ping = {
        path: "/pgshift.rig.Echo/Ping",
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
    } as const;
    const Echo = grpc.makeGenericClientConstructor({ ping }, "Echo");
    type EchoClient = InstanceType<typeof Echo> & { ping(req: Buffer, cb: (err: Error | null) => void): void };

    /** A stand-in engine on 127.0.0.1:<port> (0: any free port). */
    function engine(port: number): Promise<{ server: import("@grpc/grpc-js").Server; port: number }> {
        return new Promise((resolve, reject) => {
            const server = new grpc.Server();
            server.addService({ ping }, { ping: (_call: unknown, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.from("pong")) });
            server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
                err ? reject(err) : resolve({ server, port: bound }),
            );
        });
    }
    const call = (c: EchoClient) => new Promise<string>((resolve) => c.ping(Buffer.from("x"), (err) => resolve(err ? err.message : "ok")));

    /**
     * Run 1's program calls its engine after the engine has exited (its channel is never
     * closed, as the runtime leaves it); run 2's engine is given the same port. What run 2's
     * first call gets, with the client options given.
     */
    async function secondRunOnSamePort(options: Record<string, unknown>): Promise<string> {
        const first = await engine(0);
        const stale = new Echo(`127.0.0.1:${first.port}`, grpc.credentials.createInsecure(), options) as EchoClient;
        assert.equal(await call(stale), "ok");
        first.server.forceShutdown();
        assert.match(await call(stale), /UNAVAILABLE/);
        const second = await engine(first.port);
        const fresh = new Echo(`127.0.0.1:${second.port}`, grpc.credentials.createInsecure(), options) as EchoClient;
        try {
            return await call(fresh);
        } finally {
            fresh.close();
            stale.close();
            second.server.forceShutdown();
        }
    }

    it("with grpc-js's process-wide pool, run 2 fails at once as CI saw it", async () => {
        const shared = { ...repoRuntimeSettings.grpcClientOptions, "grpc.use_local_subchannel_pool": 0 };
        assert.match(await secondRunOnSamePort(shared), /14 UNAVAILABLE: No connection established\. Last error: null/);
    });

    it("with the rig's options (isolateProgramChannels), run 2 reaches its engine", async () => {
        assert.equal(repoRuntimeSettings.grpcClientOptions["grpc.use_local_subchannel_pool"], 1);
        assert.equal(await secondRunOnSamePort(repoRuntimeSettings.grpcClientOptions), "ok");
    });
});
