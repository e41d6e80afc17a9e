import { COLD_START_BUDGET_FACTOR, COLD_START_REQUESTS, suggestedPlanOptions, type SeedType, type SuggestedConfig, type SuggestionSource } from "../config/suggested";
import { createFeedState, runStages } from "../funnel/explore";
import { REQUEST_BUDGETS_MS } from "../config/budgets";
import { TimeBudgetExceeded, withinTimeBudget } from "../util/time-budget";
import type { FeedState, Stage } from "../funnel/feed-state";
import type { BundleStores } from "../funnel/stores";
import type { Candidate, FeedRequest } from "../funnel/types";
import type { ServingBundle } from "../serving/serving-bundle";
import { executeQuery, isQueryError, planQuery, type ExecutionTrace, type QueryErrorJson, type QueryPlan } from "../query";
import { priorNeedsAffinity } from "../ranking/value-model";
import { roundRobinBySeed, type SeededItem } from "./diversify";
import { authorSimilarity, freshnessLogDensity, homeProfile, homeScoreTerm, typeMixRule, type HomeFreshness, type HomeProfile } from "./home-like";

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
  /** The Home terms (core/suggested/home-like.ts): the user's Home media-type mix, and each page item's terms. */
  readonly home: SuggestedHomeTrace;
}

export interface SuggestedHomeTrace {
  /** Share of each media type (catalogue type row) among the user's Home engagements. */
  readonly typeMix: ReadonlyMap<number, number>;
  /** Per page item, in page order: log p_Home(age) and the author's cosine to the Home authors. */
  readonly terms: readonly HomeTerms[];
}

/** The Home terms of one candidate, before their weights (`suggested.home`). */
export interface HomeTerms {
  readonly logFreshness: number;
  readonly authorSimilarity: number;
}

/** How many of the user's most recent Home-engaged items make the Home profile. */
export const HOME_PROFILE_ITEMS = 200;

type SuggestedPlans = Record<SuggestionSource, QueryPlan[]>;
const planCache = new WeakMap<SuggestedConfig, { warm: SuggestedPlans; cold: SuggestedPlans }>();
/** Suggestion requests each bundle has served in this isolate: after COLD_START_REQUESTS its code paths are compiled. */
const servedRequests = new WeakMap<ServingBundle, number>();

/**
 * The configured queries, planned once per config object (the config was validated at load, so planning cannot
 * fail): with the configured budget, and `cold` with COLD_START_BUDGET_FACTOR times it for a bundle's first requests.
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

/** What Suggested Posts' stages record beside the candidates: the query runs, the seeds, the merge and the fallback. */
export interface SuggestedRun {
  readonly plans: SuggestedPlans;
  readonly queries: SuggestedQueryRun[];
  readonly seeds: Record<SeedType, number[]>;
  readonly merged: Record<SeedType, number>;
  popular: number;
  /** Candidates the rank stage scores: the seeded ones kept, then the popular fill. */
  ranked: number;
  fallback: { readonly ran: boolean; readonly reason: string };
  /** Set by the page stage: the user's Home profile and the Home terms of what it placed. */
  home?: SuggestedHomeTrace;
}

/** The request context of Suggested Posts: Explore's, plus what its stages record. */
export interface SuggestedState extends FeedState {
  readonly suggested: SuggestedRun;
}

const entryOf = (candidate: Candidate): PoolEntry => ({ item: candidate.item, seedId: candidate.seed?.id, seedType: (candidate.seed?.type ?? "popular") as SuggestionSource });
const candidateOf = (entry: PoolEntry): Candidate => ({ item: entry.item, sources: [], retrievalScore: 0, score: 0, seed: { id: entry.seedId, type: entry.seedType } });

