import { BundleError } from "../bundle/errors";
import { packArrays, requireArray, unpackArrays, type JsonValue, type UnpackedArrays } from "../bundle/packed";
import { MAX_EPOCH_MS, UNKNOWN, type ItemTable, type UserTable } from "../data/dataset";
import { IdIndex } from "../data/ids";
import { LABELS } from "../data/labels";
import { EngagementCounters } from "../features/counters";
import type { Engagement } from "../features/engagement";

/**
 * The tables a model bundle carries besides its models, and their binary encoding (packed-arrays files).
 * Encoding and decoding live side by side so the pipeline and the Worker cannot disagree on the format.
 */
export const ASSET_FILES = {
  catalogue: "tables/catalogue.bin",
  users: "tables/users.bin",
  history: "tables/history.bin",
  counters: "tables/counters.bin",
  cooccurrence: "lists/cooccurrence.bin",
  popular: "lists/popular.bin",
} as const;

/** Every user's training-window engagements, oldest first, in CSR form (offsets has users + 1 entries). */
export interface UserHistories {
  readonly offsets: Int32Array;
  readonly item: Int32Array;
  readonly ts: Float64Array;
  readonly surface: Int32Array;
  readonly labels: Uint8Array;
}

/** Item-to-item neighbours in CSR form, best first. */
export interface Neighbours {
  readonly offsets: Int32Array;
  readonly items: Int32Array;
  readonly scores: Float32Array;
}

export interface CatalogueAssets {
  readonly items: ItemTable;
  readonly itemEmbeddingRow: Int32Array;
  readonly authorEmbeddingRow: Int32Array;
}

export interface UserAssets {
  readonly users: UserTable;
  readonly userEmbeddingRow: Int32Array;
}

// --- catalogue ---------------------------------------------------------------------------------------------

/**
 * The catalogue's `meta.unknown`: how it marks an unknown creation time or duration in its float64 columns. Bundles
 * written before times could be negative have no marker and used -1, which is now a real time (1969-12-31T23:59:59.999Z);
 * their loaders refused every other negative value, so decoding reads any negative value of theirs as UNKNOWN.
 */
export const CATALOGUE_UNKNOWN_MARKER = "NaN";

export function encodeCatalogue(assets: CatalogueAssets): Uint8Array {
  const { items } = assets;
  return packArrays(
    {
      author: items.author,
      tagOffsets: items.tagOffsets,
      tagIds: items.tagIds,
      createdAt: items.createdAt,
      durationMs: items.durationMs,
      type: items.type,
      integrity: items.integrity,
      itemEmbeddingRow: assets.itemEmbeddingRow,
      authorEmbeddingRow: assets.authorEmbeddingRow,
    },
    { ids: [...items.ids.ids()], authors: [...items.authors.ids()], tags: [...items.tags.ids()], types: [...items.types.ids()], unknown: CATALOGUE_UNKNOWN_MARKER },
  );
}

export function decodeCatalogue(bytes: Uint8Array): CatalogueAssets {
  const source = ASSET_FILES.catalogue;
  const unpacked = unpackArrays(bytes, source);
  const meta = stringLists(unpacked, source, ["ids", "authors", "tags", "types"]);
  const times = catalogueTimes(unpacked, source);
  const items: ItemTable = {
    ids: IdIndex.from(meta.ids),
    authors: IdIndex.from(meta.authors),
    author: requireArray(unpacked, "author", "int32", source),
    tags: IdIndex.from(meta.tags),
    tagOffsets: requireArray(unpacked, "tagOffsets", "int32", source),
    tagIds: requireArray(unpacked, "tagIds", "int32", source),
    createdAt: times.createdAt,
    durationMs: times.durationMs,
    types: IdIndex.from(meta.types),
    type: requireArray(unpacked, "type", "int32", source),
    integrity: requireArray(unpacked, "integrity", "float32", source),
  };
  const size = items.ids.size;
  expectLength(source, "author", items.author.length, size);
  expectLength(source, "tagOffsets", items.tagOffsets.length, size + 1);
  expectLength(source, "integrity", items.integrity.length, size);
  expectLength(source, "createdAt", items.createdAt.length, size);
  expectLength(source, "durationMs", items.durationMs.length, size);
  const itemEmbeddingRow = requireArray(unpacked, "itemEmbeddingRow", "int32", source);
  expectLength(source, "itemEmbeddingRow", itemEmbeddingRow.length, size);
  const authorEmbeddingRow = requireArray(unpacked, "authorEmbeddingRow", "int32", source);
  expectLength(source, "authorEmbeddingRow", authorEmbeddingRow.length, items.authors.size);
  for (let i = 0; i < size; i++) {
    const author = items.author[i] as number;
    if (author < 0 || author >= items.authors.size) throw new BundleError(`${source} is inconsistent`, [`item ${i} has author row ${author} of ${items.authors.size}`]);
  }
  return { items, itemEmbeddingRow, authorEmbeddingRow };
}

