// Account embeddings from item embeddings: an author is where its items are. Reuses the retrieval two-tower's item
// vectors, so it covers every author with an item in the catalogue (engaged with or not) at no training cost.

import { normalizeRows } from "./skip-gram";

export interface ItemEmbeddings {
  /** [items × dim], row = item row of the catalogue. */
  readonly vectors: Float32Array;
  readonly dim: number;
}

export interface ItemMeanOptions {
  /**
   * Non-negative weight of each item (e.g. 1 + its engagements in the training window), default 1 (the plain mean).
   * An author whose items all weigh 0 gets no vector.
   */
  readonly itemWeights?: Float32Array | Float64Array;
}

/**
 * Author a's vector = normalise(Σ_{items i of a} w_i · e_i), over `itemAuthor` (the author row of each item row).
 * Normalising the sum equals normalising the weighted mean. Authors without items, or whose items sum to a zero
 * vector, get a zero row.
 */
export function aggregateItemEmbeddings(itemAuthor: Int32Array, authorCount: number, items: ItemEmbeddings, options: ItemMeanOptions = {}): Float32Array {
  const { vectors, dim } = items;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`aggregateItemEmbeddings: dim must be a positive integer, got ${dim}`);
  if (!(vectors instanceof Float32Array)) throw new Error("aggregateItemEmbeddings: item vectors must be a Float32Array");
  if (vectors.length !== itemAuthor.length * dim) {
    throw new Error(`aggregateItemEmbeddings: ${vectors.length} item values are not ${itemAuthor.length} items × ${dim} dims (${itemAuthor.length * dim})`);
  }
  if (!Number.isInteger(authorCount) || authorCount < 1) throw new Error(`aggregateItemEmbeddings: authorCount must be a positive integer, got ${authorCount}`);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i] as number;
    if (v - v !== 0) throw new Error(`aggregateItemEmbeddings: non-finite value ${v} in item ${Math.floor(i / dim)}, dim ${i % dim}`);
  }
  const weights = options.itemWeights;
  if (weights !== undefined) {
    if (weights.length !== itemAuthor.length) throw new Error(`aggregateItemEmbeddings: ${weights.length} item weights for ${itemAuthor.length} items`);
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] as number;
      if (!(w >= 0) || w === Infinity) throw new Error(`aggregateItemEmbeddings: weight ${w} of item ${i} must be finite and ≥ 0`);
    }
  }
  const out = new Float32Array(authorCount * dim);
  // accumulate in float64: popular authors sum many items
  const sums = new Float64Array(dim);
  const itemsByAuthor = groupItems(itemAuthor, authorCount);
  for (let author = 0; author < authorCount; author++) {
    sums.fill(0);
    for (let p = itemsByAuthor.offsets[author] as number; p < (itemsByAuthor.offsets[author + 1] as number); p++) {
      const item = itemsByAuthor.items[p] as number;
      const w = weights === undefined ? 1 : (weights[item] as number);
      if (w === 0) continue;
      for (let d = 0; d < dim; d++) sums[d] = (sums[d] as number) + w * (vectors[item * dim + d] as number);
    }
    for (let d = 0; d < dim; d++) out[author * dim + d] = sums[d] as number;
  }
  normalizeRows(out, dim);
  return out;
}

/** Item rows per author in CSR layout (items ascending within an author). */
function groupItems(itemAuthor: Int32Array, authorCount: number): { offsets: Int32Array; items: Int32Array } {
  const offsets = new Int32Array(authorCount + 1);
  for (let item = 0; item < itemAuthor.length; item++) {
    const author = itemAuthor[item] as number;
    if (!Number.isInteger(author) || author < 0 || author >= authorCount) {
      throw new Error(`aggregateItemEmbeddings: item ${item} has author row ${author}, outside [0, ${authorCount})`);
    }
    offsets[author + 1] = (offsets[author + 1] as number) + 1;
  }
  for (let a = 0; a < authorCount; a++) offsets[a + 1] = (offsets[a + 1] as number) + (offsets[a] as number);
  const next = offsets.slice(0, authorCount);
  const items = new Int32Array(itemAuthor.length);
  for (let item = 0; item < itemAuthor.length; item++) {
    const author = itemAuthor[item] as number;
    items[next[author] as number] = item;
    next[author] = (next[author] as number) + 1;
  }
  return { offsets, items };
}
