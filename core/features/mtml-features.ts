import { isKnown } from "../data/dataset";
import { LABELS } from "../data/labels";
import type { FeatureContext, UserContext } from "./context";
import { bucketOf, standardiseRows, type FeatureSpec } from "./spec";
import { AUTHOR_SLOTS, TAG_SLOTS } from "./user-activity";

const HOUR_MS = 3_600_000;
const LABEL_INDEX = Object.fromEntries(LABELS.map((label, i) => [label, i])) as Record<(typeof LABELS)[number], number>;

/** Categorical slots of the context and the item, before the user's own categorical features. */
export const CONTEXT_CATEGORICAL_SLOTS = ["surface", "hour", "duration_bucket", "age_bucket", "item_type"] as const;

/** Dense features in input order; user numeric features follow as `user_log_<name>`. */
export const MTML_DENSE_FEATURES = [
  "item_log_impressions",
  ...LABELS.map((label) => `item_log_rate_${label}`),
  "item_log_decayed_clicks",
  "item_log_decayed_impressions",
  "author_log_impressions",
  "author_log_rate_click",
  "author_log_rate_long_view",
  "author_log_rate_like",
  "user_log_impressions",
  "user_log_rate_click",
  "user_log_rate_long_view",
  "user_log_rate_like",
  "user_log_rate_hate",
  "user_author_log_impressions",
  "user_author_log_clicks",
  "user_author_log_long_views",
  "user_author_log_likes",
  "user_author_log_rate_click",
  "user_tag_log_max_rate_click",
  "user_tag_log_clicks",
  "user_tag_log_impressions",
  "user_item_log_seen",
  "user_has_features",
  "item_log_age_hours",
  "item_log_duration_seconds",
] as const;

export function mtmlDenseNames(userNumeric: readonly string[]): string[] {
  return [...MTML_DENSE_FEATURES, ...userNumeric.map((name) => `user_log_${name}`)];
}

/** A batch of MTML inputs in the models/README.md contract: row-major typed arrays. */
export interface MtmlInputs {
  readonly size: number;
  readonly user: Int32Array;
  readonly item: Int32Array;
  readonly author: Int32Array;
  /** [size × categorical slots], ids in the shared categorical table. */
  readonly categorical: Int32Array;
  /** [size × maxTags], tag rows + 1, 0 = padding. */
  readonly tags: Int32Array;
  /** [size × dense features], standardised. */
  readonly dense: Float32Array;
}

export function allocateMtmlInputs(spec: FeatureSpec, size: number): MtmlInputs {
  return {
    size,
    user: new Int32Array(size),
    item: new Int32Array(size),
    author: new Int32Array(size),
    categorical: new Int32Array(size * spec.categorical.length),
    tags: new Int32Array(size * spec.maxTags),
    dense: new Float32Array(size * spec.dense.names.length),
  };
}

