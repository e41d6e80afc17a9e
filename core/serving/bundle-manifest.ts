import { z } from "zod";
import { featureSpecSchema } from "../features/spec";

/**
 * The part of a bundle's manifest.json that serving reads (the bundle store validates the rest). Written by
 * scripts/pipeline.ts; models/README.md documents it.
 */
export const servingManifestSchema = z.looseObject({
  version: z.string(),
  data: z.looseObject({ name: z.string(), train_end: z.string(), train_end_ms: z.number() }),
  feature_spec: featureSpecSchema,
  models: z.looseObject({
    /** `one_user_file`: the serving variant for one user's batch (models/README.md); bundles from before it lack it. */
    mtml: z.looseObject({ file: z.string(), fp32_file: z.string(), quantization: z.string(), one_user_file: z.string().optional() }),
    retrieval: z.looseObject({ user_tower: z.string(), item_embeddings: z.string(), index: z.string(), dim: z.number().int().positive(), metric: z.enum(["ip", "cos"]), temperature: z.number().positive().default(0.05) }),
    /** `temperature`: the first stage's dot product divided by it estimates the log of the MTML's expected value (models/README.md). */
    first_stage: z.looseObject({ user_tower: z.string(), item_embeddings: z.string(), dim: z.number().int().positive(), temperature: z.number().positive().default(0.1) }),
    /** Account (author) embeddings for account_nn; bundles from before they existed lack them. */
    accounts: z.looseObject({ embeddings: z.string(), dim: z.number().int().positive(), method: z.string() }).optional(),
  }),
  serving_config: z.string(),
});
export type ServingManifest = z.infer<typeof servingManifestSchema>;

export function parseServingManifest(value: unknown): ServingManifest {
  const parsed = servingManifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`manifest.json: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
