import type { ExploreValueModel, SuggestedValueModel } from "../config/value-model";
import { LABELS, type Label } from "../data/labels";
import { rowDot } from "../util/typed-arrays";

/**
 * Explore's value model. A whole-catalogue feed ranks by what the user is expected to get from an item:
 *
 *   score(u, i) = EV(u, i) · prior(u, i),   EV = Σ w_task · P(task | shown)   (hate weighted negatively)
 *
 * The MTML predicts engagement *given* an impression, so EV alone favours items almost nobody is shown (a
 * PyTorch reference scored 0.17× popularity's NDCG that way). The prior is how likely the item is to reach
 * this user at all, log-linear in three signals that carry no absolute count:
 *
 *   log prior = α · log(E_i / Ē + π) + β · affinity(u, i) + Σ_s γ_s · (1 − rank_s(i) / quota_s) + η · r(u, i)
 *
 * - E_i / Ē: the item's decayed impressions over the catalogue's mean, a share rather than a count, so the same
 *   α means the same thing on a quiet day and a busy one; π is the pseudo-share that keeps unseen items alive;
 * - affinity: the retrieval two-tower's (cos − 1)/τ, what this user tends to be shown and to engage with;
 * - each source that found the candidate, by its rank-normalised score (what the retrieval merge mixes), with a
 *   weight of the prior's own: retrieval mixes sources for recall at depth, the prior weighs them for the top;
 * - r(u, i): the candidate's retrieval score, the merge's mix of the same sources. The funnel's later stages are
 *   trained and tuned for the top, yet on some days the retrieval order alone beats them there; η lets the tuner
 *   keep what retrieval found (a large η is the retrieval order, EV breaking its near-ties) rather than lose it.
 *
 * On an impression that happened the prior is spent (the item was shown), so an impression's value is EV alone:
 * that is what `impressionValue` scores, and what the evaluation's `explore_score` measures.
 */
const LABEL_COUNT = LABELS.length;
const HATE = LABELS.indexOf("hate");
/** EV is floored here so that the prior keeps ordering items whose engagement is predicted at ~0. */
const MIN_EXPECTED_VALUE = 1e-6;

/** Σ w·P over one row of probabilities [LABELS order]. */
export function expectedValue(model: Pick<ExploreValueModel, "weights">, probabilities: ArrayLike<number>, row: number): number {
  let value = 0;
  for (let l = 0; l < LABEL_COUNT; l++) value += (model.weights[LABELS[l] as Label] as number) * (probabilities[row * LABEL_COUNT + l] as number);
  return value;
}

/** An item's decayed impressions relative to the catalogue's mean (0 when the catalogue has none). */
export function relativeExposure(decayedImpressions: number, meanDecayedImpressions: number): number {
  return meanDecayedImpressions > 0 ? decayedImpressions / meanDecayedImpressions : 0;
}

/** What the prior reads about one candidate. */
export interface PriorSignals {
  /** E_i / Ē (`relativeExposure`). */
  readonly relativeExposure: number;
  /** The retrieval two-tower's (cos − 1)/τ; 0 when unknown. */
  readonly affinity: number;
  /**
   * What retrieval says of the candidate: Σ_s γ_s · (1 − rank_s / quota_s) over the sources that found it
   * (`priorSourceScore`) plus η · its retrieval score (`retrievalOrderLogTerm`); 0 for an item no source found.
   */
  readonly sourceScore: number;
}

/**
 * The prior's source term for one candidate: its sources' rank-normalised scores under the prior's weights. The
 * prior weighs the shipped sources (SOURCE_NAMES); a source an engineer added counts 0 until the model learns it.
 */
export function priorSourceScore(model: Pick<ExploreValueModel, "sourceWeights">, hits: readonly { readonly source: string; readonly rank: number }[], quotas: Readonly<Record<string, { readonly quota: number }>>): number {
  let score = 0;
  for (const hit of hits) {
    const weight = (model.sourceWeights as Readonly<Record<string, number>>)[hit.source] ?? 0;
    const quota = quotas[hit.source]?.quota ?? 0;
    if (weight !== 0 && quota > 0) score += weight * (1 - hit.rank / quota);
  }
  return score;
}

