import { SOURCE_NAMES, type ServingConfig, type SourceName } from "../config";
import type { CandidateSource, SourceResult } from "../sources/source";
import { topK } from "../../util/top-k";
import { gather } from "../../util/typed-arrays";
import { retrievalAffinity } from "../../ranking/value-model";
import type { RankerAssets } from "../../serving/ranker-assets";
import { retrievalEmbedding } from "../sources/two-tower";
import type { Candidate, FeedState, SourceHit, Stage } from "../types";

/** Candidates in the mixed retrieval order, best first (ties by item row). */
export function byRetrievalScore(candidates: readonly Candidate[]): Candidate[] {
  return [...candidates].sort((a, b) => b.retrievalScore - a.retrievalScore || a.item - b.item);
}

/**
 * Runs every source that applies (weight and quota above zero; for cold users only the cold-start sources),
 * then merges: each source's items get a rank-normalised score 1 − rank/quota times the source's weight, an
 * item's retrieval score is the sum over the sources that found it (plus the mix's exposure and affinity terms),
 * and every source is kept on the item. When more than `maxCandidates` come out, the best by that mixed score go on. The output is not sorted: the
 * first stage orders what it keeps (use `byRetrievalScore` where the mixed order itself matters).
 */
export function retrievalStage(sources: Readonly<Record<SourceName, CandidateSource>>): Stage {
  return {
    name: "retrieval",
    async run(state: FeedState): Promise<Candidate[]> {
      const { config, user } = state.request;
      const active = SOURCE_NAMES.filter((name) => {
        const setting = config.retrieval.sources[name];
        return setting.weight > 0 && setting.quota > 0 && (!user.cold || sources[name].forColdUsers(user));
      });
      // One after another: the sources are CPU-bound in this isolate (their only await is the user tower on
      // onnxruntime-web), and interleaving them with Promise.all measured 0.23 ms slower per request.
      const results = [];
      for (const name of active) {
        const started = performance.now();
        try {
          const result = await sources[name].retrieve(state, config.retrieval.sources[name].quota);
          results.push({ name, result, ms: performance.now() - started });
        } catch (error) {
          state.degraded.push(`source ${name} failed: ${(error as Error).message}`);
          results.push({ name, result: { items: [], scores: [], note: `failed: ${(error as Error).message}` }, ms: performance.now() - started });
        }
      }
      for (const { name, result, ms } of results) state.trace.sources[name] = { candidates: result.items.length, ms, ...(result.note ? { note: result.note } : {}) };
      const { exposureWeight, affinityWeight } = config.retrieval;
      const embedding = affinityWeight > 0 ? await retrievalEmbedding(state) : undefined;
      const terms = exposureWeight > 0 || embedding ? mixTerms(state.ranker.assets, config, embedding) : undefined;
      return mergeSourceResults(results, config.retrieval, state.ranker.assets.items.ids.size, terms);
    },
  };
}

/**
 * The retrieval merge: each source's items get a rank-normalised score 1 − rank/quota times the source's weight, an
 * item's retrieval score is the sum over the sources that found it, and every source is kept on the item. When more
 * than `maxCandidates` come out, the best by that mixed score go on (unsorted). Offline tuning replays it.
 */
export function mergeSourceResults(results: readonly { readonly name: SourceName; readonly result: Pick<SourceResult, "items" | "scores"> }[], retrieval: Pick<ServingConfig["retrieval"], "sources" | "maxCandidates">, catalogueSize: number, itemTerm?: (item: number) => number): Candidate[] {
  // Items index a per-request slot table rather than a Map: ~2,500 hits over a catalogue of a few thousand
  // rows, and the Map's hashing and the spread of its values were most of the merge's time.
  const slotOfItem = new Int32Array(catalogueSize).fill(-1);
  const merged: Candidate[] = [];
  for (const { name, result } of results) {
    const { weight, quota } = retrieval.sources[name];
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
