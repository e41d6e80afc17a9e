import { isKnown, type TrainingData } from "../data/dataset";
import { LABELS } from "../data/labels";
import { addAt } from "../util/typed-arrays";
import { CONTEXT_CATEGORICAL_SLOTS, mtmlDenseNames } from "./mtml-features";
import { MIN_DENSE_STD, type DenseStatistics, type FeatureSpec } from "./spec";
import { ITEM_TOWER_DENSE, userTowerDenseNames } from "./tower-features";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface FeatureFitOptions {
  readonly halfLifeMs?: number;
  readonly historyLength?: number;
  readonly maxTags?: number;
  /** Ids with fewer training impressions share the "rare" embedding row 0. */
  readonly minImpressions?: { users: number; items: number; authors: number };
  readonly durationBuckets?: number;
  /** Recently engaged items a user tower reads. */
  readonly towerHistoryLength?: number;
}

export interface FittedFeatures {
  /** The spec with dense mean 0 and deviation 1: `withDenseStatistics` fills those from real rows. */
  readonly spec: FeatureSpec;
  readonly userEmbeddingRow: Int32Array;
  readonly itemEmbeddingRow: Int32Array;
  readonly authorEmbeddingRow: Int32Array;
}

/** Fits vocabularies, buckets and priors on the training window (never on test days). */
export function fitFeatures(train: TrainingData, options: FeatureFitOptions = {}): FittedFeatures {
  const minimum = options.minImpressions ?? { users: 1, items: 2, authors: 2 };
  const { events, items, users } = train;

  const userImpressions = new Int32Array(users.ids.size);
  const itemImpressions = new Int32Array(items.ids.size);
  const authorImpressions = new Int32Array(items.authors.size);
  const surfaces = new Set<number>();
  const labelTotals = new Float64Array(LABELS.length);
  for (let i = 0; i < events.size; i++) {
    const item = events.item[i] as number;
    addAt(userImpressions, events.user[i] as number);
    addAt(itemImpressions, item);
    addAt(authorImpressions, items.author[item] as number);
    surfaces.add(events.surface[i] as number);
    LABELS.forEach((label, l) => {
      if (events.labels[label]?.[i]) addAt(labelTotals, l);
    });
  }
  const rows = (counts: Int32Array, min: number) => {
    const map = new Int32Array(counts.length);
    let next = 1;
    for (let i = 0; i < counts.length; i++) if ((counts[i] as number) >= min) map[i] = next++;
    return { map, size: next };
  };
  const userRows = rows(userImpressions, minimum.users);
  const itemRows = rows(itemImpressions, minimum.items);
  const authorRows = rows(authorImpressions, minimum.authors);

  const knownDurations = Array.from(items.durationMs).filter(isKnown).sort((a, b) => a - b);
  const bucketCount = options.durationBuckets ?? 10;
  const durationBucketsMs = [...new Set(Array.from({ length: bucketCount - 1 }, (_, b) => knownDurations[Math.floor(((b + 1) * knownDurations.length) / bucketCount)] ?? 0))];
  const ageBucketsMs = [6, 12, 24, 48, 96, 168, 336, 720].map((hours) => hours * HOUR_MS);
  const sortedSurfaces = [...surfaces].sort((a, b) => a - b);

  const slotSizes: [string, number][] = [
    ["surface", sortedSurfaces.length + 1],
    ["hour", 25],
    ["duration_bucket", durationBucketsMs.length + 2],
    ["age_bucket", ageBucketsMs.length + 2],
    ["item_type", items.types.size + 1],
    ...users.categorical.map((feature): [string, number] => [`user_${feature.name}`, feature.values.size]),
  ];
  if (slotSizes.slice(0, CONTEXT_CATEGORICAL_SLOTS.length).some(([name], i) => name !== CONTEXT_CATEGORICAL_SLOTS[i])) throw new Error("categorical slots out of sync");
  let offset = 0;
  const categorical = slotSizes.map(([name, size]) => {
    const slot = { name, offset, size };
    offset += size;
    return slot;
  });
  const rates = Array.from(labelTotals, (total) => (events.size > 0 ? total / events.size : 0));
  const denseNames = mtmlDenseNames(users.numeric.map((feature) => feature.name));

  const spec: FeatureSpec = {
    version: 1,
    labels: [...LABELS],
    halfLifeMs: options.halfLifeMs ?? DAY_MS,
    timezoneOffsetMinutes: train.timezoneOffsetMinutes,
    asOfMs: train.endMs,
    historyLength: options.historyLength ?? 50,
    maxTags: options.maxTags ?? Math.max(1, Math.min(4, maxTagsPerItem(items.tagOffsets))),
    vocab: { users: userRows.size, items: itemRows.size, authors: authorRows.size, tags: items.tags.size + 1, categorical: offset },
    categorical,
    surfaces: sortedSurfaces,
    durationBucketsMs,
    ageBucketsMs,
    itemTypes: items.types.size,
    priors: { itemRates: rates, userRates: rates, strength: { item: 20, author: 20, user: 10, userAuthor: 3, userTag: 3 } },
    dense: unitStatistics(denseNames),
    tower: {
      historyLength: options.towerHistoryLength ?? 20,
      userDense: unitStatistics(userTowerDenseNames(users.numeric.map((feature) => feature.name))),
      itemDense: unitStatistics([...ITEM_TOWER_DENSE]),
    },
  };
  return { spec, userEmbeddingRow: userRows.map, itemEmbeddingRow: itemRows.map, authorEmbeddingRow: authorRows.map };
}

function unitStatistics(names: readonly string[]): DenseStatistics {
  return { names: [...names], mean: names.map(() => 0), std: names.map(() => 1) };
}

/** The spec with the MTML's dense standardisation measured on raw (unstandardised) rows [rows × features]. */
export function withDenseStatistics(spec: FeatureSpec, raw: Float32Array, rowCount: number): FeatureSpec {
  return { ...spec, dense: measureDenseStatistics(spec.dense.names, raw, rowCount) };
}

/** Mean and deviation (floored at MIN_DENSE_STD) of each column of raw rows [rows × names]. */
export function measureDenseStatistics(names: readonly string[], raw: Float32Array, rowCount: number): DenseStatistics {
  const width = names.length;
  const mean = new Float64Array(width);
  const squares = new Float64Array(width);
  for (let r = 0; r < rowCount; r++) {
    for (let f = 0; f < width; f++) {
      const value = raw[r * width + f] as number;
      if (!Number.isFinite(value)) throw new Error(`feature ${names[f]} is ${value} in row ${r}`);
      mean[f] = (mean[f] as number) + value;
      squares[f] = (squares[f] as number) + value * value;
    }
  }
  const means = Array.from(mean, (sum) => sum / Math.max(1, rowCount));
  const stds = Array.from(squares, (sum, f) => Math.sqrt(Math.max(sum / Math.max(1, rowCount) - (means[f] as number) ** 2, 0)) || 1);
  return { names: [...names], mean: means, std: stds.map((s) => Math.max(s, MIN_DENSE_STD)) };
}

function maxTagsPerItem(offsets: Int32Array): number {
  let max = 0;
  for (let i = 0; i + 1 < offsets.length; i++) max = Math.max(max, (offsets[i + 1] as number) - (offsets[i] as number));
  return max;
}