/** Runs one type's queries; a failing query is reported and skipped (the others still serve). */
async function runQueries(state: SuggestedState, type: SuggestionSource): Promise<{ item: number; seedId: number | undefined }[]> {
  const { stores, request, suggested } = state;
  const found: { item: number; seedId: number | undefined }[] = [];
  for (const [index, plan] of suggested.plans[type].entries()) {
    try {
      // a query waiting on a slow port (an item shard) is given up after a source's budget, like Explore's sources
      const result = await withinTimeBudget(executeQuery(plan, stores, { userId: stores.userId, seedType: type }, request.clock ? { clock: request.clock } : {}), REQUEST_BUDGETS_MS.source, `${type} query ${index}`);
      for (const candidate of result.candidates) {
        const seed = candidate.attributes["seed_id"];
        found.push({ item: candidate.id, seedId: typeof seed === "number" ? seed : undefined });
      }
      suggested.queries.push({ type, index, query: plan.text, candidates: result.candidates.length, trace: result.trace });
    } catch (error) {
      if (error instanceof TimeBudgetExceeded) {
        state.degraded.push(error.message);
        suggested.queries.push({ type, index, query: plan.text, candidates: 0, error: { kind: "runtime", code: "time_budget", message: error.message, line: 1, column: 1, offset: 0, length: plan.text.length } });
        continue;
      }
      if (!isQueryError(error)) throw error;
      state.degraded.push(`${type} query ${index} failed: ${error.message}`);
      suggested.queries.push({ type, index, query: plan.text, candidates: 0, error: error.toJSON() });
    }
  }
  return found;
}

async function timed<T>(state: FeedState, name: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    state.timings[name] = (state.timings[name] ?? 0) + performance.now() - started;
  }
}

/**
 * Sourcing: H queries (seeds the user engaged with on Home), then R (other surfaces), then — for sparse users — F
 * (graph exploration); merged H >> R >> F, an item keeping the first seed that reached it.
 */
const seededSourcing: Stage<SuggestedState> = {
  name: "sourcing",
  async run(state) {
    const { suggested, request } = state;
    const settings = request.config.suggested;
    const pool: Candidate[] = [];
    const inPool = new Set<number>();
    const add = (type: SeedType, found: readonly { item: number; seedId: number | undefined }[]) => {
      const typeSeeds = new Set<number>();
      for (const { item, seedId } of found) {
        if (seedId === undefined || inPool.has(item)) continue;
        inPool.add(item);
        pool.push(candidateOf({ item, seedId, seedType: type }));
        suggested.merged[type]++;
        if (!typeSeeds.has(seedId)) {
          typeSeeds.add(seedId);
          suggested.seeds[type].push(seedId);
        }
      }
    };
    add("H", await timed(state, "sourcing_h", () => runQueries(state, "H")));
    add("R", await timed(state, "sourcing_r", () => runQueries(state, "R")));
    const seedCount = new Set([...suggested.seeds.H, ...suggested.seeds.R]).size;
    suggested.fallback = seedCount < settings.fallbackMinSeeds
      ? { ran: true, reason: `${seedCount} H/R seeds found candidates, fewer than fallbackMinSeeds = ${settings.fallbackMinSeeds}` }
      : pool.length < request.count
        ? { ran: true, reason: `H and R found ${pool.length} candidates, fewer than the ${request.count} asked for` }
        : { ran: false, reason: `${seedCount} H/R seeds and ${pool.length} candidates are enough` };
    if (suggested.fallback.ran) add("F", await timed(state, "sourcing_f", () => runQueries(state, "F")));
    return pool;
  },
};

/**
 * The filter and the popular fill: never a followed author's or an already-seen item (the queries filter already;
 * this keeps the promise whatever an operator configures), at most `maxRanked` seeded candidates, then the popular
 * candidates after them.
 */
const popularFill: Stage<SuggestedState> = {
  name: "popular",
  async run(state, candidates) {
    const { stores, request, suggested, bundle } = state;
    const { author } = bundle.tables.items;
    const followed = request.user.followedAuthors;
    const seen = stores.seenMedia(stores.userId);
    const allowed = (item: number) => !seen.has(item) && !followed.has(author[item] as number);
    const kept = candidates.filter((candidate) => allowed(candidate.item)).slice(0, request.config.suggested.maxRanked);
    const inPool = new Set(kept.map((candidate) => candidate.item));
    for (const { item } of await runQueries(state, "popular")) {
      if (!allowed(item) || inPool.has(item)) continue;
      inPool.add(item);
      kept.push(candidateOf({ item, seedId: undefined, seedType: "popular" }));
      suggested.popular++;
    }
    suggested.ranked = kept.length;
    return kept;
  },
};

/**
 * Ranking through the `rank` port (MTML + value model), plus each seed type's boost. Without the MTML the items keep
 * the value model's exposure term alone, log(E_i/Ē + π) — a popularity order — and the feed says degraded.
 */
