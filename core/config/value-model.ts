import { z } from "zod";
import { LABELS, type Label } from "../data/labels";
import { SOURCE_NAMES, type SourceName } from "./source-names";

/** The value models' settings (validated config); what they compute is core/ranking/value-model.ts. */

export const exploreValueModelSchema = z.strictObject({
  weights: z.strictObject(Object.fromEntries(LABELS.map((label) => [label, z.number().min(-100).max(100)])) as Record<Label, z.ZodNumber>)
    .refine((weights) => weights.hate <= 0, { message: "the weight on hate must not be positive", path: ["hate"] }),
  /** α: how strongly the item's share of recent impressions lifts it. 0 turns exposure off. */
  exposureExponent: z.number().min(0).max(4),
  /** π: pseudo-exposure added to every item, as a share of the catalogue's mean decayed impressions. */
  exposurePriorShare: z.number().positive().max(10),
  /** β: weight of the retrieval two-tower's affinity (cos − 1)/τ; 0 turns it off. */
  retrievalExponent: z.number().min(0).max(4),
  /** γ_s: weight of each source's rank-normalised score 1 − rank/quota in the prior; 0 ignores the source. */
  sourceWeights: z.strictObject(Object.fromEntries(SOURCE_NAMES.map((name) => [name, z.number().min(0).max(10)])) as Record<SourceName, z.ZodNumber>),
  /**
   * η: weight of the candidate's retrieval score (the merge's own mix of its sources, `Candidate.retrievalScore`) in
   * the log prior; 0 ignores it, and a large η ranks by the retrieval order with EV breaking its near-ties.
   */
  retrievalOrderWeight: z.number().min(0).max(10).default(0),
});
export type ExploreValueModel = z.infer<typeof exploreValueModelSchema>;

/**
 * Suggested Posts' log-linear value model: Π P(task)^w for positive tasks times (1 − P(hate))^w_hate, times the
 * same prior as Explore's without a retrieval score, (E_i/Ē + π)^α · exp(β · affinity), computed in log space.
 * Exponents of 0 drop a task.
 */
export const suggestedValueModelSchema = z.strictObject({
  exponents: z.strictObject(Object.fromEntries(LABELS.map((label) => [label, z.number().min(0).max(20)])) as Record<Label, z.ZodNumber>),
  exposureExponent: z.number().min(0).max(4),
  exposurePriorShare: z.number().positive().max(10),
  /** β: weight of the retrieval two-tower's affinity (cos − 1)/τ; 0 turns it off. */
  retrievalExponent: z.number().min(0).max(4).default(0),
});
export type SuggestedValueModel = z.infer<typeof suggestedValueModelSchema>;

