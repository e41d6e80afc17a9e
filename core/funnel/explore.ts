import { EXPLORE_SOURCES } from "./sources";
import { filterStage } from "./stages/filters";
import { firstStage } from "./stages/first-stage";
import { retrievalStage } from "./stages/retrieval";
import { rerankStage } from "./stages/rerank";
import { secondStage } from "./stages/second-stage";
import type { Candidate, FeedRequest, FeedState, FunnelTrace, Ranker, Stage } from "./types";

/** Explore is its list of stages: retrieval → filters → first stage → second stage (MTML + value model) → rerank. */
export const EXPLORE_STAGES: readonly Stage[] = [retrievalStage(EXPLORE_SOURCES), filterStage, firstStage, secondStage, rerankStage];

export interface FeedResult {
  readonly candidates: Candidate[];
  readonly trace: FunnelTrace;
  readonly degraded: string[];
  /** Milliseconds per stage, for Server-Timing. */
  readonly timings: Record<string, number>;
}

/** Runs `stages` in order for one request; each stage's counts and time go into the trace. */
export async function runFeed(ranker: Ranker, request: FeedRequest, stages: readonly Stage[] = EXPLORE_STAGES): Promise<FeedResult> {
  const state: FeedState = {
    request,
    ranker,
    trace: { stages: [], sources: {}, rules: [] },
    degraded: [...ranker.problems],
    timings: {},
  };
  let candidates: Candidate[] = [];
  for (const stage of stages) {
    const started = performance.now();
    const before = candidates.length;
    candidates = await stage.run(state, candidates);
    const ms = performance.now() - started;
    state.timings[stage.name] = (state.timings[stage.name] ?? 0) + ms;
    state.trace.stages.push({ stage: stage.name, in: before, out: candidates.length, ms });
  }
  return { candidates, trace: state.trace, degraded: state.degraded, timings: state.timings };
}
