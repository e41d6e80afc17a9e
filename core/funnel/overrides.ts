import { LABELS, type Label } from "../data/labels";
import { SOURCE_NAMES, servingConfigSchema, type ServingConfig, type SourceName } from "../config/serving";
import type { ConfigOverride } from "../config/override";

// The schema lives with the serving config, whose experiments hold overrides too.
export { configOverrideSchema, type ConfigOverride } from "../config/override";

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
    calibration: { feedbackInRanking: override.calibration?.feedback_in_ranking ?? config.calibration.feedbackInRanking },
  };
  const parsed = servingConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigOverrideError(issue?.path.join(".") ?? "", issue?.message ?? "invalid configuration");
  }
  return parsed.data;
}