/**
 * The creation times and durations of a catalogue, with UNKNOWN as NaN whatever the bundle's age (see
 * CATALOGUE_UNKNOWN_MARKER), checked so that feature code never meets a time outside a Date or a negative duration.
 */
function catalogueTimes(unpacked: UnpackedArrays, source: string): { createdAt: Float64Array; durationMs: Float64Array } {
  let createdAt = requireArray(unpacked, "createdAt", "float64", source);
  let durationMs = requireArray(unpacked, "durationMs", "float64", source);
  const marker = (unpacked.meta as Record<string, JsonValue> | null)?.unknown;
  if (marker === undefined) {
    // a bundle from before negative times: -1 meant unknown (copies, as the views share the bundle's bytes)
    const legacyToUnknown = (value: number) => (value < 0 ? UNKNOWN : value);
    createdAt = Float64Array.from(createdAt, legacyToUnknown);
    durationMs = Float64Array.from(durationMs, legacyToUnknown);
  } else if (marker !== CATALOGUE_UNKNOWN_MARKER) {
    throw new BundleError(`${source} has malformed metadata`, [`unknown must be ${JSON.stringify(CATALOGUE_UNKNOWN_MARKER)}, found ${JSON.stringify(marker)} (a bundle written by a newer version of the pipeline?)`]);
  }
  const problems: string[] = [];
  const MAX_PROBLEMS = 5;
  for (let i = 0; i < createdAt.length && problems.length < MAX_PROBLEMS; i++) {
    const value = createdAt[i] as number;
    if (!Number.isNaN(value) && !(Math.abs(value) <= MAX_EPOCH_MS)) problems.push(`item ${i} has createdAt ${value}, outside the range of a Date`);
  }
  for (let i = 0; i < durationMs.length && problems.length < MAX_PROBLEMS; i++) {
    const value = durationMs[i] as number;
    if (!Number.isNaN(value) && !(value >= 0 && value < Number.POSITIVE_INFINITY)) problems.push(`item ${i} has durationMs ${value}, not a non-negative number`);
  }
  if (problems.length > 0) throw new BundleError(`${source} is inconsistent`, problems);
  return { createdAt, durationMs };
}

// --- users -------------------------------------------------------------------------------------------------

export function encodeUsers(assets: UserAssets): Uint8Array {
  const { users } = assets;
  const arrays: Record<string, Int32Array | Float64Array | Uint8Array> = { hasFeatures: users.hasFeatures, userEmbeddingRow: assets.userEmbeddingRow };
  users.categorical.forEach((feature, i) => (arrays[`categorical${i}`] = feature.codes));
  users.numeric.forEach((feature, i) => (arrays[`numeric${i}`] = feature.values));
  return packArrays(arrays, {
    ids: [...users.ids.ids()],
    categorical: users.categorical.map((feature) => ({ name: feature.name, values: [...feature.values.ids()] })),
    numeric: users.numeric.map((feature) => feature.name),
  });
}

