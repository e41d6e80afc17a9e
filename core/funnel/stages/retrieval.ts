import { executeQuery, type QueryPlan } from "../../query";
import { retrievalAffinity } from "../../ranking/value-model";
import type { RankerAssets } from "../../serving/ranker-assets";
import { topK } from "../../util/top-k";
import { gather } from "../../util/typed-arrays";
import type { ServingConfig, SourceSetting } from "../../config/serving";
import { planSourceQuery } from "../../config/sources";
import type { Candidate, FeedUser, QueryStepCount, SourceHit } from "../types";
import type { FeedState, Stage } from "../feed-state";

/** A source's candidates, best first. */
export interface SourceResult {
  readonly items: readonly number[];
  readonly scores: readonly number[];
  readonly note?: string;
  /** Each query step's counts, the queries one after another. */
  readonly steps?: readonly QueryStepCount[];
}

/** Candidates in the mixed retrieval order, best first (ties by item row). */
export function byRetrievalScore(candidates: readonly Candidate[]): Candidate[] {
  return [...candidates].sort((a, b) => b.retrievalScore - a.retrievalScore || a.item - b.item);
}

/**
 * Runs every source that applies (weight and quota above zero; for cold users only those whose `coldUsers` rule
 * admits them), then merges: each source's items get a rank-normalised score 1 − rank/quota times the source's
 * weight, an item's retrieval score is the sum over the sources that found it (plus the mix's exposure and affinity
 * terms), and every source is kept on the item. When more than `maxCandidates` come out, the best by that mixed
 * score go on. The output is not sorted: the first stage orders what it keeps (use `byRetrievalScore` where the
 * mixed order itself matters).
 */
export const retrievalStage: Stage = {
  name: "retrieval",
  async run(state: FeedState): Promise<Candidate[]> {
    const { config } = state.request;
    // One after another: the sources are CPU-bound in this isolate, and interleaving them with Promise.all
    // measured 0.23 ms slower per request.
    const results = [];
    for (const name of activeSources(state)) {
      const started = performance.now();
      try {
        const result = await runSource(state, name);
        results.push({ name, result, ms: performance.now() - started });
      } catch (error) {
        state.degraded.push(`source ${name} failed: ${(error as Error).message}`);
        results.push({ name, result: { items: [], scores: [], note: `failed: ${(error as Error).message}` }, ms: performance.now() - started });
      }
    }
    for (const { name, result, ms } of results) state.trace.sources[name] = { candidates: result.items.length, ms, ...(result.note ? { note: result.note } : {}), ...(result.steps ? { steps: result.steps } : {}) };
    const { exposureWeight, affinityWeight } = config.retrieval;
    const embedding = affinityWeight > 0 ? state.retrievalEmbedding : undefined;
    const terms = exposureWeight > 0 || embedding ? mixTerms(state.ranker.assets, config, embedding) : undefined;
    return mergeSourceResults(results, config.retrieval, state.ranker.assets.items.ids.size, terms);
  },
};

/** The sources that run for this request, in config order: weight and quota above zero, and the user admitted. */
export function activeSources(state: Pick<FeedState, "request">): string[] {
  const { config, user } = state.request;
  return Object.entries(config.retrieval.sources)
    .filter(([, source]) => source.weight > 0 && source.quota > 0 && admitsUser(source, user))
    .map(([name]) => name);
}

/** Whether a source runs for the user: every source for warm users, cold users per the source's `coldUsers` rule. */
export function admitsUser(source: Pick<SourceSetting, "coldUsers">, user: FeedUser): boolean {
  return !user.cold || source.coldUsers === "always" || (source.coldUsers === "with_features" && user.context.hasFeatures);
}

/**
 * One source's candidates for the request: its queries' candidates (an item several of them found keeps its best
 * score), best first (equal scores: lower item row first), at most `quota` (the configured one by default).
 */
export async function runSource(state: Pick<FeedState, "request" | "stores">, name: string, quota?: number): Promise<SourceResult> {
  const setting = state.request.config.retrieval.sources[name];
  if (!setting) throw new Error(`unknown source ${name}`);
  const wanted = quota ?? setting.quota;
  const best = new Map<number, number>();
  const notes: string[] = [];
  const steps: QueryStepCount[] = [];
  for (const plan of sourcePlans(state.request.config, name, wanted)) {
    const { candidates, trace } = await executeQuery(plan, state.stores, { userId: state.stores.userId }, state.request.clock ? { clock: state.request.clock } : {});
    for (const step of trace.steps) steps.push({ operator: step.operator, line: step.line, column: step.column, in: step.countIn, out: step.countOut });
    for (const candidate of candidates) {
      const previous = best.get(candidate.id);
      if (previous === undefined || candidate.score > previous) best.set(candidate.id, candidate.score);
    }
    const empty = trace.steps.find((step) => step.countOut === 0);
    if (empty && candidates.length === 0) notes.push(`${empty.operator} (line ${empty.line}) found nothing`);
  }
  const ranked = [...best.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, wanted);
  return { items: ranked.map(([item]) => item), scores: ranked.map(([, score]) => score), steps, ...(notes.length > 0 ? { note: notes.join("; ") } : {}) };
}

