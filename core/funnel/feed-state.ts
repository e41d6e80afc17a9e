import type { BundleStores } from "./stores";
import type { Candidate, FeedRequest, FunnelTrace } from "./types";
import type { ServingBundle } from "../serving/serving-bundle";

/**
 * One request's context, built once before any stage runs (`createFeedState`): the request, the bundle, what the
 * hydrators fetched (the user's retrieval embedding, the stores every source queries), and what the stages report.
 */
export interface FeedState {
  readonly request: FeedRequest;
  readonly bundle: ServingBundle;
  /** The user's retrieval two-tower embedding (undefined without the model, or when nothing in the request needs it). */
  readonly retrievalEmbedding: Float32Array | undefined;
  /** The bundle's query ports for this user and request. */
  readonly stores: BundleStores;
  readonly trace: FunnelTrace;
  /** Set when a stage could not run as designed (a model missing, a source failing). */
  readonly degraded: string[];
  /** Stage timings for Server-Timing. */
  readonly timings: Record<string, number>;
  /** Set only when someone inspects the request (core/funnel/trace.ts): what stages report about single candidates. */
  readonly candidateRecorder?: CandidateRecorder;
}

/** A rule of the page that passes a candidate over at a position (it may still be placed later, or never). */
export type PassOverRule = "max_per_author" | "no_adjacent_same_author";

/** What stages tell an inspection about single candidates, beyond the counts every trace keeps. */
export interface CandidateRecorder {
  passedOver(candidate: Candidate, position: number, rule: PassOverRule): void;
}

/** One step of a feed: takes the candidates so far, returns the next set. A product may extend the context (`S`). */
export interface Stage<S extends FeedState = FeedState> {
  readonly name: string;
  run(state: S, candidates: Candidate[]): Promise<Candidate[]> | Candidate[];
}
