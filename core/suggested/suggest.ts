import type { ServingConfig } from "../config/serving";
import { createFeedState } from "../funnel/explore";
import type { BundleStores } from "../funnel/stores";
import type { FeedRequest, Ranker } from "../funnel/types";
import { priorNeedsAffinity } from "../ranking/value-model";
import { executeQuery, isQueryError, planQuery, type ExecutionTrace, type QueryErrorJson, type QueryPlan } from "../query";
import { COLD_START_BUDGET_FACTOR, COLD_START_REQUESTS, suggestedPlanOptions, type SeedType, type SuggestedConfig, type SuggestionSource } from "../config/suggested";
import { roundRobinBySeed, type SeededItem } from "./diversify";

/** A Suggested Posts request: a feed request without a surface (suggestions are scored for Home, `suggested.homeSurfaces[0]`). */
export type SuggestedRequest = Omit<FeedRequest, "surface">;

export interface Suggestion {
  readonly item: number;
  readonly author: number;
  /** The value model's score (log scale for the default, log-linear model). */
  readonly score: number;
  /** The seed account's row; undefined for the popular fill. */
  readonly seedId: number | undefined;
  readonly seedType: SuggestionSource;
  /** MTML probabilities, LABELS order; undefined when the model was unavailable. */
  readonly probabilities: Float32Array | undefined;
}

/** One configured query's run, for the debug trace. */
export interface SuggestedQueryRun {
  readonly type: SuggestionSource;
  /** Position in `config.suggested.queries[type]`. */
  readonly index: number;
  /** The canonical text. */
  readonly query: string;
  readonly candidates: number;
  readonly trace?: ExecutionTrace;
  readonly error?: QueryErrorJson;
}

export interface SuggestedFeed {
  readonly items: Suggestion[];
  readonly cold: boolean;
  /** Why parts could not run as designed (a model, the account embeddings, a query failing). */
  readonly degraded: string[];
  readonly queries: SuggestedQueryRun[];
  /** Seed accounts (rows) that produced candidates, per type, in their query order. */
  readonly seeds: Record<SeedType, number[]>;
  /** Candidates per step: merged per type (after dedup), ranked, on the page per type. */
  readonly counts: { merged: Record<SeedType, number>; ranked: number; popular: number; page: Record<SuggestionSource, number> };
  /** Whether F (graph exploration) ran, and why. */
  readonly fallback: { readonly ran: boolean; readonly reason: string };
  readonly timings: Record<string, number>;
}

type SuggestedPlans = Record<SuggestionSource, QueryPlan[]>;
const planCache = new WeakMap<SuggestedConfig, { warm: SuggestedPlans; cold: SuggestedPlans }>();
/** Suggestion requests each ranker has served in this isolate: after COLD_START_REQUESTS its code paths are compiled. */
const servedRequests = new WeakMap<Ranker, number>();

/**
 * The configured queries, planned once per config object (the config was validated at load, so planning cannot
 * fail): with the configured budget, and `cold` with COLD_START_BUDGET_FACTOR times it for a ranker's first requests.
 */
export function suggestedPlans(config: SuggestedConfig): { warm: SuggestedPlans; cold: SuggestedPlans } {
  let plans = planCache.get(config);
  if (!plans) {
    const planAll = (budgetMs: number): SuggestedPlans => {
      const options = suggestedPlanOptions(budgetMs);
      const plan = (texts: readonly string[]) => texts.map((text) => planQuery(text, options));
      return { H: plan(config.queries.H), R: plan(config.queries.R), F: plan(config.queries.F), popular: plan(config.queries.popular) };
    };
    plans = { warm: planAll(config.cpuBudgetMs), cold: planAll(config.cpuBudgetMs * COLD_START_BUDGET_FACTOR) };
    planCache.set(config, plans);
  }
  return plans;
}

/** Everything Suggested Posts found for one request, before ranking. */
export interface SuggestionCandidates {
  readonly stores: BundleStores;
  /** The H >> R >> F merge (each item with the first seed that reached it), then the popular candidates. */
  readonly entries: readonly PoolEntry[];
  readonly degraded: string[];
  readonly queries: SuggestedQueryRun[];
  readonly seeds: Record<SeedType, number[]>;
  readonly merged: Record<SeedType, number>;
  readonly popular: number;
  readonly fallback: { readonly ran: boolean; readonly reason: string };
  readonly timings: Record<string, number>;
}