/** The log prior's retrieval-order term η · r(u, i) (0 for an item no retrieval source found). */
export function retrievalOrderLogTerm(model: Pick<ExploreValueModel, "retrievalOrderWeight">, retrievalScore: number): number {
  return model.retrievalOrderWeight === 0 ? 0 : model.retrievalOrderWeight * retrievalScore;
}

/**
 * The log prior's exposure term α · log(E_i/Ē + π), for any α: the exploration tail swaps the model's α for its own
 * (`tailLogPrior`).
 */
export function exposureLogTerm(exponent: number, model: Pick<ExploreValueModel, "exposurePriorShare">, relativeExposureOfItem: number): number {
  return exponent === 0 ? 0 : exponent * Math.log(relativeExposureOfItem + model.exposurePriorShare);
}

/** The log prior with the exploration tail's exposure exponent in place of the model's. */
export function tailLogPrior(model: ExploreValueModel, logPrior: number, relativeExposureOfItem: number, tailExposureExponent: number): number {
  return logPrior - exposureLogTerm(model.exposureExponent, model, relativeExposureOfItem) + exposureLogTerm(tailExposureExponent, model, relativeExposureOfItem);
}

/** The log prior's affinity term β · affinity(u, i). */
export function affinityLogTerm(model: Pick<ExploreValueModel, "retrievalExponent">, affinity: number): number {
  return model.retrievalExponent === 0 ? 0 : model.retrievalExponent * affinity;
}

/** log prior(u, i): how likely the item is to reach this user at all (see the model's doc). */
export function exploreLogPrior(model: ExploreValueModel, signals: PriorSignals): number {
  return exposureLogTerm(model.exposureExponent, model, signals.relativeExposure) + affinityLogTerm(model, signals.affinity) + signals.sourceScore;
}

/** The value of an impression that happened: EV, floored at a tiny positive value (the prior is spent). */
export function impressionValue(model: Pick<ExploreValueModel, "weights">, probabilities: ArrayLike<number>, row: number): number {
  return Math.max(expectedValue(model, probabilities, row), MIN_EXPECTED_VALUE);
}

/** The Explore ranking score of a candidate: EV · prior. */
export function exploreScore(model: ExploreValueModel, probabilities: ArrayLike<number>, row: number, signals: PriorSignals): number {
  return impressionValue(model, probabilities, row) * Math.exp(exploreLogPrior(model, signals));
}

/** Whether the prior needs the user's retrieval embedding. */
export function priorNeedsAffinity(model: ExploreValueModel): boolean {
  return model.retrievalExponent !== 0;
}

/**
 * The retrieval two-tower's log-affinity of an item for a user, shifted so the best possible is 0:
 * (cos − 1)/τ with τ the training temperature. Keeps exp() of it in range.
 */
export function retrievalAffinity(userEmbedding: ArrayLike<number>, itemEmbeddings: Float32Array, item: number, dim: number, temperature: number): number {
  return (rowDot(itemEmbeddings, dim, userEmbedding, item) - 1) / temperature;
}

/** log of the Suggested Posts value: Σ_{t≠hate} w_t·log P(t) + w_hate·log(1 − P(hate)) + α·log(E_i/Ē + π) + β·affinity. */
export function suggestedLogValue(model: SuggestedValueModel, probabilities: ArrayLike<number>, row: number, relativeExposureOfItem: number, affinity = 0): number {
  let value = 0;
  for (let l = 0; l < LABEL_COUNT; l++) {
    const exponent = model.exponents[LABELS[l] as Label] as number;
    if (exponent === 0) continue;
    const p = Math.min(Math.max(probabilities[row * LABEL_COUNT + l] as number, 1e-9), 1 - 1e-9);
    value += exponent * Math.log(l === HATE ? 1 - p : p);
  }
  return value + model.exposureExponent * Math.log(relativeExposureOfItem + model.exposurePriorShare) + model.retrievalExponent * affinity;
}