const suggestedRank: Stage<SuggestedState> = {
  name: "rank",
  async run(state, candidates) {
    const { stores, request, bundle } = state;
    const items = candidates.map((candidate) => candidate.item);
    const byExposure = (reason: string): Float64Array => {
      state.degraded.push(reason);
      const prior = request.config.suggestedValueModel.exposurePriorShare;
      return Float64Array.from(items, (item) => Math.log(bundle.tables.relativeExposure(item) + prior));
    };
    let scores: ArrayLike<number>;
    if (items.length === 0) scores = [];
    else if (bundle.models.mtml) {
      try {
        scores = await stores.rank(stores.userId, items, request.config.suggested.rankingModel);
      } catch (error) {
        // a failed MTML run (a wasm trap) costs this request its ranking model, as a missing model would
        scores = byExposure(`second-stage model failed: ${(error as Error).message}: suggestions ranked by decayed impressions`);
      }
    } else scores = byExposure("second-stage model unavailable: suggestions ranked by decayed impressions");
    candidates.forEach((candidate, i) => {
      candidate.value = candidate.score = scores[i] as number;
      const probabilities = stores.probabilitiesOf(candidate.item);
      if (probabilities) candidate.probabilities = probabilities;
    });
    return candidates;
  },
};

/**
 * The page: the seed types' boosts and the Home terms (freshness, author similarity), then the round robin by seed,
 * capped per seed and per author and held to the user's Home media-type mix.
 */
const seedRoundRobin: Stage<SuggestedState> = {
  name: "diversify",
  run(state, candidates) {
    const { request, bundle, stores, suggested } = state;
    const { items, accountEmbeddings } = bundle.tables;
    const profile = homeProfile(stores.engagedMedia(stores.userId, "home", HOME_PROFILE_ITEMS), items.type, items.author, accountEmbeddings);
    const terms = candidates.map((candidate) => homeTermsOf(bundle, request.config.suggested.home.freshness, profile, candidate.item, request.nowMs));
    const page = assembleSuggestions(candidates.map(entryOf), candidates.map((candidate) => candidate.score), items.author, request.config.suggested, request.count, request.precedingAuthors, { terms, profile, typeOf: items.type });
    const byItem = new Map(candidates.map((candidate, i) => [candidate.item, { candidate, terms: terms[i] as HomeTerms }]));
    suggested.home = { typeMix: profile.typeMix, terms: page.map((entry) => (byItem.get(entry.item) as { terms: HomeTerms }).terms) };
    return page.map((entry) => ({ ...(byItem.get(entry.item) as { candidate: Candidate }).candidate, score: entry.score }));
  },
};

/** One candidate's Home terms, before their weights. */
export function homeTermsOf(bundle: ServingBundle, freshness: HomeFreshness, profile: HomeProfile, item: number, nowMs: number): HomeTerms {
  const { items, accountEmbeddings } = bundle.tables;
  return {
    logFreshness: freshnessLogDensity(freshness, items.createdAt[item] as number, nowMs),
    authorSimilarity: authorSimilarity(profile, accountEmbeddings, items.author[item] as number),
  };
}

/**
 * Suggested Posts at the end of the feed, as a list of stages over the request context Explore builds too (the
 * same stores, the same executor, the same scoring): sourcing (H, R, F queries; merge H >> R >> F), the filter and
 * popular fill, ranking with the MTML and the log-linear value model, and the round robin by seed. Cold users get
 * only the popular candidates (their seed queries find nothing).
 */
export const SUGGESTED_STAGES: readonly Stage<SuggestedState>[] = [seededSourcing, popularFill, suggestedRank, seedRoundRobin];

/** The request context of a Suggested Posts request: Home's surface, and its query plans (the cold-start budget for a bundle's first requests). */
export async function createSuggestedState(bundle: ServingBundle, request: SuggestedRequest): Promise<SuggestedState> {
  const settings = request.config.suggested;
  const served = servedRequests.get(bundle) ?? 0;
  servedRequests.set(bundle, served + 1);
  const plans = served >= COLD_START_REQUESTS ? suggestedPlans(settings).warm : suggestedPlans(settings).cold;
  const state = await createFeedState(bundle, { ...request, surface: settings.homeSurfaces[0] as number }, suggestedNeedsRetrievalEmbedding);
  return { ...state, suggested: { plans, queries: [], seeds: { H: [], R: [], F: [] }, merged: { H: 0, R: 0, F: 0 }, popular: 0, ranked: 0, fallback: { ran: false, reason: "not decided" } } };
}

