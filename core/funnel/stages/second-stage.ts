import { LABELS } from "../../data/labels";
import { mtmlProbabilities, valueScores } from "../scoring";
import type { Candidate } from "../types";
import { candidateLogPriors } from "./prior";
import type { FeedState, Stage } from "../feed-state";

/**
 * The second stage: the MTML runs once on the whole batch, then the value model turns its per-task
 * probabilities into one score: EV = Σ w·P (hate weighted negatively) times the candidate's prior (and, when the
 * page has an exploration tail, a second score under the tail's prior).
 */
export const secondStage: Stage = {
  name: "second_stage",
  async run(state: FeedState, candidates: Candidate[]): Promise<Candidate[]> {
    const { tables, models } = state.bundle;
    const { request } = state;
    const byFirstStage = (reason: string) => {
      state.degraded.push(reason);
      candidates.forEach((candidate) => (candidate.score = candidate.value = candidate.firstStageScore ?? candidate.retrievalScore));
      return candidates;
    };
    if (!models.mtml) return byFirstStage("second-stage model unavailable: ranked by the first stage");
    if (candidates.some((candidate) => candidate.logPrior === undefined)) await candidateLogPriors(state, candidates);
    let probabilities: Float32Array;
    try {
      probabilities = await mtmlProbabilities(tables, { mtml: models.mtml, mtmlOneUser: models.mtmlOneUser }, request.user.context, candidates.map((candidate) => candidate.item), request.surface, request.nowMs, request.feedbackCalibration);
    } catch (error) {
      // a run that fails (a wasm trap in the runtime, a bad output) costs this request its second stage, not its answer
      return byFirstStage(`second-stage model failed: ${(error as Error).message}: ranked by the first stage`);
    }
    const values = valueScores(request.config.valueModel, probabilities, candidates.map((candidate) => candidate.logPrior ?? 0));
    const tailValues = candidates.some((candidate) => candidate.tailLogPrior !== undefined)
      ? valueScores(request.config.valueModel, probabilities, candidates.map((candidate) => candidate.tailLogPrior ?? candidate.logPrior ?? 0))
      : undefined;
    candidates.forEach((candidate, r) => {
      candidate.probabilities = probabilities.slice(r * LABELS.length, (r + 1) * LABELS.length);
      candidate.value = candidate.score = values[r] as number;
      if (tailValues) candidate.tailValue = tailValues[r] as number;
    });
    return candidates;
  },
};
