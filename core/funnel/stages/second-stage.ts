import { LABELS } from "../../data/labels";
import { allocateMtmlInputs, prepareMtmlRequest, writeMtmlItemRow, type MtmlInputs, type MtmlRequestFeatures } from "../../features/mtml-features";
import type { UserContext } from "../../features/context";
import { impressionValue, type ExploreValueModel } from "../../ranking/value-model";
import type { RankerAssets } from "../../serving/ranker-assets";
import { runMtmlForOneUser, type MtmlSessions } from "../../serving/model-runs";
import type { Candidate, FeedState, Stage } from "../types";
import { candidateLogPriors } from "./prior";

/**
 * The second stage: the MTML runs once on the whole batch, then the value model turns its per-task
 * probabilities into one score: EV = Σ w·P (hate weighted negatively) times the candidate's prior (and, when the
 * page has an exploration tail, a second score under the tail's prior).
 */
export const secondStage: Stage = {
  name: "second_stage",
  async run(state: FeedState, candidates: Candidate[]): Promise<Candidate[]> {
    const { assets, models } = state.ranker;
    const { request } = state;
    if (!models.mtml) {
      state.degraded.push("second-stage model unavailable: ranked by the first stage");
      candidates.forEach((candidate) => (candidate.score = candidate.value = candidate.firstStageScore ?? candidate.retrievalScore));
      return candidates;
    }
    if (candidates.some((candidate) => candidate.logPrior === undefined)) await candidateLogPriors(state, candidates);
    const probabilities = await mtmlProbabilities(assets, { mtml: models.mtml, mtmlOneUser: models.mtmlOneUser }, request.user.context, candidates.map((candidate) => candidate.item), request.surface, request.nowMs);
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

/** MTML probabilities [items × labels] for one user's items: the second stage's model run. */
export async function mtmlProbabilities(assets: RankerAssets, mtml: MtmlSessions, user: UserContext, items: readonly number[], surface: number | readonly number[], nowMs: number): Promise<Float32Array> {
  return runMtmlForOneUser(mtml, mtmlInputsFor(assets, user, items, surface, nowMs));
}

/** The MTML's input batch for one user's items: the user's side of the features once per surface, then each item's. */
export function mtmlInputsFor(assets: RankerAssets, user: UserContext, items: readonly number[], surface: number | readonly number[], nowMs: number): MtmlInputs {
  const inputs = allocateMtmlInputs(assets.spec, items.length);
  const context = assets.featureContext();
  const prepared = new Map<number, MtmlRequestFeatures>();
  items.forEach((item, r) => {
    const rowSurface = typeof surface === "number" ? surface : (surface[r] as number);
    let request = prepared.get(rowSurface);
    if (!request) prepared.set(rowSurface, (request = prepareMtmlRequest(context, user, rowSurface, nowMs)));
    writeMtmlItemRow(context, request, item, inputs, r);
  });
  return inputs;
}

/** The Explore value model over the MTML's probabilities: EV · exp(log prior), one score per row. */
export function valueScores(valueModel: ExploreValueModel, probabilities: Float32Array, logPriors: ArrayLike<number>): Float64Array {
  const out = new Float64Array(logPriors.length);
  for (let r = 0; r < out.length; r++) out[r] = impressionValue(valueModel, probabilities, r) * Math.exp(logPriors[r] as number);
  return out;
}
