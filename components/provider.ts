import type * as pulumi from "@pulumi/pulumi";

/**
 * The dynamic provider that Pulumi serializes into the state. It is deliberately a shim: each
 * method requires the installed pgshift implementation by package name at call time. So:
 * - no credential, client or module state is captured in the serialized closure (the
 *   connection arrives as a secret input on every call);
 * - `pg` and pgshift load inside the provider process, never at serialization time;
 * - a `pulumi destroy` run with an older state runs today's installed code, which keeps
 *   deletes compatible with every state pgshift ever wrote (the shim text itself never
 *   changes, so upgrading pgshift does not show up as a diff on every resource).
 * The require is resolved from the dynamic-provider process's working directory, which is the
 * Pulumi project directory, where pgshift is installed.
 */
export const stepProvider: pulumi.dynamic.ResourceProvider = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the engine passes untyped property bags
  async check(olds: any, news: any) {
    return require("pgshift/provider").check(olds, news);
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async diff(id: string, olds: any, news: any) {
    return require("pgshift/provider").diff(id, olds, news);
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async create(inputs: any) {
    return require("pgshift/provider").create(inputs);
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async update(id: string, olds: any, news: any) {
    return require("pgshift/provider").update(id, olds, news);
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async delete(id: string, props: any) {
    return require("pgshift/provider").remove(id, props);
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async read(id: string, props: any) {
    return require("pgshift/provider").read(id, props);
  },
};
