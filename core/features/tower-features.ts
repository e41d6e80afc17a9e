import { isKnown } from "../data/dataset";
import { LABELS } from "../data/labels";
import type { FeatureContext, UserContext } from "./context";
import { smoothed } from "./mtml-features";
import { bucketOf, standardiseRows, type FeatureSpec } from "./spec";

const CLICK = LABELS.indexOf("click");
const LIKE = LABELS.indexOf("like");

/** Item categorical slots a tower reads, by their names in the spec's shared categorical table. */
export const ITEM_TOWER_SLOTS = ["duration_bucket", "age_bucket", "item_type"] as const;

export const USER_TOWER_DENSE = ["user_log_impressions", "user_log_rate_click", "user_log_rate_like", "user_has_features"] as const;
export const ITEM_TOWER_DENSE = ["item_log_impressions", "item_log_decayed_clicks", "item_log_rate_click"] as const;

export function userTowerDenseNames(userNumeric: readonly string[]): string[] {
  return [...USER_TOWER_DENSE, ...userNumeric.map((name) => `user_log_${name}`)];
}

/** Inputs of a user tower (retrieval or first stage), row-major. */
export interface UserTowerInputs {
  readonly size: number;
  /** [size × user categorical slots], ids in the shared categorical table. */
  readonly categorical: Int32Array;
  /** [size × historyLength], embedding rows of recently engaged items, newest first, 0 = padding. */
  readonly history: Int32Array;
  /** [size × historyLength], embedding rows of those items' authors, 0 = padding. */
  readonly historyAuthors: Int32Array;
  /** [size × user dense], standardised. */
  readonly dense: Float32Array;
}

/** Inputs of an item tower, row-major. */
export interface ItemTowerInputs {
  readonly size: number;
  readonly item: Int32Array;
  readonly author: Int32Array;
  /** [size × maxTags], tag rows + 1, 0 = padding. */
  readonly tags: Int32Array;
  /** [size × ITEM_TOWER_SLOTS], ids in the shared categorical table. */
  readonly categorical: Int32Array;
  /** [size × item dense], standardised. */
  readonly dense: Float32Array;
}

// Slot indices per categorical table, computed once: the user tower runs twice per request and asked for them three
// times each (allocate, write), re-scanning ~20 slot names every time. Keyed by the (never mutated) slot array.
const userSlotCache = new WeakMap<FeatureSpec["categorical"], readonly number[]>();

export function userSlotIndices(spec: FeatureSpec): readonly number[] {
  let indices = userSlotCache.get(spec.categorical);
  if (!indices) {
    indices = Object.freeze(spec.categorical.flatMap((slot, i) => (slot.name.startsWith("user_") ? [i] : [])));
    userSlotCache.set(spec.categorical, indices);
  }
  return indices;
}

export function itemSlotIndices(spec: FeatureSpec): number[] {
  return ITEM_TOWER_SLOTS.map((name) => {
    const index = spec.categorical.findIndex((slot) => slot.name === name);
    if (index === -1) throw new Error(`feature spec has no categorical slot ${name}`);
    return index;
  });
}

export function allocateUserTowerInputs(spec: FeatureSpec, size: number): UserTowerInputs {
  return {
    size,
    categorical: new Int32Array(size * userSlotIndices(spec).length),
    history: new Int32Array(size * spec.tower.historyLength),
    historyAuthors: new Int32Array(size * spec.tower.historyLength),
    dense: new Float32Array(size * spec.tower.userDense.names.length),
  };
}

export function allocateItemTowerInputs(spec: FeatureSpec, size: number): ItemTowerInputs {
  return {
    size,
    item: new Int32Array(size),
    author: new Int32Array(size),
    tags: new Int32Array(size * spec.maxTags),
    categorical: new Int32Array(size * ITEM_TOWER_SLOTS.length),
    dense: new Float32Array(size * spec.tower.itemDense.names.length),
  };
}

