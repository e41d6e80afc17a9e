import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { z } from "zod";
import { FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";
import { userStateStub } from "../state/user-state";
import type { ExploreItem } from "./explore-items";

const fallbackListSchema = z.array(z.object({ item_id: z.string(), author_id: z.string(), score: z.number() }));
type FallbackList = z.infer<typeof fallbackListSchema>;

const FALLBACK_TTL_MS = 60_000;
let cache: { at: number; list: FallbackList } | undefined;

/**
 * Degraded mode: no usable bundle, so no models. Serves the popular list the last publish stored outside the
 * versioned keys, without what the user has seen (when their state is reachable) and without `exclude`.
 */
export async function serveFallback(env: Env, userId: string, count: number, exclude: readonly string[], nowMs: number): Promise<{ items: ExploreItem[]; reasons: string[] }> {
  const reasons: string[] = [];
  let list: FallbackList = [];
  if (cache && nowMs - cache.at < FALLBACK_TTL_MS) list = cache.list;
  else {
    try {
      const parsed = fallbackListSchema.safeParse(await withinTimeBudget(env.BUNDLES.get(FALLBACK_POPULAR_KEY, "json"), REQUEST_BUDGETS_MS.kvRead, FALLBACK_POPULAR_KEY));
      if (parsed.success) {
        list = parsed.data;
        cache = { at: nowMs, list };
      } else reasons.push(`${FALLBACK_POPULAR_KEY} is missing or malformed`);
    } catch (error) {
      reasons.push(`${FALLBACK_POPULAR_KEY} unreadable: ${(error as Error).message}`);
    }
  }
  const skip = new Set(exclude);
  try {
    for (const id of (await withinTimeBudget(userStateStub(env, userId).snapshot(userId), REQUEST_BUDGETS_MS.stateObject, "the user's state object")).seen) skip.add(id);
  } catch (error) {
    reasons.push(`user state unavailable: ${(error as Error).message}`);
  }
  const items = list
    .filter((entry) => !skip.has(entry.item_id))
    .slice(0, count)
    .map((entry) => ({ item_id: entry.item_id, author_id: entry.author_id, score: entry.score, sources: ["popular"], p: null }));
  return { items, reasons };
}
