import { z } from "zod";
import { LABELS, type Label } from "../data/labels";
import { SOURCE_NAMES, servingConfigSchema, type ServingConfig, type SourceName } from "../config/serving";

/**
 * What a request (or an operator) may change for an experiment: source weights and quotas, value-model
 * weights and exposure, the first-stage cut and the rerank rules. Every field is optional; the result is
 * validated as a whole config, so a bad combination is refused, not served.
 */
const sourceOverride = z.strictObject({ weight: z.number().min(0).max(100).optional(), quota: z.number().int().min(0).max(5000).optional() });

export const configOverrideSchema = z.strictObject({
  sources: z.strictObject(Object.fromEntries(SOURCE_NAMES.map((name) => [name, sourceOverride.optional()])) as Record<SourceName, z.ZodOptional<typeof sourceOverride>>).optional(),
  value: z.strictObject({
    ...Object.fromEntries(LABELS.map((label) => [label, z.number().min(-100).max(100).optional()])) as Record<Label, z.ZodOptional<z.ZodNumber>>,
    exposure_exponent: z.number().min(0).max(4).optional(),
    exposure_prior_share: z.number().positive().max(10).optional(),
    retrieval_exponent: z.number().min(0).max(4).optional(),
    source_weights: z.strictObject(Object.fromEntries(SOURCE_NAMES.map((name) => [name, z.number().min(0).max(10).optional()])) as Record<SourceName, z.ZodOptional<z.ZodNumber>>).optional(),
  }).optional(),
  first_stage_keep: z.number().int().min(1).max(1000).optional(),
  rerank: z.strictObject({
    drop_seen: z.boolean().optional(),
    min_integrity: z.number().min(0).max(1).optional(),
    integrity_downrank: z.number().min(0).max(10).optional(),
    no_adjacent_same_author: z.boolean().optional(),
    max_per_author: z.number().int().min(1).max(100).optional(),
  }).optional(),
});
export type ConfigOverride = z.infer<typeof configOverrideSchema>;

export class ConfigOverrideError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "ConfigOverrideError";
  }
}

export function applyOverride(config: ServingConfig, override: ConfigOverride | undefined): ServingConfig {
  if (!override) return config;
  const sources = { ...config.retrieval.sources };
  for (const [name, change] of Object.entries(override.sources ?? {}) as [SourceName, { weight?: number; quota?: number }][]) {
    sources[name] = { ...sources[name], weight: change.weight ?? sources[name].weight, quota: change.quota ?? sources[name].quota };
  }
  const weights = { ...config.valueModel.weights };
  for (const label of LABELS) {
    const value = override.value?.[label];
    if (value !== undefined) weights[label] = value;
  }
  const rerank = override.rerank;
  const merged = {
    ...config,
    retrieval: { ...config.retrieval, sources },
    firstStage: { keep: override.first_stage_keep ?? config.firstStage.keep },
    valueModel: {
      ...config.valueModel,
      weights,
      exposureExponent: override.value?.exposure_exponent ?? config.valueModel.exposureExponent,
      exposurePriorShare: override.value?.exposure_prior_share ?? config.valueModel.exposurePriorShare,
      retrievalExponent: override.value?.retrieval_exponent ?? config.valueModel.retrievalExponent,
      sourceWeights: Object.fromEntries(SOURCE_NAMES.map((name) => [name, override.value?.source_weights?.[name] ?? config.valueModel.sourceWeights[name]])) as Record<SourceName, number>,
    },
    rerank: {
      dropSeen: rerank?.drop_seen ?? config.rerank.dropSeen,
      minIntegrity: rerank?.min_integrity ?? config.rerank.minIntegrity,
      integrityDownrank: rerank?.integrity_downrank ?? config.rerank.integrityDownrank,
      noAdjacentSameAuthor: rerank?.no_adjacent_same_author ?? config.rerank.noAdjacentSameAuthor,
      maxPerAuthor: rerank?.max_per_author ?? config.rerank.maxPerAuthor,
    },
  };
  const parsed = servingConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigOverrideError(issue?.path.join(".") ?? "", issue?.message ?? "invalid configuration");
  }
  return parsed.data;
}