export interface PoolEntry {
  readonly item: number;
  /** The seed account's row; undefined for popular candidates. */
  readonly seedId: number | undefined;
  readonly seedType: SuggestionSource;
}

/**
 * Suggested Posts at the end of the feed:
 * 1. sourcing: H queries (seeds the user engaged with on Home), then R (other surfaces), then — for sparse users —
 *    F (graph exploration), and the popular candidates; every query comes from the config and runs on
 *    `SuggestedStores`;
 * 2. merge H >> R >> F: an item keeps the first seed that reached it; at most `maxRanked` go on, with the popular
 *    candidates after them;
 * 3. rank with the MTML and the log-linear value model, plus each seed type's boost;
 * 4. diversify round robin by seed (each popular candidate a group of its own), capped per seed and per author.
 * Cold users get only the popular candidates. Followed authors' and already-seen items never make it (the queries'
 * filter, then a final check).
 */
export async function suggestPosts(ranker: Ranker, request: SuggestedRequest): Promise<SuggestedFeed> {
  if (!Number.isInteger(request.count) || request.count < 1) throw new RangeError(`suggested: count must be a positive integer, got ${request.count}`);
  const found = await gatherSuggestionCandidates(ranker, request);
  const { stores, entries, degraded, timings } = found;
  const started = performance.now();
  const scores = await rankItems(stores, ranker, request.config, entries.map((entry) => entry.item), degraded);
  timings.rank = performance.now() - started;
  const diversifyStarted = performance.now();
  const page: Suggestion[] = assembleSuggestions(entries, scores, ranker.assets.items.author, request.config.suggested, request.count).map((entry) => ({
    item: entry.item,
    author: entry.author,
    score: entry.score,
    seedId: entry.seedId,
    seedType: entry.seedType,
    probabilities: stores.probabilitiesOf(entry.item),
  }));
  timings.diversify = performance.now() - diversifyStarted;
  const onPage: Record<SuggestionSource, number> = { H: 0, R: 0, F: 0, popular: 0 };
  for (const entry of page) onPage[entry.seedType]++;
  return {
    items: page,
    cold: request.user.cold,
    degraded: [...new Set(degraded)],
    queries: found.queries,
    seeds: found.seeds,
    counts: { merged: found.merged, ranked: entries.length, popular: found.popular, page: onPage },
    fallback: found.fallback,
    timings,
  };
}

/** Steps 3–4 on scored candidates (`scores[i]` for `entries[i]`): the type boosts, then the round robin by seed. */
export function assembleSuggestions(entries: readonly PoolEntry[], scores: ArrayLike<number>, author: Int32Array, settings: SuggestedConfig, count: number): SeededItem[] {
  const ranked: SeededItem[] = entries
    .map((entry, i) => ({ ...entry, author: author[entry.item] as number, score: (scores[i] as number) + settings.typeBoost[entry.seedType] }))
    .sort((a, b) => b.score - a.score || a.item - b.item);
  return roundRobinBySeed(ranked, { count, maxPerSeed: settings.maxPerSeed, maxPerAuthor: settings.maxPerAuthor });
}

