import { z } from "zod";
import { analyzeQuery, type QueryPlan } from "../query";
import type { QueryLimits } from "../query";

/**
 * Suggested Posts' settings, a section of the serving config (`ServingConfig.suggested`). The sourcing itself is
 * data: each seed type has a list of queries in the sourcing query language (core/query), checked when the config
 * is loaded, so a bad query fails the config (bundle publish, `PUT /v1/admin/config`), never a request.
 */

/** Where a suggestion's seed came from: Home (H), other surfaces (R), fallback graph exploration (F), or the popular fill. */
export const SEED_TYPES = ["H", "R", "F"] as const;
export type SeedType = (typeof SEED_TYPES)[number];
export type SuggestionSource = SeedType | "popular";

/** The names `account_nn(embedding_config=…)` / `media_nn(embedding_config=…)` accept: the bundle's account and item embeddings. */
export const SUGGESTED_EMBEDDING_CONFIGS = ["default"] as const;
/** The names `rank(ranking_model=…)` accepts: "default" is the log-linear Suggested value model, "explore" Explore's Σ w·P. */
export const SUGGESTED_RANKING_MODELS = ["default", "explore"] as const;
export type SuggestedRankingModel = (typeof SUGGESTED_RANKING_MODELS)[number];

// The non-recommendable threshold mirrors Explore's rerank.minIntegrity = 0.02 (1 − 0.02).
const FILTER = ".filter(non_recommendable_model_threshold=0.98, exclude_seen=true, exclude_followed_authors=true)";

/**
 * The default sourcing. Every seeded query binds `seed_id` to the seed account, so each suggestion can say where
 * it came from; each ends in a round robin over seeds and a `limit`, so a heavy user's many seeds share the ranking
 * budget instead of the first seeds taking all of it.
 */
export const DEFAULT_SUGGESTED_QUERIES: Readonly<Record<SeedType | "popular", readonly string[]>> = {
  H: [
    // accounts like the ones the user engages with on Home (account embeddings), then their newest media; account_nn
    // is a brute-force scan (~0.6–1 ms per seed warm), so seeds are capped at 10 (20 measured no better on validation)
    `user\n.engaged(surface=home, max=10)\n.let(seed_id=account_id)\n.account_nn(k=10, embedding_config=default)\n.posted_media(max_media_per_account=3)\n${FILTER}\n.diversify_by(seed_id, method=round_robin)\n.limit(n=120)`,
    // media co-engaged with what the user engaged with on Home; the seed is the engaged media's author
    `user\n.engaged_media(surface=home, max=20)\n.let(seed_id=author_id)\n.cooccurred(k=10)\n${FILTER}\n.diversify_by(seed_id, method=round_robin)\n.limit(n=120)`,
  ],
  R: [
    `user\n.engaged(surface=other, max=5)\n.let(seed_id=account_id)\n.account_nn(k=10, embedding_config=default)\n.posted_media(max_media_per_account=3)\n${FILTER}\n.diversify_by(seed_id, method=round_robin)\n.limit(n=60)`,
    `user\n.engaged_media(surface=other, max=10)\n.let(seed_id=author_id)\n.cooccurred(k=10)\n${FILTER}\n.diversify_by(seed_id, method=round_robin)\n.limit(n=60)`,
  ],
  F: [
    // two hops: accounts engaged by the people who engage the accounts the user engaged (the article's "seed accounts")
    `user\n.engaged(surface=any, max=10)\n.two_hop(max=10)\n.let(seed_id=account_id)\n.posted_media(max_media_per_account=2)\n${FILTER}\n.diversify_by(seed_id, method=round_robin)\n.limit(n=60)`,
    // one hop: the other media of the accounts the user engaged
    `user\n.engaged(surface=any, max=20)\n.let(seed_id=account_id)\n.posted_media(max_media_per_account=3)\n${FILTER}\n.diversify_by(seed_id, method=round_robin)\n.limit(n=40)`,
  ],
  popular: [
    `user\n.popular(n=300)\n${FILTER}\n.limit(n=200)`,
    `user\n.trending(n=100)\n${FILTER}\n.limit(n=50)`,
  ],
};

