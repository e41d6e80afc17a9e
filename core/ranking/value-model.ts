import { z } from "zod";
import { LABELS, type Label } from "../data/labels";

/**
 * Explore's value model: EV = Σ w_task · P(task), with a negative weight on P(hate), times how likely the
 * item is to be shown at all, exposure^α. The MTML predicts engagement *given* an impression; on a log of
 * what the platform chose to show, ranking by that alone favours items nobody will be shown (a PyTorch
 * reference scored 0.17× popularity's NDCG that way), so α trades conditional engagement for reach.
 */
export const exploreValueModelSchema = z.strictObject({
  weights: z.strictObject(Object.fromEntries(LABELS.map((label) => [label, z.number().min(-100).max(100)])) as Record<Label, z.ZodNumber>)
    .refine((weights) => weights.hate <= 0, { message: "the weight on hate must not be positive", path: ["hate"] }),
  exposureExponent: z.number().min(0).max(4),
  /** Pseudo-impressions added to every item's decayed impressions, so unseen items keep a small exposure. */
  exposurePrior: z.number().positive().max(1000),
  /**
   * When positive, exposure saturates: E/(E + κ). Items shown often enough all get nearly the same factor, so
   * among items a user was actually shown the conditional engagement decides, while rarely shown items still
   * sink in a whole-catalogue ranking. 0 keeps the unsaturated E^α.
   */
  exposureSaturation: z.number().min(0).max(10000).default(0),
  /**
   * Exposure below this counts as this: only items shown more often than the floor get a boost, so among the
   * many moderately shown items (most of what a user is actually shown) the conditional engagement decides,
   * while the most exposed items still rise to the top of a whole-catalogue ranking. 0 = no floor.
   */
  exposureFloor: z.number().min(0).max(100000).default(0),
  /**
   * Exposure above this counts as this, so the most exposed items (all equally likely to be shown) are ordered
   * by their engagement among themselves. With a floor close below it, exposure acts as a bounded step boost.
   * 0 = no ceiling.
   */
  exposureCeiling: z.number().min(0).max(100000).default(0),
  /**
   * Weight b of the retrieval two-tower's affinity: the score is multiplied by p_tt(item | user)^b, where
   * log p_tt = cos/τ up to a constant. The two-tower was trained on what users clicked among what they were
   * shown, so it knows, per user, what is likely to be shown and engaged with; 0 turns it off.
   */
  retrievalExponent: z.number().min(0).max(4).default(0),
});
export type ExploreValueModel = z.infer<typeof exploreValueModelSchema>;

/**
 * Suggested Posts' log-linear value model: Π P(task)^w for positive tasks times (1 − P(hate))^w_hate,
 * computed in log space. Exponents of 0 drop a task.
 */
export const suggestedValueModelSchema = z.strictObject({
  exponents: z.strictObject(Object.fromEntries(LABELS.map((label) => [label, z.number().min(0).max(20)])) as Record<Label, z.ZodNumber>),
  exposureExponent: z.number().min(0).max(4),
  exposurePrior: z.number().positive().max(1000),
});
export type SuggestedValueModel = z.infer<typeof suggestedValueModelSchema>;

const LABEL_COUNT = LABELS.length;
const HATE = LABELS.indexOf("hate");

/** Σ w·P over one row of probabilities [LABELS order]. */
export function expectedValue(model: ExploreValueModel, probabilities: ArrayLike<number>, row: number): number {
  let value = 0;
  for (let l = 0; l < LABEL_COUNT; l++) value += (model.weights[LABELS[l] as Label] as number) * (probabilities[row * LABEL_COUNT + l] as number);
  return value;
}

/** The Explore ranking score: EV scaled by exposure^α; EV is floored at a tiny positive value so the scaling keeps order. */
export function exploreScore(model: ExploreValueModel, probabilities: ArrayLike<number>, row: number, decayedImpressions: number, retrievalAffinity = 0): number {
  let value = Math.max(expectedValue(model, probabilities, row), 1e-9);
  if (model.exposureExponent !== 0) value *= Math.pow(exposure(model, decayedImpressions), model.exposureExponent);
  if (model.retrievalExponent !== 0) value *= Math.exp(model.retrievalExponent * retrievalAffinity);
  return value;
}

/**
 * The retrieval two-tower's log-affinity of an item for a user, shifted so the best possible is 0:
 * (cos − 1)/τ with τ the training temperature. Keeps exp() of it in range.
 */
export function retrievalAffinity(userEmbedding: ArrayLike<number>, itemEmbeddings: ArrayLike<number>, item: number, dim: number, temperature: number): number {
  let cos = 0;
  for (let d = 0; d < dim; d++) cos += (userEmbedding[d] as number) * (itemEmbeddings[item * dim + d] as number);
  return (cos - 1) / temperature;
}

/** The exposure factor's base: decayed impressions plus the prior, saturated when κ > 0. */
export function exposure(model: Pick<ExploreValueModel, "exposurePrior" | "exposureSaturation" | "exposureFloor" | "exposureCeiling">, decayedImpressions: number): number {
  const floored = Math.max(decayedImpressions + model.exposurePrior, model.exposureFloor);
  const e = model.exposureCeiling > 0 ? Math.min(floored, model.exposureCeiling) : floored;
  return model.exposureSaturation > 0 ? e / (e + model.exposureSaturation) : e;
}

/** log of the Suggested Posts value: Σ_{t≠hate} w_t·log P(t) + w_hate·log(1 − P(hate)) + α·log(exposure). */
export function suggestedLogValue(model: SuggestedValueModel, probabilities: ArrayLike<number>, row: number, decayedImpressions: number): number {
  let value = 0;
  for (let l = 0; l < LABEL_COUNT; l++) {
    const exponent = model.exponents[LABELS[l] as Label] as number;
    if (exponent === 0) continue;
    const p = Math.min(Math.max(probabilities[row * LABEL_COUNT + l] as number, 1e-9), 1 - 1e-9);
    value += exponent * Math.log(l === HATE ? 1 - p : p);
  }
  return value + model.exposureExponent * Math.log(decayedImpressions + model.exposurePrior);
}
