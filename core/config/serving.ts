import { z } from "zod";
import { exploreValueModelSchema, suggestedValueModelSchema } from "./value-model";
import { suggestedConfigSchema } from "./suggested";
import { experimentsSchema } from "./experiments";

import { COLD_USER_RULES, DEFAULT_COLD_USER_RULES, DEFAULT_SOURCE_QUERIES, checkSourceQuery } from "./sources";
import { SOURCE_NAMES, type SourceName } from "./source-names";

export { SOURCE_NAMES, type SourceName };

const queryText = z.string().min(1).max(4096);

/** One source: its query (or several, merged by best score), its weight in the mix and its quota. */
function sourceSchema(defaults?: { query: string | readonly string[]; coldUsers: (typeof COLD_USER_RULES)[number] }) {
  const query = z.union([queryText, z.array(queryText).min(1).max(8)]);
  return z.strictObject({
    /** A query in the sourcing language (core/query/README.md), or several whose candidates are merged. */
    query: defaults ? query.default(() => (typeof defaults.query === "string" ? defaults.query : [...defaults.query])) : query,
    /** Multiplies the source's normalised scores when candidates are mixed. */
    weight: z.number().min(0).max(100),
    /** At most this many candidates from the source; the query may name it (`n=quota`). */
    quota: z.number().int().min(0).max(5000),
    /** Which users the source runs for: cold users only get sources that need no engagement history. */
    coldUsers: z.enum(COLD_USER_RULES).default(defaults?.coldUsers ?? "always"),
  });
}

const SOURCE_NAME = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * The shipped sources (each with its default query, so a config may give only weights and quotas), then any others
 * an engineer adds by name; JSON order is the order they run in.
 */
const sourcesSchema = z
  .object(Object.fromEntries(SOURCE_NAMES.map((name) => [name, sourceSchema({ query: DEFAULT_SOURCE_QUERIES[name], coldUsers: DEFAULT_COLD_USER_RULES[name] })])) as Record<SourceName, ReturnType<typeof sourceSchema>>)
  .catchall(sourceSchema())
  .superRefine((sources, context) => {
    for (const [name, source] of Object.entries(sources)) {
      if (!SOURCE_NAME.test(name)) context.addIssue({ code: "custom", message: `a source's name is lower-case letters, digits and _ (at most 40), found ${JSON.stringify(name)}`, path: [name] });
      const queries = typeof source.query === "string" ? [source.query] : source.query;
      queries.forEach((text, index) => {
        for (const problem of checkSourceQuery(text, source.quota)) context.addIssue({ code: "custom", message: problem, path: typeof source.query === "string" ? [name, "query"] : [name, "query", index] });
      });
    }
  });
export type SourceSetting = z.output<ReturnType<typeof sourceSchema>>;

/**
 * How a feed is served: retrieval mix, first-stage cut, value-model weights and rerank rules. It is data:
 * validated when loaded (bundle, KV), and a request may override parts of it for an experiment.
 */
export const servingConfigSchema = z.strictObject({
  /** The surface Explore requests are scored for when a request names none. */
  defaultSurface: z.number().int().min(0).max(1000),
  retrieval: z.strictObject({
    sources: sourcesSchema,
    /** At most this many merged candidates go on, the best by mixed score: where the source weights bite. */
    maxCandidates: z.number().int().min(1).max(10000).default(1500),
    /**
     * The mix also adds a · log(E_i/Ē + π) + b · affinity (the item's share of recent impressions and the retrieval
     * two-tower's (cos − 1)/τ, as in the value model's prior), so that deep in the list, where the sources' ranks
     * say little, the order still favours what the user is likely to be shown. 0 and 0 mix the sources alone.
     */
    exposureWeight: z.number().min(0).max(4).default(0),
    affinityWeight: z.number().min(0).max(4).default(0),
    /**
     * The two-tower source scans every item exactly (the USearch wasm module's SIMD scan) instead of walking the
     * HNSW graph when the catalogue holds at most this many items per requested result: a top-1,000 over 7,583
     * items took 0.21 ms scanned against 0.50 ms walked (BENCHMARKS.md), and found the true top-1,000 where the
     * walk found 99.6% of it. The scan grows with the catalogue, the walk far slower; 0 always walks.
     */
    exactSearchMaxItemsPerResult: z.number().min(0).max(1000).default(10),
  }),
  firstStage: z.strictObject({ keep: z.number().int().min(1).max(1000) }),
  valueModel: exploreValueModelSchema,
  suggestedValueModel: suggestedValueModelSchema,
  rerank: z.strictObject({
    dropSeen: z.boolean(),
    /** Items with an integrity score below this are dropped. */
    minIntegrity: z.number().min(0).max(1),
    /** Scores are multiplied by integrity^this (0 turns downranking off). */
    integrityDownrank: z.number().min(0).max(10),
    noAdjacentSameAuthor: z.boolean(),
    maxPerAuthor: z.number().int().min(1).max(100),
  }),
  /**
   * The page's exploration tail: from position `from` on, candidates are ordered with the prior's exposure exponent
   * replaced by `exposureExponent` (lower, or negative to lift what few have been shown), so the head keeps the best
   * bets and the rest of the page shows each user more of their own corner of the catalogue. The first stage keeps the tail's best too. A `from` at or
   * beyond the page size turns the tail off.
   */
  exploration: z.strictObject({
    from: z.number().int().min(0).max(1000),
    exposureExponent: z.number().min(-4).max(4),
  }).default({ from: 1000, exposureExponent: 0 }),
  /** Off-peak precomputation (the Worker's Cron Trigger): how many of the most active users, and how long a feed stays fresh. */
  precompute: z.strictObject({
    users: z.number().int().min(0).max(10000),
    maxAgeMinutes: z.number().int().min(1).max(7 * 24 * 60),
  }).default({ users: 200, maxAgeMinutes: 360 }),
  /**
   * Calibration from feedback (core/ranking/feedback-calibration.ts): the maps always correct the probabilities a feed
   * reports; `feedbackInRanking` lets the value models read them too. Off by default because the value models'
   * weights are tuned on the held-out slice's probabilities, which no feedback map touched.
   */
  calibration: z.strictObject({ feedbackInRanking: z.boolean() }).default({ feedbackInRanking: false }),
  coldStart: z.strictObject({
    /** Users with fewer engaged items than this are cold (users the bundle does not know always are). */
    minEngagements: z.number().int().min(0).max(1000),
  }),
  /** Suggested Posts (`POST /v1/suggested`): Home surfaces, the sourcing queries per seed type, merge and diversification. Defaults when absent. */
  suggested: suggestedConfigSchema,
  /** A/B experiments: each assigns users to arms that override parts of this config (core/experiments, README "Experiments"). */
  experiments: experimentsSchema,
});
export type ServingConfig = z.infer<typeof servingConfigSchema>;

export function parseServingConfig(json: unknown, source = "serving config"): ServingConfig {
  const parsed = servingConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
