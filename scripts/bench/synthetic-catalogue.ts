// Synthetic catalogues of any size that resemble the bundle's: item vectors drawn from a Gaussian fitted to the
// trained towers' item embeddings (mean + leading principal components + isotropic noise for the remaining variance,
// then L2-normalised, as the towers' outputs are), and items that borrow the features of a random real item (its
// tags, age, duration, type, counters and embedding rows) under synthetic authors with a skewed size distribution.
import { EngagementCounters } from "../../core/features/counters";
import type { FeatureContext } from "../../core/features/context";
import { LABELS } from "../../core/data/labels";
import type { BundleTables } from "../../core/serving/bundle-tables";
import { gaussian, seededRandom } from "../ann/synthetic";

export interface VectorModel {
  readonly dims: number;
  readonly mean: Float64Array;
  /** [rank × dims]: principal directions scaled by the square root of their variance. */
  readonly components: Float64Array;
  readonly rank: number;
  /** Standard deviation per dimension of the isotropic noise standing in for the discarded components. */
  readonly noise: number;
  readonly explained: number;
}

/** Symmetric eigen-decomposition (cyclic Jacobi) of a dims×dims matrix; eigenvalues descending with their vectors. */
function eigenSymmetric(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p * n + q] as number) ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (Math.abs(apq) < 1e-30) continue;
        const theta = ((a[q * n + q] as number) - (a[p * n + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (a[j * n + j] as number) - (a[i * n + i] as number));
  const values = Float64Array.from(order, (i) => Math.max(0, a[i * n + i] as number));
  const vectors = new Float64Array(n * n);
  order.forEach((column, r) => {
    for (let k = 0; k < n; k++) vectors[r * n + k] = v[k * n + column] as number;
  });
  return { values, vectors };
}

/**
 * Fits the Gaussian to `rows` vectors of `dims` (the retrieval and first-stage embeddings side by side, so their
 * correlation is kept): the smallest rank explaining `explain` of the variance, capped at `maxRank`.
 */
export function fitVectorModel(vectors: Float32Array, dims: number, options: { explain?: number; maxRank?: number } = {}): VectorModel {
  const rows = vectors.length / dims;
  if (!Number.isInteger(rows) || rows < 2) throw new Error(`fitVectorModel: need at least 2 rows of ${dims}, got ${vectors.length} numbers`);
  const mean = new Float64Array(dims);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dims; d++) mean[d] = (mean[d] as number) + (vectors[r * dims + d] as number) / rows;
  const covariance = new Float64Array(dims * dims);
  const centred = new Float64Array(dims);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dims; d++) centred[d] = (vectors[r * dims + d] as number) - (mean[d] as number);
    for (let i = 0; i < dims; i++) {
      const ci = centred[i] as number;
      for (let j = i; j < dims; j++) covariance[i * dims + j] = (covariance[i * dims + j] as number) + ci * (centred[j] as number);
    }
  }
  for (let i = 0; i < dims; i++) for (let j = i; j < dims; j++) covariance[j * dims + i] = covariance[i * dims + j] = (covariance[i * dims + j] as number) / (rows - 1);
  const { values, vectors: directions } = eigenSymmetric(covariance, dims);
  const total = values.reduce((sum, value) => sum + value, 0);
  const explain = options.explain ?? 0.9;
  const maxRank = options.maxRank ?? 48;
  let rank = 0;
  let kept = 0;
  while (rank < Math.min(maxRank, dims) && kept < explain * total) kept += values[rank++] as number;
  const components = new Float64Array(rank * dims);
  for (let r = 0; r < rank; r++) {
    const scale = Math.sqrt(values[r] as number);
    for (let d = 0; d < dims; d++) components[r * dims + d] = (directions[r * dims + d] as number) * scale;
  }
  const noise = Math.sqrt(Math.max(0, total - kept) / dims);
  return { dims, mean, components, rank, noise, explained: kept / total };
}

/**
 * `rows` vectors from the model, split into `parts` (e.g. [64, 64]) that are each L2-normalised: returns one
 * row-major table per part.
 */
export function sampleVectors(model: VectorModel, rows: number, parts: readonly number[], seed: number): Float32Array[] {
  if (parts.reduce((a, b) => a + b, 0) !== model.dims) throw new Error(`sampleVectors: parts ${parts.join("+")} do not add up to ${model.dims}`);
  const normal = gaussian(seededRandom(seed));
  const tables = parts.map((width) => new Float32Array(rows * width));
  const z = new Float64Array(model.rank);
  const x = new Float64Array(model.dims);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < model.rank; k++) z[k] = normal();
    for (let d = 0; d < model.dims; d++) x[d] = (model.mean[d] as number) + model.noise * normal();
    for (let k = 0; k < model.rank; k++) {
      const zk = z[k] as number;
      const base = k * model.dims;
      for (let d = 0; d < model.dims; d++) x[d] = (x[d] as number) + zk * (model.components[base + d] as number);
    }
    let offset = 0;
    parts.forEach((width, p) => {
      let norm = 0;
      for (let d = 0; d < width; d++) norm += (x[offset + d] as number) ** 2;
      const inverse = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      const table = tables[p] as Float32Array;
      for (let d = 0; d < width; d++) table[r * width + d] = (x[offset + d] as number) * inverse;
      offset += width;
    });
  }
  return tables;
}

