import type { ExploreValueModel } from "../../config/value-model";
import { priorNeedsAffinity, priorSourceScore, retrievalOrderLogTerm, tailLogPrior } from "../../ranking/value-model";
import type { ServingConfig } from "../../config/serving";
import type { BundleTables } from "../../serving/bundle-tables";
import { rowDots } from "../../util/typed-arrays";
import { logPriors } from "../scoring";
import type { Candidate } from "../types";
import type { FeedState } from "../feed-state";

/**
 * The value model's log prior of each candidate (how likely it is to reach this user at all), computed once per
 * request and kept on the candidate: the first stage adds it to its distilled estimate of the expected value,
 * and the second stage multiplies the MTML's expected value by it.
 */
export async function candidateLogPriors(state: FeedState, candidates: readonly Candidate[]): Promise<void> {
  const model = state.request.config.valueModel;
  const embedding = priorNeedsAffinity(model) ? state.retrievalEmbedding : undefined;
  const quotas = state.request.config.retrieval.sources;
  const sourceScores = candidates.map((candidate) => priorSourceScore(model, candidate.sources, quotas) + retrievalOrderLogTerm(model, candidate.retrievalScore));
  const priors = logPriors(state.bundle.tables, model, candidates.map((candidate) => candidate.item), sourceScores, embedding);
  const tail = explorationTail(state.request.config, state.request.count);
  const { tables } = state.bundle;
  candidates.forEach((candidate, c) => {
    candidate.logPrior = priors[c] as number;
    if (tail) candidate.tailLogPrior = tailLogPrior(model, candidate.logPrior, tables.relativeExposure(candidate.item), tail.exposureExponent);
  });
}

/** The page's exploration tail (`ServingConfig.exploration`) when a page of `count` has one: it starts before the end. */
export function explorationTail(config: ServingConfig, count: number): ServingConfig["exploration"] | undefined {
  return config.exploration.from < count ? config.exploration : undefined;
}