const queryText = z.string().min(1).max(4096);

const homeFreshnessSchema = z
  .strictObject({
    lnAgeHours: z.array(z.number().finite()).max(512),
    logDensity: z.array(z.number().finite()).max(512),
  })
  .refine((table) => table.lnAgeHours.length === table.logDensity.length, { message: "lnAgeHours and logDensity must have the same length", path: ["logDensity"] })
  .refine((table) => table.lnAgeHours.every((x, i) => i === 0 || x > (table.lnAgeHours[i - 1] as number)), { message: "lnAgeHours must increase", path: ["lnAgeHours"] });

const suggestedObject = z.strictObject({
  /** Surfaces whose engagements make H seeds (`engaged(surface=home)`); every other surface makes R seeds. KuaiRand: tab 1. */
  homeSurfaces: z.array(z.number().int().min(0).max(1000)).min(1).max(100).default([1]),
  queries: z
    .strictObject({
      H: z.array(queryText).max(8),
      R: z.array(queryText).max(8),
      F: z.array(queryText).max(8),
      /** The fill for cold users (and for anyone whose seeds found too little). */
      popular: z.array(queryText).max(8),
    })
    .default(() => ({ H: [...DEFAULT_SUGGESTED_QUERIES.H], R: [...DEFAULT_SUGGESTED_QUERIES.R], F: [...DEFAULT_SUGGESTED_QUERIES.F], popular: [...DEFAULT_SUGGESTED_QUERIES.popular] })),
  /** F (graph exploration) runs when fewer than this many H/R seeds found candidates, or H and R found fewer than the request's count. */
  fallbackMinSeeds: z.number().int().min(0).max(1000).default(5),
  /** At most this many merged candidates (H first, then R, then F) are scored by the MTML. */
  maxRanked: z.number().int().min(1).max(2000).default(400),
  /** At most this many suggestions per seed. */
  maxPerSeed: z.number().int().min(1).max(100).default(4),
  /** At most this many suggestions per author. */
  maxPerAuthor: z.number().int().min(1).max(100).default(2),
  rankingModel: z.enum(SUGGESTED_RANKING_MODELS).default("default"),
  /**
   * Added to each candidate's (log-scale) score by where it came from, before the round robin orders the seeds: how
   * much a Home seed's suggestion is preferred to a popular one of the same predicted value. 100 apart gives strict
   * H >> R >> F >> popular; equal boosts let the value model decide.
   */
  typeBoost: z.strictObject({ H: z.number().min(-100).max(100), R: z.number().min(-100).max(100), F: z.number().min(-100).max(100), popular: z.number().min(-100).max(100) }).default({ H: 0, R: 0, F: 0, popular: 0 }),
  /**
   * Each query's executor budget (ms, ports included) once the isolate is warm; a bundle's first COLD_START_REQUESTS
   * requests get COLD_START_BUDGET_FACTOR times this (JIT and background wasm compilation right after loading). Warm, the
   * default queries take 0.1–2 ms each; the default leaves room for a loaded machine, where the clock is wall time
   * (Node, local workerd). Deployed workerd only advances the clock across I/O, so there it bounds I/O-separated
   * time and the platform's CPU limit bounds the rest: this guards against runaway queries, it does not meter CPU.
   */
  cpuBudgetMs: z.number().positive().max(10_000).default(50),
  /** How Home-like a page is made (core/suggested/home-like.ts); the defaults leave the ranking as it is. */
  home: z
    .strictObject({
      /** λ in score += λ · log p_Home(age): how strongly the page follows Home's freshness (the age at which the user's Home engagements happened). */
      freshnessWeight: z.number().min(0).max(10).default(0),
      /** Home's freshness, learned by the pipeline: log density of ln(1 + age in hours) at Home engagements, on a grid, 0 at Home's median age. Empty = no rule. */
      freshness: homeFreshnessSchema.default({ lnAgeHours: [], logDensity: [] }),
      /** Each media type may fill at most (its share of the user's Home engagements + this) of a page; 1 turns the rule off. */
      maxTypeExcess: z.number().min(0).max(1).default(1),
      /** γ in score += γ · cosine(author, the user's Home authors' centroid) in the account embeddings. */
      authorSimilarityWeight: z.number().min(0).max(10).default(0),
    })
    .prefault({}),
});

