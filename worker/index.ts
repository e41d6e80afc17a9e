import { createApp } from "./app";
import { bundleCache } from "./bundle/runtime";
import { precomputeFeeds } from "./feeds/precompute";

export { Trending } from "./state/trending";
export { UserState } from "./state/user-state";
export { ItemShard } from "./shards/item-shard";
export { ExperimentCounter } from "./experiments/counter";
export { ItemDelta } from "./items/item-delta";

const app = createApp();

export default {
  fetch: app.fetch,
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
