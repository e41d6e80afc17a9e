import type { AnnMetric } from "./abi";
import type { AnnSearchResult } from "./ann-index";
import { assertPositiveInteger, assertQueryVector, assertVectorRows } from "./validate";

/**
 * Exact top-k by scanning every row: the reference for recall, and a fine choice for a few thousand items.
 * Distances follow USearch: cos = 1 - cosine similarity, ip = 1 - dot product, l2sq = squared Euclidean.
 * Keys are row numbers.
 */
export class BruteForceIndex {
  readonly #vectors: Float32Array;
  readonly #dimensions: number;
  readonly #metric: AnnMetric;
  /** 1/|row| for cosine (0 for a zero row), so a query costs one dot product per row. */
  readonly #inverseNorms: Float32Array | undefined;

  constructor(vectors: Float32Array, dimensions: number, metric: AnnMetric = "cos") {
    assertPositiveInteger(dimensions, "dimensions", 65_536);
    if (vectors.length % dimensions !== 0) {
      throw new Error(`Vectors hold ${vectors.length} numbers, not a multiple of ${dimensions} dimensions`);
    }
    assertVectorRows(vectors, dimensions, vectors.length / dimensions);
    this.#vectors = vectors;
    this.#dimensions = dimensions;
    this.#metric = metric;
    if (metric === "cos") {
      const rows = vectors.length / dimensions;
      const inverseNorms = new Float32Array(rows);
      for (let row = 0; row < rows; row++) {
        let squares = 0;
        for (let i = row * dimensions, end = i + dimensions; i < end; i++) squares += (vectors[i] as number) ** 2;
        inverseNorms[row] = squares > 0 ? 1 / Math.sqrt(squares) : 0;
      }
      this.#inverseNorms = inverseNorms;
    }
  }

  get size(): number {
    return this.#vectors.length / this.#dimensions;
  }

  search(query: Float32Array, k: number): AnnSearchResult {
    assertQueryVector(query, this.#dimensions);
    assertPositiveInteger(k, "k", 65_536);
    const vectors = this.#vectors;
    const dimensions = this.#dimensions;
    const rows = this.size;
    const wanted = Math.min(k, rows);
    let queryScale = 1;
    if (this.#metric === "cos") {
      let squares = 0;
      for (let i = 0; i < dimensions; i++) squares += (query[i] as number) ** 2;
      queryScale = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    }
    // A max-heap of the best `wanted` so far, worst on top.
    const heapKeys = new Uint32Array(wanted);
    const heapDistances = new Float32Array(wanted);
    let heapSize = 0;
    for (let row = 0; row < rows; row++) {
      const offset = row * dimensions;
      let distance: number;
      if (this.#metric === "l2sq") {
        distance = 0;
        for (let i = 0; i < dimensions; i++) {
          const delta = (vectors[offset + i] as number) - (query[i] as number);
          distance += delta * delta;
        }
      } else {
        let dot = 0;
        for (let i = 0; i < dimensions; i++) dot += (vectors[offset + i] as number) * (query[i] as number);
        if (this.#metric === "cos") {
          const scale = (this.#inverseNorms?.[row] ?? 0) * queryScale;
          distance = scale === 0 ? 1 : 1 - dot * scale;
        } else {
          distance = 1 - dot;
        }
      }
      if (heapSize < wanted) {
        siftUp(heapKeys, heapDistances, heapSize, row, distance);
        heapSize++;
      } else if (distance < (heapDistances[0] as number)) {
        siftDown(heapKeys, heapDistances, heapSize, row, distance);
      }
    }
    // Pop the heap from the back: worst first into the last slot.
    const keys = new Uint32Array(heapSize);
    const distances = new Float32Array(heapSize);
    for (let end = heapSize - 1; end >= 0; end--) {
      keys[end] = heapKeys[0] as number;
      distances[end] = heapDistances[0] as number;
      siftDown(heapKeys, heapDistances, end, heapKeys[end] as number, heapDistances[end] as number);
    }
    return { keys, distances };
  }
}

function siftUp(keys: Uint32Array, distances: Float32Array, at: number, key: number, distance: number): void {
  let child = at;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if ((distances[parent] as number) >= distance) break;
    keys[child] = keys[parent] as number;
    distances[child] = distances[parent] as number;
    child = parent;
  }
  keys[child] = key;
  distances[child] = distance;
}

/** Replaces the top of a heap of `size` entries with (key, distance) and restores the heap order. */
function siftDown(keys: Uint32Array, distances: Float32Array, size: number, key: number, distance: number): void {
  let parent = 0;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= size) break;
    if (child + 1 < size && (distances[child + 1] as number) > (distances[child] as number)) child++;
    if ((distances[child] as number) <= distance) break;
    keys[parent] = keys[child] as number;
    distances[parent] = distances[child] as number;
    parent = child;
  }
  if (size > 0) {
    keys[parent] = key;
    distances[parent] = distance;
  }
}
