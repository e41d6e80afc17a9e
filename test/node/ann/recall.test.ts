// Recall of the wasm index at the default expansion on 100k low-rank 64-d vectors, the shape of our
// item-tower embeddings. The index is built with the native addon (2 threads), as the bundle builder does.
import { describe, expect, it } from "vitest";
import { AnnIndex, BruteForceIndex, DEFAULT_SEARCH_EXPANSION } from "../../../core/ann";
import { buildAnnIndexNative } from "../../../scripts/ann/native";
import { lowRankVectors, recallOf } from "../../../scripts/ann/synthetic";
import { createNodeUsearchRuntime } from "../../../scripts/ann/usearch-wasm";

const ROWS = 100_000;
const DIMS = 64;
const QUERIES = 200;

describe("ANN recall on 100k low-rank vectors", () => {
  it(`reaches recall >= 0.95 at expansion ${DEFAULT_SEARCH_EXPANSION} for top-100 and top-10`, () => {
    const vectors = lowRankVectors({ rows: ROWS, dims: DIMS, seed: 101 });
    const queries = lowRankVectors({ rows: QUERIES, dims: DIMS, seed: 102 });
    const index = AnnIndex.load(createNodeUsearchRuntime(), buildAnnIndexNative(vectors, DIMS), { dimensions: DIMS });
    expect(index.expansionSearch).toBe(DEFAULT_SEARCH_EXPANSION);
    const brute = new BruteForceIndex(vectors, DIMS, "cos");

    let recallAt100 = 0;
    let recallAt10 = 0;
    for (let q = 0; q < QUERIES; q++) {
      const query = queries.subarray(q * DIMS, (q + 1) * DIMS);
      const truth = brute.search(query, 100).keys;
      const top100 = index.search(query, 100);
      expect(top100.keys.length).toBe(100);
      for (let i = 1; i < 100; i++) expect(top100.distances[i]).toBeGreaterThanOrEqual(top100.distances[i - 1] as number);
      recallAt100 += recallOf(top100.keys, truth);
      recallAt10 += recallOf(index.search(query, 10).keys, truth.subarray(0, 10));
    }
    recallAt100 /= QUERIES;
    recallAt10 /= QUERIES;
    console.info(`[ann] recall@100 = ${recallAt100.toFixed(3)}, recall@10 = ${recallAt10.toFixed(3)} at expansion ${DEFAULT_SEARCH_EXPANSION}`);
    expect(recallAt100).toBeGreaterThanOrEqual(0.95);
    expect(recallAt10).toBeGreaterThanOrEqual(0.95);
    index.dispose();
  }, 180_000);
});
