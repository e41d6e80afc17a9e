import { priorNeedsAffinity } from "../ranking/value-model";
import { embedUser } from "../serving/bundle-models";
import { filterStage } from "./stages/filters";
import { firstStage } from "./stages/first-stage";
import { activeSources, retrievalStage, sourceUsesUserEmbedding } from "./stages/retrieval";
import { rerankStage } from "./stages/rerank";
import { secondStage } from "./stages/second-stage";
import { BundleStores } from "./stores";
import type { Candidate, FeedRequest, FunnelTrace } from "./types";
import type { ServingBundle } from "../serving/serving-bundle";
import type { FeedState, Stage } from "./feed-state";

/** Explore is its list of stages: retrieval → filters → first stage → second stage (MTML + value model) → rerank. */
export const EXPLORE_STAGES: readonly Stage[] = [retrievalStage, filterStage, firstStage, secondStage, rerankStage];

export interface FeedResult {
  readonly candidates: Candidate[];
  readonly trace: FunnelTrace;
  readonly degraded: string[];
  /** Milliseconds per stage, for Server-Timing. */
  readonly timings: Record<string, number>;
}

/**
 * The request context, built once before the stages run. Its one hydrator that costs anything is the user's
 * retrieval embedding (the user tower, ~0.3 ms): computed when a source of the request searches with it, or a
 * value model or the mix weighs affinity with it.
 */
export async function createFeedState(bundle: ServingBundle, request: FeedRequest, needsRetrievalEmbedding: (request: FeedRequest) => boolean = exploreNeedsRetrievalEmbedding): Promise<FeedState> {
  const started = performance.now();
  const tower = bundle.models.retrievalUserTower;
  const degraded = [...bundle.problems];
  let retrievalEmbedding: Float32Array | undefined;
  try {
    retrievalEmbedding = tower && needsRetrievalEmbedding(request) ? await embedUser(tower, bundle.tables, request.user.context) : undefined;
  } catch (error) {
    // a failed run (a wasm trap) leaves the request without the embedding, as a missing tower would: the sources that
    // search with it fail and say so, the others serve
    degraded.push(`retrieval user tower failed: ${(error as Error).message}`);
  }
  const timings: Record<string, number> = {};
  if (retrievalEmbedding) timings.user_embedding = performance.now() - started;
  return {
    request,
    bundle,
    retrievalEmbedding,
    stores: new BundleStores(bundle, request, retrievalEmbedding),
    trace: { stages: [], sources: {}, rules: [] },
    degraded,
    timings,
  };
}

/** Explore's: a source searches with it (`user_nn`), or the value model's prior or the retrieval mix weighs affinity. */
export function exploreNeedsRetrievalEmbedding(request: FeedRequest): boolean {
  const { config } = request;
  return priorNeedsAffinity(config.valueModel) || config.retrieval.affinityWeight > 0 || activeSources({ request }).some((name) => sourceUsesUserEmbedding(config, name));
}

/** Runs `stages` in order for one request, over a context built once; each stage's counts and time go into the trace. */
export async function runFeed(bundle: ServingBundle, request: FeedRequest, stages: readonly Stage[] = EXPLORE_STAGES): Promise<FeedResult> {
  return runStages(await createFeedState(bundle, request), stages);
}

/** Runs `stages` in order over a built context. */
export async function runStages<S extends FeedState>(state: S, stages: readonly Stage<S>[]): Promise<FeedResult> {
  let candidates: Candidate[] = [];
  for (const stage of stages) {
    const started = performance.now();
    const before = candidates.length;
    candidates = await stage.run(state, candidates);
    const ms = performance.now() - started;
    state.timings[stage.name] = (state.timings[stage.name] ?? 0) + ms;
    state.trace.stages.push({ stage: stage.name, in: before, out: candidates.length, ms });
  }
  state.degraded.push(...state.stores.problems);
  const shardMs = state.stores.itemShardMs;
  if (shardMs.length > 0) {
    // the slowest shard bounds the fan-out; the sum is what the shards cost in CPU
    state.timings.item_shard_slowest = Math.max(...shardMs);
    state.timings.item_shards_total = shardMs.reduce((sum, ms) => sum + ms, 0);
  }
  return { candidates, trace: state.trace, degraded: state.degraded, timings: state.timings };
}
