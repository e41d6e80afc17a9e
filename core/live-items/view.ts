import { AnnIndex } from "../ann/ann-index";
import type { UsearchRuntime } from "../ann/runtime";
import { compareNewestFirst } from "../data/dataset";
import { BundleTables } from "../serving/bundle-tables";
import type { ServingBundle } from "../serving/serving-bundle";
import { neighboursOf, type Adjacency, type ServingIndex } from "../serving/serving-index";
import type { ExtendedCatalogue } from "./catalogue";
import type { ItemEmbeddings } from "./embed";

/** A bundle with the live delta applied: what every feed of an isolate serves until the delta or the bundle changes. */
export interface LiveServingBundle extends ServingBundle {
  /** Rows every feed leaves out (taken down), bundle rows and live ones alike. */
  readonly takenDown: ReadonlySet<number>;
  /** The taken-down ids, whether or not this bundle holds them. */
  readonly takenDownIds: ReadonlySet<string>;
  /** How many live rows were appended after the bundle's. */
  readonly liveItems: number;
}

/**
 * The serving bundle over the extended catalogue: tables with the live rows and their tower embeddings appended,
 * each author's media with the live ones in their place (newest first), and the live rows' retrieval vectors in a
 * USearch index of their own (`liveIndex`), which the two-tower and `media_nn` searches merge with the bundle's
 * index. The bundle's models are shared, not copied; `release` frees only the live index (the bundle's models are
 * the bundle cache's to release). Taken-down rows stay in the tables, so that rows never move while the delta grows,
 * but leave every list a source reads: the live index and the authors' media.
 */
export function liveServingBundle(base: ServingBundle, catalogue: ExtendedCatalogue, embeddings: ItemEmbeddings, usearch: UsearchRuntime): LiveServingBundle {
  const { tables } = base;
  const { retrieval, first_stage: firstStage } = tables.manifest.models;
  const live = catalogue.appended.length;
  const size = catalogue.firstLiveRow + live;
  if (embeddings.retrieval.length !== live * retrieval.dim || embeddings.firstStage.length !== live * firstStage.dim) {
    throw new Error(`live items: ${live} rows need ${live * retrieval.dim} + ${live * firstStage.dim} embedding values, got ${embeddings.retrieval.length} + ${embeddings.firstStage.length}`);
  }
  const extended = BundleTables.withCatalogue(tables, {
    items: catalogue.items,
    itemEmbeddingRow: catalogue.itemEmbeddingRow,
    itemCounters: catalogue.itemCounters,
    popular: withFreshItems(tables.popular, freshRows(catalogue)),
    // live items have no co-occurrence yet: an empty range each
    cooccurrence: { ...tables.cooccurrence, offsets: extendOffsets(tables.cooccurrence.offsets, size) },
    retrievalItemEmbeddings: appendRows(tables.retrievalItemEmbeddings, embeddings.retrieval),
    firstStageItemEmbeddings: appendRows(tables.firstStageItemEmbeddings, embeddings.firstStage),
  });
  const liveRows: number[] = [];
  for (let row = catalogue.firstLiveRow; row < size; row++) if (!catalogue.takenDown.has(row)) liveRows.push(row);
  let liveIndex: AnnIndex | undefined;
  if (liveRows.length > 0) {
    liveIndex = AnnIndex.create(usearch, { dimensions: retrieval.dim, metric: retrieval.metric });
    const vectors = new Float32Array(liveRows.length * retrieval.dim);
    liveRows.forEach((row, i) => vectors.set(embeddings.retrieval.subarray((row - catalogue.firstLiveRow) * retrieval.dim, (row - catalogue.firstLiveRow + 1) * retrieval.dim), i * retrieval.dim));
    liveIndex.add(liveRows, vectors);
  }
  const index: ServingIndex = { ...base.index, authorMedia: authorMediaWithLive(extended, base.index.authorMedia, catalogue), trending: withFreshItems(base.index.trending, freshRows(catalogue)) };
  return {
    ...base,
    tables: extended,
    index,
    liveIndex,
    takenDown: catalogue.takenDown,
    takenDownIds: catalogue.takenDownIds,
    liveItems: live,
    release: async () => liveIndex?.dispose(),
  };
}

