import { createApp } from "./app";
import { bundleCache } from "./bundle/runtime";
import { precomputeFeeds } from "./feeds/precompute";
import { FAULT_APPLIED_HEADER, injectFaults } from "./faults/inject";

export { Trending } from "./state/trending";
export { UserState } from "./state/user-state";
export { ItemShard } from "./shards/item-shard";
export { ExperimentCounter } from "./experiments/counter";
export { ItemDelta } from "./items/item-delta";

const app = createApp();

export default {
  // a reliability run's faults (worker/faults/inject.ts) wrap this request's bindings; off in a deployment
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const { env: served, faults } = await injectFaults(request, env);
    const response = await app.fetch(request, served, ctx);
    if (faults.length === 0) return response;
    // a copy: a response's headers may be immutable
    const marked = new Response(response.body, response);
    marked.headers.set(FAULT_APPLIED_HEADER, faults.join(","));
    return marked;
  },
  /** Off-peak (wrangler.toml [triggers]): precompute the most active users' feeds into KV. */
  async scheduled(controller, env, ctx) {
    await bundleCache.use(env, ctx, async (bundle) => {
      if (bundle.status !== "ready") {
        console.warn(`precompute skipped: no bundle (${bundle.reasons.join("; ")})`);
        return;
      }
      const result = await precomputeFeeds(env, bundle.decoded, controller.scheduledTime);
      console.log(`precomputed ${result.users} feeds in ${result.ms.toFixed(0)} ms`);
    });
  },
} satisfies ExportedHandler<Env>;
