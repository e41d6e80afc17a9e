import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import type { UserStateSnapshot } from "../../core/realtime/events";
import { resolveUserSnapshot } from "../../core/realtime/snapshot-engagements";
import type { RealtimeUserState } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { trendingStub } from "../state/trending";
import { userStateStub } from "../state/user-state";

export interface RealtimeReadResult {
  readonly state: RealtimeUserState;
  readonly snapshot: UserStateSnapshot | undefined;
  /** Set when the user's Durable Object could not be read: the feed then serves from the bundle alone. */
  readonly problem?: string;
}

/** The user's real-time interactions, seen set and follows from their Durable Object, resolved to bundle rows. */
export async function readRealtimeUser(env: Env, bundle: ServingBundle, userId: string): Promise<RealtimeReadResult> {
  try {
    const snapshot = await withinTimeBudget(userStateStub(env, userId).snapshot(userId), REQUEST_BUDGETS_MS.stateObject, "the user's state object");
    const resolved = resolveUserSnapshot(snapshot, { ids: bundle.tables.items.ids, author: bundle.tables.items.author });
    return { state: { engagements: resolved.engagements, seenItems: resolved.seenItems, followedAuthors: resolved.followedAuthors }, snapshot };
  } catch (error) {
    return { state: { engagements: [], seenItems: new Set(), followedAuthors: new Set() }, snapshot: undefined, problem: `user state unavailable: ${(error as Error).message}` };
  }
}

const TRENDING_TTL_MS = 10_000;
let trendingCache: { at: number; version: string; value: { items: Int32Array; scores: Float32Array } } | undefined;

/** Real-time trending as bundle rows, and why it is missing or old when the trending object could not be read. */
export interface TrendingRead {
  readonly value: { items: Int32Array; scores: Float32Array } | undefined;
  readonly problem?: string;
}

/**
 * Real-time trending items (decayed engagement counts from the Trending Durable Object), as bundle rows.
 * One isolate asks at most every ten seconds: trending moves slowly and every request would otherwise pay an RPC.
 * When the object cannot answer, the list this isolate read last serves (or none), and the feed says degraded.
 */
export async function readTrending(env: Env, bundle: ServingBundle, nowMs: number): Promise<TrendingRead> {
  if (trendingCache && trendingCache.version === bundle.tables.version && nowMs - trendingCache.at < TRENDING_TTL_MS) return { value: trendingCache.value };
  try {
    const top = await withinTimeBudget(trendingStub(env).top(200), REQUEST_BUDGETS_MS.stateObject, "the trending object");
    const items: number[] = [];
    const scores: number[] = [];
    for (const entry of top) {
      const row = bundle.tables.items.ids.get(entry.item_id);
      if (row === undefined) continue;
      items.push(row);
      scores.push(entry.score);
    }
    const value = { items: Int32Array.from(items), scores: Float32Array.from(scores) };
    trendingCache = { at: nowMs, version: bundle.tables.version, value };
    return { value };
  } catch (error) {
    const kept = trendingCache?.version === bundle.tables.version ? trendingCache.value : undefined;
    return { value: kept, problem: `real-time trending unavailable (${kept ? "serving the list this isolate read last" : "serving the bundle's trending list alone"}): ${(error as Error).message}` };
  }
}