/** Steps 1–2: the stores for the request, and every candidate with the seed (and seed type) that found it. */
export async function gatherSuggestionCandidates(ranker: Ranker, request: SuggestedRequest): Promise<SuggestionCandidates> {
  const settings = request.config.suggested;
  const served = servedRequests.get(ranker) ?? 0;
  servedRequests.set(ranker, served + 1);
  const plans = served >= COLD_START_REQUESTS ? suggestedPlans(settings).warm : suggestedPlans(settings).cold;
  const { stores } = await createFeedState(ranker, { ...request, surface: settings.homeSurfaces[0] as number }, suggestedNeedsRetrievalEmbedding);
  const { author } = ranker.assets.items;
  const degraded = [...ranker.problems];
  const queries: SuggestedQueryRun[] = [];
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      timings[name] = (timings[name] ?? 0) + performance.now() - started;
    }
  };

  /** Runs one type's queries; a failing query is reported and skipped (the others still serve). */
  const source = async (type: SuggestionSource) => {
    const found: { item: number; seedId: number | undefined }[] = [];
    for (const [index, plan] of plans[type].entries()) {
      try {
        const result = await executeQuery(plan, stores, { userId: stores.userId, seedType: type }, request.clock ? { clock: request.clock } : {});
        for (const candidate of result.candidates) {
          const seed = candidate.attributes["seed_id"];
          found.push({ item: candidate.id, seedId: typeof seed === "number" ? seed : undefined });
        }
        queries.push({ type, index, query: plan.text, candidates: result.candidates.length, trace: result.trace });
      } catch (error) {
        if (!isQueryError(error)) throw error;
        degraded.push(`${type} query ${index} failed: ${error.message}`);
        queries.push({ type, index, query: plan.text, candidates: 0, error: error.toJSON() });
      }
    }
    return found;
  };

  const pool: PoolEntry[] = [];
  const inPool = new Set<number>();
  const merged: Record<SeedType, number> = { H: 0, R: 0, F: 0 };
  const seeds: Record<SeedType, number[]> = { H: [], R: [], F: [] };
  const add = (type: SeedType, found: readonly { item: number; seedId: number | undefined }[]) => {
    const typeSeeds = new Set<number>();
    for (const { item, seedId } of found) {
      if (seedId === undefined || inPool.has(item)) continue;
      inPool.add(item);
      pool.push({ item, seedId, seedType: type });
      merged[type]++;
      if (!typeSeeds.has(seedId)) {
        typeSeeds.add(seedId);
        seeds[type].push(seedId);
      }
    }
  };
  add("H", await time("sourcing_h", () => source("H")));
  add("R", await time("sourcing_r", () => source("R")));
  const seedCount = new Set([...seeds.H, ...seeds.R]).size;
  const fallback = seedCount < settings.fallbackMinSeeds
    ? { ran: true, reason: `${seedCount} H/R seeds found candidates, fewer than fallbackMinSeeds = ${settings.fallbackMinSeeds}` }
    : pool.length < request.count
      ? { ran: true, reason: `H and R found ${pool.length} candidates, fewer than the ${request.count} asked for` }
      : { ran: false, reason: `${seedCount} H/R seeds and ${pool.length} candidates are enough` };
  if (fallback.ran) add("F", await time("sourcing_f", () => source("F")));

  // the queries filter already; this keeps the promise whatever an operator configures
  const followed = request.user.followedAuthors;
  const seen = stores.seenMedia(stores.userId);
  const allowed = (item: number) => !seen.has(item) && !followed.has(author[item] as number);
  const entries: PoolEntry[] = pool.filter((entry) => allowed(entry.item)).slice(0, settings.maxRanked);
  const seeded = new Set(entries.map((entry) => entry.item));
  let popular = 0;
  for (const { item } of await time("popular", () => source("popular"))) {
    if (!allowed(item) || seeded.has(item)) continue;
    seeded.add(item);
    entries.push({ item, seedId: undefined, seedType: "popular" });
    popular++;
  }
  return { stores, entries, degraded, queries, seeds, merged, popular, fallback, timings };
}

/** Suggested Posts' ranking weighs affinity: the log-linear model's retrieval exponent, or Explore's prior. */
function suggestedNeedsRetrievalEmbedding(request: FeedRequest): boolean {
  const { config } = request;
  return config.suggested.rankingModel === "explore" ? priorNeedsAffinity(config.valueModel) : config.suggestedValueModel.retrievalExponent !== 0;
}

/**
 * Scores through the `rank` port (MTML + value model). Without the MTML the items keep the value model's exposure
 * term alone, log(E_i/Ē + π) — a popularity order — and the feed says degraded.
 */
async function rankItems(stores: BundleStores, ranker: Ranker, config: ServingConfig, items: readonly number[], degraded: string[]): Promise<ArrayLike<number>> {
  if (items.length === 0) return [];
  if (ranker.models.mtml) return stores.rank(stores.userId, items, config.suggested.rankingModel);
  degraded.push("second-stage model unavailable: suggestions ranked by decayed impressions");
  const prior = config.suggestedValueModel.exposurePriorShare;
  return Float64Array.from(items, (item) => Math.log(ranker.assets.relativeExposure(item) + prior));
}

