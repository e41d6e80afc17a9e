// Bindings the Worker sees (wrangler.toml), and the module behind `exports` in tests.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../index");
  }
  interface Env {
    USER_STATE: DurableObjectNamespace<import("../state/user-state").UserState>;
    TRENDING: DurableObjectNamespace<import("../state/trending").Trending>;
    /** Item shards of a catalogue too large for one isolate (worker/shards/item-shard.ts), used when the bundle has them. */
    ITEM_SHARDS: DurableObjectNamespace<import("../shards/item-shard").ItemShard>;
    /** One counter per A/B experiment of the serving config (worker/experiments/counter.ts). */
    EXPERIMENTS: DurableObjectNamespace<import("../experiments/counter").ExperimentCounter>;
    /** Live items: the delta since the bundle, upserts and takedowns (worker/items/item-delta.ts). */
    ITEM_DELTA: DurableObjectNamespace<import("../items/item-delta").ItemDelta>;
    /** Optional: ms the fan-out waits for an item shard before serving without it (default 250). */
    ITEM_SHARD_TIMEOUT_MS?: string;
    /** Optional: trending half-life in hours (default 6). */
    TRENDING_HALF_LIFE_HOURS?: string;
    /** Model bundles (core/bundle/kv-layout.ts): versioned files and the `bundle/active` pointer. */
    BUNDLES: KVNamespace;
    /** Optional: the per-client rate limit of every authenticated route (worker/http/rate-limit.ts); without it nothing is limited. */
    RATE_LIMITER?: RateLimit;
    /** Precomputed feeds of the most active users, written by the Cron Trigger. */
    FEEDS: KVNamespace;
    /** The event log: accepted events as CSV objects by UTC hour (worker/state/event-outbox.ts). Without it events wait in the outboxes. */
    EVENT_LOG?: R2Bucket;
    /** Optional: seconds between reads of `bundle/active` (default 30). */
    BUNDLE_REFRESH_SECONDS?: string;
    /** Secret: the bearer token of POST /v1/events (every request is refused while it is unset). */
    INGEST_TOKEN?: string;
    /** Secret: the bearer token of /v1/admin/* and /v1/query (every request is refused while it is unset). */
    ADMIN_TOKEN?: string;
    /** Optional: when set, /v1/explore and /v1/suggested need `Authorization: Bearer <FEED_TOKEN>`. */
    FEED_TOKEN?: string;
    /** Dev only, never deployed: "1" lets a request carrying the admin token inject faults (worker/faults/index.ts for the event path, worker/faults/inject.ts for the feeds). */
    ALLOW_FAULT_INJECTION?: string;
    /** Optional: "off" serves the MTML's probabilities without the maps of calibration from feedback (worker/feeds/feedback-calibration.ts). */
    FEEDBACK_CALIBRATION?: string;
    /** Optional: seconds an isolate keeps the stored serving config before reading it again (default 30). */
    CONFIG_REFRESH_SECONDS?: string;
  }
}
interface Env extends Cloudflare.Env {}
