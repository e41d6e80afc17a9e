import { z } from "zod";
import { featureSpecSchema } from "../features/spec";
import { embeddingFormatSchema } from "./embedding-codec";
import { itemShardsSchema } from "../shards/layout";
import { mtmlCalibrationSchema } from "../ranking/calibration";

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
    /** `calibration`: a calibrator per task (core/ranking/calibration.ts); bundles from before it lack it. */
    mtml: z.looseObject({ file: z.string(), fp32_file: z.string(), quantization: z.string(), one_user_file: z.string().optional(), calibration: mtmlCalibrationSchema.optional() }),
    /**
     * `item_embeddings_format` (and the accounts' `embeddings_format`): core/serving/embedding-codec.ts; older bundles
     * stored f32. `shards`: the item shards' index files, when the pipeline wrote them (core/shards/layout.ts).
     */
    retrieval: z.looseObject({ user_tower: z.string(), item_embeddings: z.string(), item_embeddings_format: embeddingFormatSchema.default("f32"), index: z.string(), shards: itemShardsSchema.optional(), dim: z.number().int().positive(), metric: z.enum(["ip", "cos"]), temperature: z.number().positive().default(0.05) }),
    /** `temperature`: the first stage's dot product divided by it estimates the log of the MTML's expected value (models/README.md). */
    first_stage: z.looseObject({ user_tower: z.string(), item_embeddings: z.string(), item_embeddings_format: embeddingFormatSchema.default("f32"), dim: z.number().int().positive(), temperature: z.number().positive().default(0.1) }),
    /** Account (author) embeddings for account_nn; bundles from before they existed lack them. */
    accounts: z.looseObject({ embeddings: z.string(), embeddings_format: embeddingFormatSchema.default("f32"), dim: z.number().int().positive(), method: z.string() }).optional(),
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

const offlineModelFilesSchema = z.looseObject({
  models: z.looseObject({
    mtml: z.looseObject({ fp32_file: z.string().optional() }).optional(),
    warm_start: z.record(z.string(), z.string()).optional(),
  }),
});

/**
 * Files of a bundle that serving never reads: the fp32 MTML (the pipeline's parity reference) and the trainer weights
 * a fine-tune starts from (`models.warm_start`). Publishing leaves them out of KV, so a cold isolate fetches less; the
 * evaluation and the offline tools read the bundle directory, which keeps them. A manifest without them gives none.
 * The item towers are published: live items are embedded by them in the Worker (worker/items/live-view.ts reads
 * them from KV when a delta first needs them).
 */
export function offlineOnlyFiles(manifestValue: unknown): string[] {
  const parsed = offlineModelFilesSchema.safeParse(manifestValue);
  if (!parsed.success) return [];
  const { mtml } = parsed.data.models;
  return [mtml?.fp32_file, ...Object.values(parsed.data.models.warm_start ?? {})].filter((path): path is string => path !== undefined).sort();
}

/**
 * How every publisher stores a bundle for serving: the files serving never reads stay out of KV (gzip is the store's
 * default). `npm run publish`, `npm start`, the benchmarks and the workerd tests' seeded bundle all use this.
 */
export function servingPublishOptions(manifestValue: unknown): { readonly omit: readonly string[] } {
  return { omit: offlineOnlyFiles(manifestValue) };
}