export function writeUserTowerRow(context: FeatureContext, user: UserContext, inputs: UserTowerInputs, r: number, standardise = true): void {
  const { spec } = context;
  const slots = userSlotIndices(spec);
  const firstUserSlot = slots[0] ?? 0;
  slots.forEach((slotIndex, s) => {
    const slot = spec.categorical[slotIndex] as { offset: number; size: number };
    const value = (user.categorical[slotIndex - firstUserSlot] as number | undefined) ?? 0;
    inputs.categorical[r * slots.length + s] = slot.offset + (value >= 0 && value < slot.size ? value : 0);
  });

  const length = spec.tower.historyLength;
  const recent = user.activity.recentItems(length);
  for (let h = 0; h < length; h++) {
    const item = recent[h];
    inputs.history[r * length + h] = item === undefined ? 0 : (context.itemEmbeddingRow[item] as number);
    inputs.historyAuthors[r * length + h] = item === undefined ? 0 : (context.authorEmbeddingRow[context.catalogue.author[item] as number] as number);
  }

  const { priors } = spec;
  const activity = user.activity;
  const width = spec.tower.userDense.names.length;
  const d = inputs.dense;
  let k = r * width;
  d[k++] = Math.log1p(activity.impressions);
  d[k++] = Math.log(smoothed(activity.positives[CLICK] as number, activity.impressions, priors.userRates[CLICK] as number, priors.strength.user));
  d[k++] = Math.log(smoothed(activity.positives[LIKE] as number, activity.impressions, priors.userRates[LIKE] as number, priors.strength.user));
  d[k++] = user.hasFeatures ? 1 : 0;
  for (let n = 0; n < user.numeric.length; n++) d[k++] = Math.log1p(Math.max(0, user.numeric[n] as number));
  finishDense("user tower", d, r, width, k, standardise ? spec.tower.userDense : undefined);
}

/** Item tower features as of `atMs` (the event time in training, the bundle's snapshot time when serving). */
export function writeItemTowerRow(context: FeatureContext, item: number, atMs: number, inputs: ItemTowerInputs, r: number, standardise = true): void {
  const { spec, catalogue, itemCounters } = context;
  inputs.item[r] = context.itemEmbeddingRow[item] as number;
  inputs.author[r] = context.authorEmbeddingRow[catalogue.author[item] as number] as number;
  const tagStart = catalogue.tagOffsets[item] as number;
  const tagEnd = Math.min(catalogue.tagOffsets[item + 1] as number, tagStart + spec.maxTags);
  for (let t = 0; t < spec.maxTags; t++) inputs.tags[r * spec.maxTags + t] = tagStart + t < tagEnd ? (catalogue.tagIds[tagStart + t] as number) + 1 : 0;

  const slots = itemSlotIndices(spec);
  const createdAt = catalogue.createdAt[item] as number;
  const values = [
    bucketOf(catalogue.durationMs[item] as number, spec.durationBucketsMs),
    isKnown(createdAt) ? bucketOf(Math.max(0, atMs - createdAt), spec.ageBucketsMs) : 0,
    (catalogue.type[item] as number) + 1,
  ];
  slots.forEach((slotIndex, s) => {
    const slot = spec.categorical[slotIndex] as { offset: number; size: number };
    const value = values[s] as number;
    inputs.categorical[r * slots.length + s] = slot.offset + (value >= 0 && value < slot.size ? value : 0);
  });

  const width = spec.tower.itemDense.names.length;
  const d = inputs.dense;
  let k = r * width;
  const impressions = itemCounters.impressions[item] as number;
  d[k++] = Math.log1p(impressions);
  d[k++] = Math.log1p(itemCounters.decayedClicks[item] as number);
  d[k++] = Math.log(smoothed(itemCounters.positive(item, CLICK), impressions, spec.priors.itemRates[CLICK] as number, spec.priors.strength.item));
  finishDense("item tower", d, r, width, k, standardise ? spec.tower.itemDense : undefined);
}

function finishDense(what: string, d: Float32Array, r: number, width: number, k: number, statistics?: { mean: readonly number[]; std: readonly number[] }): void {
  if (k !== (r + 1) * width) throw new Error(`${what} features: wrote ${k - r * width} dense values, the spec has ${width}`);
  if (statistics) standardiseRows(d, statistics, r, r + 1);
}