/** Each author's media with the live rows merged in, newest first (unknown ages last, ties by row), taken-down rows out. */
function authorMediaWithLive(tables: BundleTables, bundleMedia: Adjacency, catalogue: ExtendedCatalogue): Adjacency {
  const { items } = tables;
  const liveByAuthor = new Map<number, number[]>();
  for (let row = catalogue.firstLiveRow; row < items.ids.size; row++) {
    if (catalogue.takenDown.has(row)) continue;
    const author = items.author[row] as number;
    let list = liveByAuthor.get(author);
    if (!list) liveByAuthor.set(author, (list = []));
    list.push(row);
  }
  const authorCount = bundleMedia.offsets.length - 1;
  const offsets = new Int32Array(authorCount + 1);
  const values: number[] = [];
  for (let author = 0; author < authorCount; author++) {
    const own = neighboursOf(bundleMedia, author);
    const live = liveByAuthor.get(author);
    const kept = catalogue.takenDown.size === 0 ? Array.from(own) : Array.from(own).filter((row) => !catalogue.takenDown.has(row));
    if (live) {
      kept.push(...live);
      kept.sort((a, b) => compareNewestFirst(items.createdAt[a] as number, items.createdAt[b] as number) || a - b);
    }
    values.push(...kept);
    offsets[author + 1] = values.length;
  }
  return { offsets, values: Int32Array.from(values) };
}

/** The live rows a list may return (not taken down), newest first. */
function freshRows(catalogue: ExtendedCatalogue): number[] {
  const rows: number[] = [];
  for (let i = 0; i < catalogue.appended.length; i++) if (!catalogue.takenDown.has(catalogue.firstLiveRow + i)) rows.push(catalogue.firstLiveRow + i);
  const createdAt = catalogue.items.createdAt;
  return rows.sort((a, b) => compareNewestFirst(createdAt[a] as number, createdAt[b] as number) || a - b);
}

/** How many of the newest live items lead the popular and trending lists; older ones join at the lists' median. */
export const FRESH_LIST_SLOTS = 50;

/**
 * A bundle list (popular, trending) with the live items in it. The bundle never counted them, so the list cannot
 * know how they do, and at its end nothing past a source's quota would ever return them: the newest
 * FRESH_LIST_SLOTS lead the list (a fresh post gets its first exposure, as Explore gives new media, so that its
 * events can tell how it does), the others join at the median (the uninformed guess: as many items above as below).
 * Real-time trending moves them from there once events come; the next bundle counts them. The bundle's own items keep
 * their order and scores.
 */
function withFreshItems(list: { readonly items: Int32Array; readonly scores: Float32Array }, newestFirst: readonly number[]): { items: Int32Array; scores: Float32Array } {
  if (newestFirst.length === 0) return { items: list.items, scores: list.scores };
  const leading = newestFirst.slice(0, FRESH_LIST_SLOTS);
  const middling = newestFirst.slice(FRESH_LIST_SLOTS);
  const middle = Math.floor(list.items.length / 2);
  const top = list.scores[0] ?? 0;
  const median = list.scores[middle] ?? 0;
  const items = Int32Array.from([...leading, ...list.items.subarray(0, middle), ...middling, ...list.items.subarray(middle)]);
  const scores = Float32Array.from([...leading.map(() => top), ...list.scores.subarray(0, middle), ...middling.map(() => median), ...list.scores.subarray(middle)]);
  return { items, scores };
}

function extendOffsets(offsets: Int32Array, rows: number): Int32Array {
  const out = new Int32Array(rows + 1);
  out.set(offsets);
  out.fill(offsets[offsets.length - 1] as number, offsets.length);
  return out;
}

function appendRows(bundle: Float32Array, live: Float32Array): Float32Array {
  const out = new Float32Array(bundle.length + live.length);
  out.set(bundle);
  out.set(live, bundle.length);
  return out;
}
