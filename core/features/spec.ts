import { z } from "zod";
import { LABELS } from "../data/labels";

/**
 * Everything feature code needs besides the data itself, fitted on the training window and shipped with
 * the models (manifest.json), so the Worker computes exactly the features the models were trained on.
 */
const denseStatisticsSchema = z.object({ names: z.array(z.string()), mean: z.array(z.number()), std: z.array(z.number().positive()) })
  .refine((d) => d.names.length === d.mean.length && d.mean.length === d.std.length, { message: "dense names, mean and std must have the same length" });
export type DenseStatistics = z.infer<typeof denseStatisticsSchema>;

export const featureSpecSchema = z.object({
  version: z.literal(1),
  labels: z.array(z.enum(LABELS)).length(LABELS.length),
  /** Half-life of the decayed counters. */
  halfLifeMs: z.number().positive(),
  timezoneOffsetMinutes: z.number().int(),
  /** The instant the counters describe (end of the training window). */
  asOfMs: z.number(),
  historyLength: z.number().int().positive(),
  maxTags: z.number().int().positive(),
  /** Embedding table sizes; row 0 of each is "unknown or too rare". */
  vocab: z.object({
    users: z.number().int().positive(),
    items: z.number().int().positive(),
    authors: z.number().int().positive(),
    tags: z.number().int().positive(),
    categorical: z.number().int().positive(),
  }),
  /** Offsets of each categorical slot inside the shared categorical table. */
  categorical: z.array(z.object({ name: z.string(), offset: z.number().int().nonnegative(), size: z.number().int().positive() })),
  surfaces: z.array(z.number().int()),
  durationBucketsMs: z.array(z.number()),
  ageBucketsMs: z.array(z.number()),
  itemTypes: z.number().int().positive(),
  priors: z.object({
    itemRates: z.array(z.number()).length(LABELS.length),
    userRates: z.array(z.number()).length(LABELS.length),
    strength: z.object({ item: z.number().positive(), author: z.number().positive(), user: z.number().positive(), userAuthor: z.number().positive(), userTag: z.number().positive() }),
  }),
  dense: denseStatisticsSchema,
  tower: z.object({
    historyLength: z.number().int().positive(),
    userDense: denseStatisticsSchema,
    itemDense: denseStatisticsSchema,
  }),
});

export type FeatureSpec = z.infer<typeof featureSpecSchema>;

export function parseFeatureSpec(json: unknown): FeatureSpec {
  const parsed = featureSpecSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`feature spec: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/**
 * Index of the first boundary greater than value, +1; 0 is reserved for unknown values (UNKNOWN is NaN) and for
 * negative ones, which no bucketed quantity (a duration, an age) can have.
 */
export function bucketOf(value: number, boundaries: readonly number[]): number {
  if (!(value >= 0)) return 0;
  let bucket = 0;
  while (bucket < boundaries.length && value >= (boundaries[bucket] as number)) bucket++;
  return bucket + 1;
}

/**
 * Standardised dense values are clipped to ±DENSE_CLIP: a rare heavy user must not produce an input far
 * outside what the network (and int8 activation ranges) saw in training.
 */
export const DENSE_CLIP = 10;
/**
 * Deviations are floored, because sparse log-count features (a user's likes of one author) are almost
 * always 0: their raw deviation is tiny and would turn a single like into a value of 100+.
 */
export const MIN_DENSE_STD = 0.25;

export function standardiseValue(value: number, mean: number, std: number): number {
  const z = (value - mean) / std;
  return z > DENSE_CLIP ? DENSE_CLIP : z < -DENSE_CLIP ? -DENSE_CLIP : z;
}

/** Standardises rows [n × statistics.names.length] in place. */
export function standardiseRows(values: Float32Array, statistics: { readonly mean: readonly number[]; readonly std: readonly number[] }, fromRow = 0, toRow = values.length / Math.max(1, statistics.mean.length)): void {
  const width = statistics.mean.length;
  for (let r = fromRow; r < toRow; r++) {
    for (let f = 0; f < width; f++) {
      const i = r * width + f;
      values[i] = standardiseValue(values[i] as number, statistics.mean[f] as number, statistics.std[f] as number);
    }
  }
}