export function decodeUsers(bytes: Uint8Array): UserAssets {
  const source = ASSET_FILES.users;
  const unpacked = unpackArrays(bytes, source);
  const meta = unpacked.meta as { ids?: unknown; categorical?: unknown; numeric?: unknown } | null;
  if (!meta || !isStringArray(meta.ids) || !Array.isArray(meta.categorical) || !isStringArray(meta.numeric)) {
    throw new BundleError(`${source} has malformed metadata`, ["expected ids, categorical and numeric lists"]);
  }
  const size = meta.ids.length;
  const users: UserTable = {
    ids: IdIndex.from(meta.ids),
    hasFeatures: requireArray(unpacked, "hasFeatures", "uint8", source),
    categorical: meta.categorical.map((entry: unknown, i) => {
      const feature = entry as { name?: unknown; values?: unknown };
      if (typeof feature.name !== "string" || !isStringArray(feature.values)) throw new BundleError(`${source} has malformed metadata`, [`categorical feature ${i}`]);
      const codes = requireArray(unpacked, `categorical${i}`, "int32", source);
      expectLength(source, `categorical${i}`, codes.length, size);
      return { name: feature.name, values: IdIndex.from(feature.values), codes };
    }),
    numeric: meta.numeric.map((name, i) => {
      const values = requireArray(unpacked, `numeric${i}`, "float64", source);
      expectLength(source, `numeric${i}`, values.length, size);
      return { name, values };
    }),
  };
  const userEmbeddingRow = requireArray(unpacked, "userEmbeddingRow", "int32", source);
  expectLength(source, "userEmbeddingRow", userEmbeddingRow.length, size);
  expectLength(source, "hasFeatures", users.hasFeatures.length, size);
  return { users, userEmbeddingRow };
}

// --- histories ---------------------------------------------------------------------------------------------

export function encodeHistories(histories: UserHistories): Uint8Array {
  return packArrays({ ...histories });
}

export function decodeHistories(bytes: Uint8Array, users: number, items: number): UserHistories {
  const source = ASSET_FILES.history;
  const unpacked = unpackArrays(bytes, source);
  const histories: UserHistories = {
    offsets: requireArray(unpacked, "offsets", "int32", source),
    item: requireArray(unpacked, "item", "int32", source),
    ts: requireArray(unpacked, "ts", "float64", source),
    surface: requireArray(unpacked, "surface", "int32", source),
    labels: requireArray(unpacked, "labels", "uint8", source),
  };
  expectLength(source, "offsets", histories.offsets.length, users + 1);
  const events = histories.item.length;
  if (histories.offsets[users] !== events || histories.ts.length !== events || histories.surface.length !== events || histories.labels.length !== events) {
    throw new BundleError(`${source} is inconsistent`, [`offsets end at ${histories.offsets[users]}, arrays hold ${events} events`]);
  }
  for (let e = 0; e < events; e++) {
    const item = histories.item[e] as number;
    if (item < 0 || item >= items) throw new BundleError(`${source} is inconsistent`, [`event ${e} refers to item row ${item} of ${items}`]);
  }
  return histories;
}

/** One user's training-window engagements, oldest first. */
export function historyOf(histories: UserHistories, user: number): Engagement[] {
  const start = histories.offsets[user];
  const end = histories.offsets[user + 1];
  if (start === undefined || end === undefined) return [];
  const out: Engagement[] = [];
  for (let e = start; e < end; e++) out.push({ item: histories.item[e] as number, ts: histories.ts[e] as number, surface: histories.surface[e] as number, labels: histories.labels[e] as number });
  return out;
}

// --- counters ----------------------------------------------------------------------------------------------

export function encodeCounters(items: EngagementCounters, authors: EngagementCounters): Uint8Array {
  return packArrays(
    {
      itemImpressions: items.impressions,
      itemPositives: items.positives,
      itemDecayedImpressions: items.decayedImpressions,
      itemDecayedClicks: items.decayedClicks,
      authorImpressions: authors.impressions,
      authorPositives: authors.positives,
      authorDecayedImpressions: authors.decayedImpressions,
      authorDecayedClicks: authors.decayedClicks,
    },
    { asOfMs: items.asOfMs, halfLifeMs: items.halfLifeMs, labels: [...LABELS] },
  );
}

