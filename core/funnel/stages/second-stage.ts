import { LABELS } from "../../data/labels";
import { allocateMtmlInputs, prepareMtmlRequest, writeMtmlItemRow, type MtmlInputs, type MtmlRequestFeatures } from "../../features/mtml-features";
import type { UserContext } from "../../features/context";
import { exploreScore, retrievalAffinity, type ExploreValueModel } from "../../ranking/value-model";
import type { RankerAssets } from "../../serving/ranker-assets";
import { runMtmlForOneUser, type MtmlSessions } from "../../serving/model-runs";
import { retrievalEmbedding } from "../sources/two-tower";
import type { Candidate, FeedState, Stage } from "../types";

/**
 * The second stage: the MTML runs once on the whole batch, then the value model turns its per-task
 * probabilities into one score (EV = Σ w·P, hate weighted negatively, times exposure^α).
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
    const embedding = request.config.valueModel.retrievalExponent > 0 ? await retrievalEmbedding(state) : undefined;
    const { probabilities, values } = await scoreItems(assets, { mtml: models.mtml, mtmlOneUser: models.mtmlOneUser }, request.user.context, candidates.map((candidate) => candidate.item), request.surface, request.nowMs, request.config.valueModel, embedding);
    candidates.forEach((candidate, r) => {
      candidate.probabilities = probabilities.slice(r * LABELS.length, (r + 1) * LABELS.length);
      candidate.value = candidate.score = values[r] as number;
    });
    return candidates;
  },
};

/** MTML probabilities [items × labels] and value-model scores for one user's items: the second stage's arithmetic. */
export async function scoreItems(assets: RankerAssets, mtml: MtmlSessions, user: UserContext, items: readonly number[], surface: number | readonly number[], nowMs: number, valueModel: ExploreValueModel, retrievalEmbedding?: Float32Array): Promise<{ probabilities: Float32Array; values: Float64Array }> {
  const probabilities = await runMtmlForOneUser(mtml, mtmlInputsFor(assets, user, items, surface, nowMs));
  return { probabilities, values: valueScores(assets, valueModel, items, probabilities, retrievalEmbedding) };
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

/** The Explore value model over the MTML's probabilities, one score per item. */
export function valueScores(assets: RankerAssets, valueModel: ExploreValueModel, items: readonly number[], probabilities: Float32Array, retrievalEmbedding?: Float32Array): Float64Array {
  const { dim, temperature } = assets.manifest.models.retrieval;
  return Float64Array.from(items, (item, r) => {
    const affinity = retrievalEmbedding ? retrievalAffinity(retrievalEmbedding, assets.retrievalItemEmbeddings, item, dim, temperature) : 0;
    return exploreScore(valueModel, probabilities, r, assets.itemCounters.decayedImpressions[item] as number, affinity);
  });
}