/** Whether one of the source's queries searches with the user's retrieval embedding (`user_nn`). */
export function sourceUsesUserEmbedding(config: ServingConfig, name: string): boolean {
  const setting = config.retrieval.sources[name];
  return setting !== undefined && sourcePlans(config, name, setting.quota).some((plan) => plan.steps.some((step) => step.operator.name === "user_nn"));
}

const planCache = new WeakMap<ServingConfig["retrieval"]["sources"], Map<string, QueryPlan[]>>();

/** A source's planned queries, once per config object and quota (the config was validated at load). */
function sourcePlans(config: ServingConfig, name: string, quota: number): QueryPlan[] {
  let plans = planCache.get(config.retrieval.sources);
  if (!plans) planCache.set(config.retrieval.sources, (plans = new Map()));
  const key = `${name}:${quota}`;
  let planned = plans.get(key);
  if (!planned) {
    const { query } = config.retrieval.sources[name] as SourceSetting;
    planned = (typeof query === "string" ? [query] : query).map((text) => planSourceQuery(text, quota));
    plans.set(key, planned);
  }
  return planned;
}

/**
 * The retrieval merge: each source's items get a rank-normalised score 1 − rank/quota times the source's weight, an
 * item's retrieval score is the sum over the sources that found it, and every source is kept on the item. When more
 * than `maxCandidates` come out, the best by that mixed score go on (unsorted). Offline tuning replays it.
 */
export function mergeSourceResults(results: readonly { readonly name: string; readonly result: Pick<SourceResult, "items" | "scores"> }[], retrieval: Pick<ServingConfig["retrieval"], "sources" | "maxCandidates">, catalogueSize: number, itemTerm?: (item: number) => number): Candidate[] {
  // Items index a per-request slot table rather than a Map: ~2,500 hits over a catalogue of a few thousand
  // rows, and the Map's hashing and the spread of its values were most of the merge's time.
  const slotOfItem = new Int32Array(catalogueSize).fill(-1);
  const merged: Candidate[] = [];
  for (const { name, result } of results) {
    const { weight, quota } = retrieval.sources[name] as SourceSetting;
    const { items, scores } = result;
    const count = Math.min(items.length, quota);
    for (let rank = 0; rank < count; rank++) {
      const item = items[rank] as number;
      const normalised = weight * (1 - rank / quota);
      const hit: SourceHit = { source: name, score: scores[rank] as number, rank };
      const slot = slotOfItem[item] as number;
      if (slot >= 0) {
        const existing = merged[slot] as Candidate;
        existing.sources.push(hit);
        existing.retrievalScore += normalised;
      } else {
        slotOfItem[item] = merged.length;
        // every field the later stages set, present from the start: one object shape, no growing
        merged.push({ item, sources: [hit], retrievalScore: normalised, logPrior: undefined, firstStageScore: undefined, probabilities: undefined, value: undefined, score: normalised });
      }
    }
  }
  if (itemTerm) for (const candidate of merged) candidate.retrievalScore += itemTerm(candidate.item);
  const cap = retrieval.maxCandidates;
  if (merged.length <= cap) return merged;
  const mixedScores = new Float64Array(merged.length);
  for (let i = 0; i < merged.length; i++) mixedScores[i] = (merged[i] as Candidate).retrievalScore;
  return gather(merged, topK(mixedScores, cap));
}

/** The mix's item terms, a · log(E_i/Ē + π) + b · affinity (`retrieval.exposureWeight`, `affinityWeight`). */
export function mixTerms(assets: RankerAssets, config: ServingConfig, userEmbedding: Float32Array | undefined): (item: number) => number {
  const { exposureWeight, affinityWeight } = config.retrieval;
  const share = config.valueModel.exposurePriorShare;
  const { dim, temperature } = assets.manifest.models.retrieval;
  return (item) => {
    let term = exposureWeight === 0 ? 0 : exposureWeight * Math.log(assets.relativeExposure(item) + share);
    if (userEmbedding && affinityWeight !== 0) term += affinityWeight * retrievalAffinity(userEmbedding, assets.retrievalItemEmbeddings, item, dim, temperature);
    return term;
  };
}