export function decodeCounters(bytes: Uint8Array, items: number, authors: number): { items: EngagementCounters; authors: EngagementCounters } {
  const source = ASSET_FILES.counters;
  const unpacked = unpackArrays(bytes, source);
  const meta = unpacked.meta as { asOfMs?: unknown; halfLifeMs?: unknown; labels?: unknown } | null;
  if (!meta || typeof meta.asOfMs !== "number" || typeof meta.halfLifeMs !== "number" || !isStringArray(meta.labels) || meta.labels.join() !== LABELS.join()) {
    throw new BundleError(`${source} has malformed metadata`, [`expected asOfMs, halfLifeMs and labels ${LABELS.join(",")}`]);
  }
  const restore = (prefix: "item" | "author", size: number) => {
    try {
      return EngagementCounters.restore({
        size,
        halfLifeMs: meta.halfLifeMs as number,
        asOfMs: meta.asOfMs as number,
        impressions: requireArray(unpacked, `${prefix}Impressions`, "float64", source),
        positives: requireArray(unpacked, `${prefix}Positives`, "float64", source),
        decayedImpressions: requireArray(unpacked, `${prefix}DecayedImpressions`, "float64", source),
        decayedClicks: requireArray(unpacked, `${prefix}DecayedClicks`, "float64", source),
      });
    } catch (error) {
      if (error instanceof BundleError) throw error;
      throw new BundleError(`${source} is inconsistent`, [(error as Error).message]);
    }
  };
  return { items: restore("item", items), authors: restore("author", authors) };
}

// --- lists -------------------------------------------------------------------------------------------------

export function encodeNeighbours(neighbours: Neighbours): Uint8Array {
  return packArrays({ ...neighbours });
}

export function decodeNeighbours(bytes: Uint8Array, items: number): Neighbours {
  const source = ASSET_FILES.cooccurrence;
  const unpacked = unpackArrays(bytes, source);
  const neighbours: Neighbours = {
    offsets: requireArray(unpacked, "offsets", "int32", source),
    items: requireArray(unpacked, "items", "int32", source),
    scores: requireArray(unpacked, "scores", "float32", source),
  };
  expectLength(source, "offsets", neighbours.offsets.length, items + 1);
  if (neighbours.offsets[items] !== neighbours.items.length || neighbours.scores.length !== neighbours.items.length) {
    throw new BundleError(`${source} is inconsistent`, ["offsets, items and scores disagree"]);
  }
  for (const item of neighbours.items) if (item < 0 || item >= items) throw new BundleError(`${source} is inconsistent`, [`neighbour item row ${item} of ${items}`]);
  return neighbours;
}

export function encodeItemList(items: Int32Array, scores: Float32Array): Uint8Array {
  return packArrays({ items, scores });
}

export function decodeItemList(bytes: Uint8Array, source: string, catalogueSize: number): { items: Int32Array; scores: Float32Array } {
  const unpacked = unpackArrays(bytes, source);
  const items = requireArray(unpacked, "items", "int32", source);
  const scores = requireArray(unpacked, "scores", "float32", source);
  expectLength(source, "scores", scores.length, items.length);
  for (const item of items) if (item < 0 || item >= catalogueSize) throw new BundleError(`${source} is inconsistent`, [`item row ${item} of ${catalogueSize}`]);
  return { items, scores };
}

// --- helpers -----------------------------------------------------------------------------------------------

function expectLength(source: string, name: string, actual: number, expected: number): void {
  if (actual !== expected) throw new BundleError(`${source} is inconsistent`, [`${name} has ${actual} entries, expected ${expected}`]);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string");
}

function stringLists<K extends string>(unpacked: UnpackedArrays, source: string, keys: readonly K[]): Record<K, string[]> {
  const meta = unpacked.meta as Record<string, JsonValue> | null;
  const out = {} as Record<K, string[]>;
  for (const key of keys) {
    const value = meta?.[key];
    if (!isStringArray(value)) throw new BundleError(`${source} has malformed metadata`, [`${key} must be a list of strings`]);
    out[key] = value;
  }
  return out;
}
