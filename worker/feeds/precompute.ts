import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { z } from "zod";
import { experimentServing } from "../../core/experiments/serve";
import { runFeed } from "../../core/funnel/explore";
import { readLiveCounters } from "./live-counters";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../core/funnel/user";
import { exploreItem } from "../contract/feeds";
import { toItem } from "./explore-items";
import { readRealtimeUser } from "./realtime";
import { configFingerprint, effectiveConfig } from "./serving-config";

export const PRECOMPUTED_FEED_PREFIX = "feed/";
/** Which users have a precomputed feed, so requests read KV only for them. */
export const PRECOMPUTED_INDEX_KEY = "feed/index";
const PRECOMPUTED_PAGE = 100;

/** `surface` and `config` (its fingerprint) are what the feed was computed for: it serves no request for another. */
const storedFeedSchema = z.object({ version: z.string(), computed_at: z.number(), surface: z.number(), config: z.string(), items: z.array(exploreItem) });
export type StoredFeed = z.infer<typeof storedFeedSchema>;
const indexSchema = z.object({ version: z.string(), computed_at: z.number(), users: z.array(z.string()) });

/** The bundle's most active users: those with the most training-window events. */
export function mostActiveUsers(bundle: ServingBundle, count: number): string[] {
  const { histories, users } = bundle.tables;
  return Array.from({ length: users.ids.size }, (_, row) => ({ row, events: (histories.offsets[row + 1] as number) - (histories.offsets[row] as number) }))
    .filter((user) => user.events > 0)
    .sort((a, b) => b.events - a.events || a.row - b.row)
    .slice(0, count)
    .map((user) => users.ids.id(user.row));
}

/**
 * Off-peak precompute (the Cron Trigger): runs the full funnel for the most active users and stores a page of
 * 100 per user in KV, so their requests at peak skip the models and only filter what they have since seen.
 */
export async function precomputeFeeds(env: Env, bundle: ServingBundle, nowMs: number): Promise<{ users: number; ms: number }> {
  const started = performance.now();
  const { config } = await effectiveConfig(env, bundle, nowMs);
  // the item counters of the day the feeds are computed on, as that day's requests read them
  const counted = (await readLiveCounters(env, bundle, nowMs)).bundle;
  const users = mostActiveUsers(bundle, config.precompute.users);
  const ttl = Math.max(60, config.precompute.maxAgeMinutes * 60);
  for (const userId of users) {
    // each user's feed under their experiment arms, so that every arm is served from precomputed feeds alike
    const served = experimentServing(config, userId).config;
    const realtime = await readRealtimeUser(env, bundle, userId);
    const user = resolveFeedUser(bundle.tables, userId, realtime.state, served);
    const result = await runFeed(counted, { user, count: PRECOMPUTED_PAGE, surface: served.defaultSurface, nowMs, exclude: new Set(), config: served });
    const feed: StoredFeed = { version: bundle.tables.version, computed_at: nowMs, surface: served.defaultSurface, config: await configFingerprint(served), items: result.candidates.map((candidate) => toItem(bundle, candidate)) };
    await env.FEEDS.put(`${PRECOMPUTED_FEED_PREFIX}${userId}`, JSON.stringify(feed), { expirationTtl: ttl });
  }
  await env.FEEDS.put(PRECOMPUTED_INDEX_KEY, JSON.stringify({ version: bundle.tables.version, computed_at: nowMs, users }), { expirationTtl: ttl });
  indexCache = undefined;
  return { users: users.length, ms: performance.now() - started };
}

const INDEX_TTL_MS = 60_000;
let indexCache: { at: number; users: ReadonlySet<string>; version: string; computedAt: number } | undefined;

/** What a request needs a precomputed feed to have been computed for. */
export interface PrecomputedFeedMatch {
  readonly surface: number;
  readonly configFingerprint: string;
  readonly maxAgeMinutes: number;
}

/** The user's precomputed feed, when there is a fresh one for the bundle version in use, the surface and the config. */
export async function readPrecomputedFeed(env: Env, bundle: ServingBundle, userId: string, nowMs: number, match: PrecomputedFeedMatch): Promise<StoredFeed | undefined> {
  try {
    if (!indexCache || nowMs - indexCache.at > INDEX_TTL_MS) {
      const parsed = indexSchema.safeParse(await withinTimeBudget(env.FEEDS.get(PRECOMPUTED_INDEX_KEY, "json"), REQUEST_BUDGETS_MS.kvRead, "the precomputed feeds' index"));
      indexCache = parsed.success ? { at: nowMs, users: new Set(parsed.data.users), version: parsed.data.version, computedAt: parsed.data.computed_at } : { at: nowMs, users: new Set(), version: "", computedAt: 0 };
    }
    const fresh = (computedAt: number) => nowMs - computedAt <= match.maxAgeMinutes * 60_000 && computedAt <= nowMs;
    if (!indexCache.users.has(userId) || indexCache.version !== bundle.tables.version || !fresh(indexCache.computedAt)) return undefined;
    const parsed = storedFeedSchema.safeParse(await withinTimeBudget(env.FEEDS.get(`${PRECOMPUTED_FEED_PREFIX}${userId}`, "json"), REQUEST_BUDGETS_MS.kvRead, "a precomputed feed"));
    if (!parsed.success || parsed.data.version !== bundle.tables.version || !fresh(parsed.data.computed_at)) return undefined;
    if (parsed.data.surface !== match.surface || parsed.data.config !== match.configFingerprint) return undefined;
    return parsed.data;
  } catch {
    return undefined;
  }
}

export function resetPrecomputedIndexCache(): void {
  indexCache = undefined;
}

