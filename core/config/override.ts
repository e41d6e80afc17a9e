import { z } from "zod";
import { LABELS, type Label } from "../data/labels";
import { SOURCE_NAMES, type SourceName } from "./source-names";

/**
 * What a request (or an operator, or an experiment's arm) may change: source weights and quotas, value-model
 * weights and exposure, the first-stage cut, the rerank rules and whether ranking reads the feedback maps. Every field is optional. It lives beside the
 * serving config rather than with `applyOverride` (core/funnel/overrides.ts) because the config's experiments hold
 * overrides, and the config must not import the funnel that reads it.
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
  calibration: z.strictObject({ feedback_in_ranking: z.boolean().optional() }).optional(),
});
export type ConfigOverride = z.infer<typeof configOverrideSchema>;

/** The fields an override sets, as dotted paths (`rerank.max_per_author`); an empty override sets none. */
export function overriddenFields(override: ConfigOverride): string[] {
  const fields: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value === undefined) return;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
    } else if (path) fields.push(path);
  };
  walk(override, "");
  return fields;
}