/** Local hour of day (0..23) in the data set's time zone. */
export function localHour(ms: number, timezoneOffsetMinutes: number): number {
  const local = ms + timezoneOffsetMinutes * 60_000;
  return Math.floor((((local % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS);
}

/**
 * What the MTML rows of one request share: the user's side of every feature, computed once. A feed scores a
 * hundred items for the same user, surface and time; only the item's side changes from row to row.
 */
export interface MtmlRequestFeatures {
  readonly user: UserContext;
  readonly atMs: number;
  /** Categorical values of the context slots (surface, hour) and of the user's own slots, in slot order. */
  readonly surfaceValue: number;
  readonly hourValue: number;
  readonly userSlotIds: Int32Array;
  readonly logImpressions: number;
  readonly userClickRate: number;
  readonly logUserRates: readonly [number, number, number, number];
  readonly logNumeric: Float64Array;
}

const CONTEXT_SLOTS = CONTEXT_CATEGORICAL_SLOTS.length;

export function prepareMtmlRequest(context: FeatureContext, user: UserContext, surface: number, atMs: number): MtmlRequestFeatures {
  const { spec } = context;
  const { priors } = spec;
  const activity = user.activity;
  const slots = spec.categorical;
  const userSlotIds = new Int32Array(Math.max(0, slots.length - CONTEXT_SLOTS));
  for (let s = CONTEXT_SLOTS; s < slots.length; s++) {
    const slot = slots[s] as { offset: number; size: number };
    const value = (user.categorical[s - CONTEXT_SLOTS] as number | undefined) ?? 0;
    userSlotIds[s - CONTEXT_SLOTS] = slot.offset + (value >= 0 && value < slot.size ? value : 0);
  }
  const userRate = (label: (typeof LABELS)[number]) => smoothed(activity.positives[LABEL_INDEX[label]] as number, activity.impressions, priors.userRates[LABEL_INDEX[label]] as number, priors.strength.user);
  const userClickRate = userRate("click");
  return {
    user,
    atMs,
    surfaceValue: spec.surfaces.indexOf(surface) + 1,
    hourValue: localHour(atMs, spec.timezoneOffsetMinutes) + 1,
    userSlotIds,
    logImpressions: Math.log1p(activity.impressions),
    userClickRate,
    logUserRates: [Math.log(userClickRate), Math.log(userRate("long_view")), Math.log(userRate("like")), Math.log(userRate("hate"))],
    logNumeric: Float64Array.from({ length: user.numeric.length }, (_, n) => Math.log1p(Math.max(0, user.numeric[n] as number))),
  };
}

/**
 * Writes row `r` of an MTML batch for (user, item, surface, time). `standardise: false` leaves the raw
 * dense values, which is how the pipeline measures their mean and deviation before the spec exists.
 */
export function writeMtmlRow(context: FeatureContext, user: UserContext, item: number, surface: number, atMs: number, inputs: MtmlInputs, r: number, standardise = true): void {
  writeMtmlItemRow(context, prepareMtmlRequest(context, user, surface, atMs), item, inputs, r, standardise);
}

/** Writes row `r` for one item of a prepared request (the item's side; the user's side is copied). */
export function writeMtmlItemRow(context: FeatureContext, request: MtmlRequestFeatures, item: number, inputs: MtmlInputs, r: number, standardise = true): void {
  const { spec, catalogue, itemCounters, authorCounters } = context;
  const { user, atMs } = request;
  const author = catalogue.author[item] as number;
  inputs.user[r] = user.embeddingRow;
  inputs.item[r] = context.itemEmbeddingRow[item] as number;
  inputs.author[r] = context.authorEmbeddingRow[author] as number;

  // categorical slots: context and item first, then the user's own features
  const slots = spec.categorical;
  const c0 = r * slots.length;
  const createdAt = catalogue.createdAt[item] as number;
  const contextValues = [
    request.surfaceValue,
    request.hourValue,
    bucketOf(catalogue.durationMs[item] as number, spec.durationBucketsMs),
    isKnown(createdAt) ? bucketOf(Math.max(0, atMs - createdAt), spec.ageBucketsMs) : 0,
    (catalogue.type[item] as number) + 1,
  ];
  for (let s = 0; s < CONTEXT_SLOTS && s < slots.length; s++) {
    const slot = slots[s] as { offset: number; size: number };
    const value = contextValues[s] as number;
    inputs.categorical[c0 + s] = slot.offset + (value >= 0 && value < slot.size ? value : 0);
  }
  inputs.categorical.set(request.userSlotIds, c0 + CONTEXT_SLOTS);

  // tags: row + 1, zero-padded
  const t0 = r * spec.maxTags;
  const tagStart = catalogue.tagOffsets[item] as number;
  const tagEnd = Math.min(catalogue.tagOffsets[item + 1] as number, tagStart + spec.maxTags);
  for (let t = 0; t < spec.maxTags; t++) inputs.tags[t0 + t] = tagStart + t < tagEnd ? (catalogue.tagIds[tagStart + t] as number) + 1 : 0;

  // dense
  const { priors } = spec;
  const activity = user.activity;
  const d = inputs.dense;
  const width = spec.dense.names.length;
  let k = r * width;
  const itemImpressions = itemCounters.impressions[item] as number;
  d[k++] = Math.log1p(itemImpressions);
  for (let l = 0; l < LABELS.length; l++) d[k++] = Math.log(smoothed(itemCounters.positive(item, l), itemImpressions, priors.itemRates[l] as number, priors.strength.item));
  d[k++] = Math.log1p(itemCounters.decayedClicks[item] as number);
  d[k++] = Math.log1p(itemCounters.decayedImpressions[item] as number);

  const authorImpressions = authorCounters.impressions[author] as number;
  d[k++] = Math.log1p(authorImpressions);
  for (const label of ["click", "long_view", "like"] as const) {
    const l = LABEL_INDEX[label];
    d[k++] = Math.log(smoothed(authorCounters.positive(author, l), authorImpressions, priors.itemRates[l] as number, priors.strength.author));
  }

  d[k++] = request.logImpressions;
  const userClickRate = request.userClickRate;
  for (const value of request.logUserRates) d[k++] = value;

  const byAuthor = activity.authors.get(author);
  const uaImpressions = byAuthor?.[AUTHOR_SLOTS.impressions] ?? 0;
  const uaClicks = byAuthor?.[AUTHOR_SLOTS.clicks] ?? 0;
  d[k++] = Math.log1p(uaImpressions);
  d[k++] = Math.log1p(uaClicks);
  d[k++] = Math.log1p(byAuthor?.[AUTHOR_SLOTS.longViews] ?? 0);
  d[k++] = Math.log1p(byAuthor?.[AUTHOR_SLOTS.likes] ?? 0);
  d[k++] = Math.log(smoothed(uaClicks, uaImpressions, userClickRate, priors.strength.userAuthor));

  let maxTagRate = userClickRate;
  let tagClicks = 0;
  let tagImpressions = 0;
  for (let t = tagStart; t < (catalogue.tagOffsets[item + 1] as number); t++) {
    const stats = activity.tags.get(catalogue.tagIds[t] as number);
    if (!stats) continue;
    const impressions = stats[TAG_SLOTS.impressions] as number;
    const clicks = stats[TAG_SLOTS.clicks] as number;
    tagClicks += clicks;
    tagImpressions += impressions;
    maxTagRate = Math.max(maxTagRate, smoothed(clicks, impressions, userClickRate, priors.strength.userTag));
  }
  d[k++] = Math.log(maxTagRate);
  d[k++] = Math.log1p(tagClicks);
  d[k++] = Math.log1p(tagImpressions);
  d[k++] = Math.log1p(activity.seenItems.get(item) ?? 0);
  d[k++] = user.hasFeatures ? 1 : 0;
  // A time before 1970 is a real creation time (a negative number): only UNKNOWN (NaN) means "no age".
  d[k++] = isKnown(createdAt) ? Math.log1p(Math.max(0, atMs - createdAt) / HOUR_MS) : 0;
  const duration = catalogue.durationMs[item] as number;
  d[k++] = isKnown(duration) ? Math.log1p(duration / 1000) : 0;
  for (const value of request.logNumeric) d[k++] = value;

  if (k !== (r + 1) * width) throw new Error(`mtml features: wrote ${k - r * width} dense values, the spec has ${width}`);
  if (standardise) standardiseRows(d, spec.dense, r, r + 1);
}

/** A rate shrunk toward `prior` by `strength` pseudo-observations; never 0, so its log is finite. */
export function smoothed(positives: number, impressions: number, prior: number, strength: number): number {
  return (positives + strength * prior + 1e-6) / (impressions + strength + 1e-6);
}
