import { analyzeQuery, planQuery, type QueryLimits, type QueryPlan } from "../query";
import { SUGGESTED_EMBEDDING_CONFIGS, SUGGESTED_RANKING_MODELS } from "./suggested";
import { SOURCE_NAMES, type SourceName } from "./source-names";

/**
 * Explore's retrieval sources are queries in the sourcing language (core/query), run by the one executor over the
 * bundle's stores (`BundleStores`), like Suggested Posts' expansions. A source's query may name its own `quota`
 * (`n=quota`): it is bound from the serving config when the query is planned. A source may also be several queries
 * (several walks from the user): an item found by more than one keeps its best score. The retrieval stage keeps each
 * source's candidates best first by score (equal scores: lower item row first), at most its quota.
 */
export const DEFAULT_SOURCE_QUERIES: Readonly<Record<SourceName, string | readonly string[]>> = {
  // the retrieval two-tower: the user tower on the freshest features, then the ANN index (an exact scan while the
  // catalogue is small next to the quota, `retrieval.exactSearchMaxItemsPerResult`)
  two_tower: "user\n.user_nn(n=quota)",
  // neighbours of the most recent engagements that pass the quality filter, newer seeds weighing more; the quota is
  // shared among the seeds, and no seed comes back as a candidate of another
  history: [
    "user",
    ".engaged_media(surface=any, max=40)",
    ".filter(min_integrity=0.05, exclude_seen=false, exclude_followed_authors=false)",
    ".limit(n=20)",
    ".position_weight(decay=0.1)",
    ".media_nn(k=1000, share=quota, score=product, combine=max, exclude_inputs=true)",
    ".top(n=quota)",
  ].join("\n"),
  // items co-engaged with the recent engagements, their co-occurrence summed over the seeds
  cooccurrence: "user\n.engaged_media(surface=any, max=20)\n.cooccurred(k=1000, combine=sum)\n.top(n=quota)",
  // the newest media of the authors the user follows or engages with, by affinity
  authors: "user\n.author_affinity(max=1000, follow_weight=10)\n.posted_media(max_media_per_account=5, score=rank, combine=max)\n.top(n=quota)",
  trending: "user\n.trending(n=quota)",
  popular: "user\n.popular(n=quota)",
  // graph exploration for sparse users, once they follow or liked two authors: one hop, those authors' newest media;
  // two hops, the media of the 30 authors most engaged by those authors' recent engagers, weighed against the strongest
  graph: [
    "user\n.followed_or_liked(max=1000, min_accounts=2)\n.scale(by=2)\n.posted_media(max_media_per_account=5, score=rank, combine=max)",
    [
      "user",
      ".followed_or_liked(max=100, min_accounts=2)",
      ".two_hop(max=1000, combine=sum, exclude_inputs=true)",
      ".top(n=30)",
      ".normalize()",
      ".posted_media(max_media_per_account=5, score=rank, combine=max)",
    ].join("\n"),
  ],
};

/** Which users a source runs for: cold users only get sources that need no engagement history. */
export const COLD_USER_RULES = ["always", "never", "with_features"] as const;
export type ColdUserRule = (typeof COLD_USER_RULES)[number];

export const DEFAULT_COLD_USER_RULES: Readonly<Record<SourceName, ColdUserRule>> = {
  two_tower: "with_features",
  history: "never",
  cooccurrence: "never",
  authors: "never",
  trending: "always",
  popular: "always",
  graph: "always",
};

/**
 * What one source query may cost. Retrieval asks for hundreds of items per source (Suggested Posts' queries for
 * tens), so the fan-out and sizes are wider; the time budget guards against a runaway query, it does not meter CPU.
 */
export const SOURCE_QUERY_LIMITS: Partial<QueryLimits> = { maxFanOut: 1000, maxStepItems: 200_000, maxCandidates: 10_000, cpuBudgetMs: 1000 };

function planOptions(quota: number) {
  return { embeddingConfigs: SUGGESTED_EMBEDDING_CONFIGS, rankingModels: SUGGESTED_RANKING_MODELS, limits: SOURCE_QUERY_LIMITS, parameters: { quota } };
}

/**
 * Every problem with one source's query (syntax, types, limits, with line and column), and that it ends in media. A
 * source with quota 0 is off and never runs; its query is still checked, as if its quota were 1.
 */
export function checkSourceQuery(text: string, quota: number): string[] {
  const analysis = analyzeQuery(text, planOptions(Math.max(quota, 1)));
  if (analysis.errors.length > 0 || !analysis.plan) return analysis.errors.map((error) => error.message);
  return analysis.plan.root.name === "user" ? [] : [`line ${analysis.plan.root.span.line}, column ${analysis.plan.root.span.column}: a source starts from the requesting user (root user), not ${analysis.plan.root.name}`];
}

export function planSourceQuery(text: string, quota: number): QueryPlan {
  return planQuery(text, planOptions(quota));
}

export { SOURCE_NAMES, type SourceName };
