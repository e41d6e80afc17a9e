import { UNKNOWN, type ItemTable } from "../data/dataset";
import { IdIndex } from "../data/ids";
import { LABELS } from "../data/labels";
import { EngagementCounters } from "../features/counters";
import type { FeatureContext } from "../features/context";
import type { BundleTables } from "../serving/bundle-tables";
import type { LiveItemRecord } from "./record";

/** One entry of the delta as the view reads it: a record (absent for a takedown of an id that was never upserted). */
export interface DeltaEntry {
  readonly item_id: string;
  readonly record: LiveItemRecord | null;
  readonly taken_down: boolean;
}

/** The catalogue of a bundle with the delta applied, before the towers have embedded the appended rows. */
export interface ExtendedCatalogue {
  readonly items: ItemTable;
  readonly itemEmbeddingRow: Int32Array;
  readonly itemCounters: EngagementCounters;
  /** The first appended row: rows below are the bundle's own. */
  readonly firstLiveRow: number;
  /** The records of the appended rows, in row order. */
  readonly appended: readonly LiveItemRecord[];
  /** Rows (bundle or appended) that are taken down: every feed excludes them. */
  readonly takenDown: ReadonlySet<number>;
  /** Ids taken down, whether or not this bundle holds them (the popular fallback and the precomputed feeds read ids). */
  readonly takenDownIds: ReadonlySet<string>;
  /** Entries this bundle cannot serve, with why (an author it does not know: a switch to a bundle without them). */
  readonly skipped: readonly { readonly item_id: string; readonly reason: string }[];
}

/**
 * Applies the delta to a bundle's catalogue: each upserted id the bundle does not hold becomes a new row after the
 * bundle's (in the delta's order, so rows stay put while the delta grows), with the "rare" embedding row 0 that
 * training gives every id with too few impressions, and empty counters (nobody has seen it yet). An id the bundle
 * holds keeps its row and takes only its integrity from the delta. Tags the bundle does not know are left out (no
 * embedding row exists for them); a type it does not know gets a row of its own, which the models' slots read as
 * unknown. Nothing of `base` is modified: the id indexes are copied.
 */
export function extendCatalogue(base: BundleTables, delta: readonly DeltaEntry[]): ExtendedCatalogue {
  const bundleItems = base.items;
  const firstLiveRow = bundleItems.ids.size;
  const appended: LiveItemRecord[] = [];
  const skipped: { item_id: string; reason: string }[] = [];
  const integrityOverrides = new Map<number, number>();
  const takenDownIds = new Set<string>();
  for (const entry of delta) {
    if (entry.taken_down) takenDownIds.add(entry.item_id);
    const record = entry.record;
    if (record === null) continue;
    const bundleRow = bundleItems.ids.get(record.item_id);
    if (bundleRow !== undefined) integrityOverrides.set(bundleRow, record.integrity);
    else if (!bundleItems.authors.has(record.author_id)) skipped.push({ item_id: record.item_id, reason: `author ${record.author_id} is not in bundle ${base.version}` });
    else appended.push(record);
  }

  const size = firstLiveRow + appended.length;
  const ids = IdIndex.from(bundleItems.ids.ids());
  const types = IdIndex.from(bundleItems.types.ids());
  const author = grow(bundleItems.author, size);
  const type = grow(bundleItems.type, size);
  const createdAt = grow(bundleItems.createdAt, size);
  const durationMs = grow(bundleItems.durationMs, size);
  const integrity = grow(bundleItems.integrity, size);
  for (const [row, value] of integrityOverrides) integrity[row] = value;
  // the bundle's offsets end at its last row's end, where the first live row's tags begin; each live row sets its own end
  const tagOffsets = grow(bundleItems.tagOffsets, size + 1);
  const liveTags: number[] = [];
  appended.forEach((record, i) => {
    const row = firstLiveRow + i;
    ids.add(record.item_id);
    author[row] = bundleItems.authors.get(record.author_id) as number;
    type[row] = types.add(record.type);
    createdAt[row] = record.created_at ?? UNKNOWN;
    durationMs[row] = record.duration ?? UNKNOWN;
    integrity[row] = record.integrity;
    for (const tag of new Set(record.tags)) {
      const tagRow = bundleItems.tags.get(tag);
      if (tagRow !== undefined) liveTags.push(tagRow);
    }
    tagOffsets[row + 1] = (tagOffsets[firstLiveRow] as number) + liveTags.length;
  });
  const tagIds = new Int32Array(bundleItems.tagIds.length + liveTags.length);
  tagIds.set(bundleItems.tagIds);
  tagIds.set(liveTags, bundleItems.tagIds.length);

  const items: ItemTable = { ids, authors: bundleItems.authors, author, tags: bundleItems.tags, tagOffsets, tagIds, createdAt, durationMs, types, type, integrity };
  const takenDown = new Set<number>();
  for (const id of takenDownIds) {
    const row = ids.get(id);
    if (row !== undefined) takenDown.add(row);
  }
  const counters = base.itemCounters;
  const itemCounters = EngagementCounters.restore({
    size,
    halfLifeMs: counters.halfLifeMs,
    asOfMs: counters.asOfMs,
    impressions: grow(counters.impressions, size),
    positives: grow(counters.positives, size * LABELS.length),
    decayedImpressions: grow(counters.decayedImpressions, size),
    decayedClicks: grow(counters.decayedClicks, size),
  });
  return { items, itemEmbeddingRow: grow(base.itemEmbeddingRow, size), itemCounters, firstLiveRow, appended, takenDown, takenDownIds, skipped };
}

/** What the item towers read for the extended catalogue (core/features/tower-features.ts writeItemTowerRow). */
export function extendedFeatureContext(base: BundleTables, catalogue: ExtendedCatalogue): FeatureContext {
  return { ...base.featureContext(), catalogue: catalogue.items, itemEmbeddingRow: catalogue.itemEmbeddingRow, itemCounters: catalogue.itemCounters };
}

/** A copy of `source` with room for `length` values; the new ones are 0 (the rare embedding row, empty counters). */
function grow<T extends Int32Array | Float32Array | Float64Array>(source: T, length: number): T {
  const out = new (source.constructor as new (length: number) => T)(length);
  out.set(source.subarray(0, Math.min(source.length, length)));
  return out;
}