/** The per-item tables feature code reads, for a synthetic catalogue. */
export interface SyntheticCatalogue {
  readonly items: number;
  readonly authors: number;
  readonly context: FeatureContext;
  /** Bytes of the per-item and per-author typed arrays above (what an isolate holds per catalogue size). */
  readonly tableBytes: number;
}

/**
 * A catalogue of `items` rows for the bundle's feature spec: each item copies a random real item's features and
 * counters; authors keep the bundle's items-per-author ratio, with item counts skewed (a few prolific authors).
 */
export function syntheticCatalogue(tables: BundleTables, items: number, seed: number): SyntheticCatalogue {
  const random = seededRandom(seed);
  const real = tables.items;
  const realItems = real.ids.size;
  const realAuthors = real.authors.size;
  const authors = Math.max(1, Math.round((items * realAuthors) / realItems));
  const anchor = Int32Array.from({ length: items }, () => Math.floor(random() * realItems));
  const author = Int32Array.from({ length: items }, () => Math.min(authors - 1, Math.floor(authors * random() ** 2)));
  const tagOffsets = new Int32Array(items + 1);
  for (let i = 0; i < items; i++) {
    const a = anchor[i] as number;
    tagOffsets[i + 1] = (tagOffsets[i] as number) + ((real.tagOffsets[a + 1] as number) - (real.tagOffsets[a] as number));
  }
  const tagIds = new Int32Array(tagOffsets[items] as number);
  for (let i = 0; i < items; i++) {
    const a = anchor[i] as number;
    tagIds.set(real.tagIds.subarray(real.tagOffsets[a] as number, real.tagOffsets[a + 1] as number), tagOffsets[i] as number);
  }
  const copy = <T extends Float64Array | Int32Array | Uint8Array | Int8Array | Float32Array>(source: T, make: (n: number) => T): T => {
    const out = make(items);
    for (let i = 0; i < items; i++) out[i] = source[anchor[i] as number] as number;
    return out;
  };
  const createdAt = copy(real.createdAt, (n) => new Float64Array(n));
  const durationMs = copy(real.durationMs, (n) => new Float64Array(n));
  const type = copy(real.type, (n) => new Int32Array(n));
  const itemEmbeddingRow = copy(tables.itemEmbeddingRow, (n) => new Int32Array(n));
  const authorAnchor = Int32Array.from({ length: authors }, () => Math.floor(random() * realAuthors));
  const authorEmbeddingRow = Int32Array.from(authorAnchor, (a) => tables.authorEmbeddingRow[a] as number);
  const labels = LABELS.length;
  const counters = (source: EngagementCounters, size: number, pick: (i: number) => number) => {
    const impressions = new Float64Array(size);
    const positives = new Float64Array(size * labels);
    const decayedImpressions = new Float64Array(size);
    const decayedClicks = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const from = pick(i);
      impressions[i] = source.impressions[from] as number;
      decayedImpressions[i] = source.decayedImpressions[from] as number;
      decayedClicks[i] = source.decayedClicks[from] as number;
      positives.set(source.positives.subarray(from * labels, (from + 1) * labels), i * labels);
    }
    return EngagementCounters.restore({ size, halfLifeMs: source.halfLifeMs, asOfMs: source.asOfMs, impressions, positives, decayedImpressions, decayedClicks });
  };
  const itemCounters = counters(tables.itemCounters, items, (i) => anchor[i] as number);
  const authorCounters = counters(tables.authorCounters, authors, (a) => authorAnchor[a] as number);
  const catalogue: FeatureContext["catalogue"] = { author, tagOffsets, tagIds, createdAt, durationMs, type };
  const counterBytes = (c: EngagementCounters) => c.impressions.byteLength + c.positives.byteLength + c.decayedImpressions.byteLength + c.decayedClicks.byteLength;
  const tableBytes =
    author.byteLength + tagOffsets.byteLength + tagIds.byteLength + createdAt.byteLength + durationMs.byteLength + type.byteLength + itemEmbeddingRow.byteLength + authorEmbeddingRow.byteLength + counterBytes(itemCounters) + counterBytes(authorCounters);
  return {
    items,
    authors,
    context: { spec: tables.spec, catalogue, itemEmbeddingRow, authorEmbeddingRow, itemCounters, authorCounters },
    tableBytes,
  };
}