/** `runStages(context, SUGGESTED_STAGES)`, shaped as the page of suggestions with what the stages recorded. */
export async function suggestPosts(bundle: ServingBundle, request: SuggestedRequest): Promise<SuggestedFeed> {
  if (!Number.isInteger(request.count) || request.count < 1) throw new RangeError(`suggested: count must be a positive integer, got ${request.count}`);
  const state = await createSuggestedState(bundle, request);
  const result = await runStages(state, SUGGESTED_STAGES);
  const { author } = bundle.tables.items;
  const items: Suggestion[] = result.candidates.map((candidate) => ({
    item: candidate.item,
    author: author[candidate.item] as number,
    score: candidate.score,
    seedId: candidate.seed?.id,
    seedType: (candidate.seed?.type ?? "popular") as SuggestionSource,
    probabilities: candidate.probabilities,
  }));
  const onPage: Record<SuggestionSource, number> = { H: 0, R: 0, F: 0, popular: 0 };
  for (const entry of items) onPage[entry.seedType]++;
  const { suggested } = state;
  return {
    items,
    cold: request.user.cold,
    degraded: [...new Set(result.degraded)],
    queries: suggested.queries,
    seeds: suggested.seeds,
    counts: { merged: suggested.merged, ranked: suggested.ranked, popular: suggested.popular, page: onPage },
    fallback: suggested.fallback,
    timings: result.timings,
    home: suggested.home ?? { typeMix: new Map(), terms: [] },
  };
}

/** The Home side of the page's assembly: each entry's Home terms, the user's Home profile, the catalogue's media types. */
export interface HomeAssembly {
  readonly terms: readonly HomeTerms[];
  readonly profile: HomeProfile;
  readonly typeOf: ArrayLike<number>;
}

/**
 * Steps 3–4 on scored candidates (`scores[i]` for `entries[i]`): the type boosts, then the round robin by seed;
 * `precedingAuthors` continues a feed session's author cap.
 */
export function assembleSuggestions(entries: readonly PoolEntry[], scores: ArrayLike<number>, author: Int32Array, settings: SuggestedConfig, count: number, precedingAuthors?: readonly number[], home?: HomeAssembly): SeededItem[] {
  const homeTerm = (i: number) => {
    const terms = home?.terms[i];
    return terms ? homeScoreTerm(settings.home, terms.logFreshness, terms.authorSimilarity) : 0;
  };
  const ranked: SeededItem[] = entries
    .map((entry, i) => ({ ...entry, author: author[entry.item] as number, score: (scores[i] as number) + settings.typeBoost[entry.seedType] + homeTerm(i) }))
    .sort((a, b) => b.score - a.score || a.item - b.item);
  const admits = home ? typeMixRule(home.profile, home.typeOf, settings.home.maxTypeExcess, count) : undefined;
  return roundRobinBySeed(ranked, { count, maxPerSeed: settings.maxPerSeed, maxPerAuthor: settings.maxPerAuthor, precedingAuthors, ...(admits ? { admits } : {}) });
}

/** The sourcing stages alone: the stores for the request, and every candidate with the seed (and seed type) that found it. */
export async function gatherSuggestionCandidates(bundle: ServingBundle, request: SuggestedRequest): Promise<SuggestionCandidates> {
  const state = await createSuggestedState(bundle, request);
  const result = await runStages(state, [seededSourcing, popularFill]);
  const { suggested } = state;
  return {
    stores: state.stores,
    entries: result.candidates.map(entryOf),
    degraded: result.degraded,
    queries: suggested.queries,
    seeds: suggested.seeds,
    merged: suggested.merged,
    popular: suggested.popular,
    fallback: suggested.fallback,
    timings: result.timings,
  };
}

/** Suggested Posts' ranking weighs affinity: the log-linear model's retrieval exponent, or Explore's prior. */
function suggestedNeedsRetrievalEmbedding(request: FeedRequest): boolean {
  const { config } = request;
  return config.suggested.rankingModel === "explore" ? priorNeedsAffinity(config.valueModel) : config.suggestedValueModel.retrievalExponent !== 0;
}