export type SuggestedConfig = z.output<typeof suggestedObject>;

/** The `suggested` section: absent in older JSON configs, so every field has a default and the defaults are validated too. */
export const suggestedConfigSchema = suggestedObject
  .superRefine((config, context) => {
    // zod runs this even when a field failed: a budget that is not a positive number has its own issue, and planning
    // the queries under it would throw (found by fuzzing: cpuBudgetMs 0 answered 500)
    if (!(config.cpuBudgetMs > 0 && Number.isFinite(config.cpuBudgetMs))) return;
    for (const type of [...SEED_TYPES, "popular"] as const) {
      config.queries[type].forEach((text, index) => {
        for (const problem of checkSuggestedQuery(text, type, config.cpuBudgetMs)) {
          context.addIssue({ code: "custom", message: problem, path: ["queries", type, index] });
        }
      });
    }
  })
  .prefault({});

/**
 * A bundle's first COLD_START_REQUESTS requests run their queries with COLD_START_BUDGET_FACTOR times the budget.
 * Why: the first runs are JIT-compiled as they go, and right after a bundle loads V8 is still compiling the
 * onnxruntime wasm in the background; measured in Node on 2 cores, account_nn's brute-force scan took 30–110 ms per
 * seed for the first calls after the models loaded, against 0.6–1 ms warm.
 */
export const COLD_START_BUDGET_FACTOR = 10;
export const COLD_START_REQUESTS = 20;

/** Plan options every suggested query is checked and run with. */
export function suggestedPlanOptions(cpuBudgetMs: number): { embeddingConfigs: readonly string[]; rankingModels: readonly string[]; limits: Partial<QueryLimits> } {
  return { embeddingConfigs: SUGGESTED_EMBEDDING_CONFIGS, rankingModels: SUGGESTED_RANKING_MODELS, limits: { cpuBudgetMs } };
}

/**
 * Every problem with one configured query: the language's own (syntax, types, limits), then Suggested Posts'
 * requirements: start from the requesting user, and for seeded queries bind `seed_id` to an account, because a
 * suggestion reports its seed account.
 */
export function checkSuggestedQuery(text: string, type: SeedType | "popular", cpuBudgetMs: number): string[] {
  const analysis = analyzeQuery(text, suggestedPlanOptions(cpuBudgetMs));
  if (analysis.errors.length > 0 || !analysis.plan) return analysis.errors.map((error) => error.message);
  const problems: string[] = [];
  const { plan } = analysis;
  if (plan.root.name !== "user") problems.push(`line ${plan.root.span.line}, column ${plan.root.span.column}: suggested queries start from the requesting user (root user), not ${plan.root.name}`);
  if (type !== "popular" && seedBinding(plan) === undefined) {
    problems.push(`a ${type} query must bind the seed account, e.g. .let(seed_id=account_id) on accounts or .let(seed_id=author_id) on media`);
  }
  return problems;
}

/** The expression the last `let` binds `seed_id` to, when it names an account (account_id or author_id). */
export function seedBinding(plan: QueryPlan): "account_id" | "author_id" | undefined {
  let found: "account_id" | "author_id" | undefined;
  for (const step of plan.steps) {
    for (const binding of step.bindings) {
      if (binding.name !== "seed_id") continue;
      found = binding.value.kind === "expression" && (binding.value.name === "account_id" || binding.value.name === "author_id") ? binding.value.name : undefined;
    }
  }
  return found;
}
