import { describe, expect, it } from "vitest";
import { aggregateItemEmbeddings } from "../../../models/account-embeddings/item-mean";

// items 0,1 by author 0; item 2 by author 2; author 1 has no items
const itemAuthor = Int32Array.from([0, 0, 2]);
const vectors = Float32Array.from([1, 0, 0, 1, 3, 4]);
const items = { vectors, dim: 2 };

describe("aggregateItemEmbeddings", () => {
  it("is the normalised mean of each author's item vectors, zero for an author without items", () => {
    const out = aggregateItemEmbeddings(itemAuthor, 3, items);
    expect(out.length).toBe(6);
    expect(out[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(out[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(Array.from(out.subarray(2, 4))).toEqual([0, 0]);
    expect(out[4]).toBeCloseTo(0.6, 6);
    expect(out[5]).toBeCloseTo(0.8, 6);
  });

  it("weights items", () => {
    const out = aggregateItemEmbeddings(itemAuthor, 3, items, { itemWeights: Float64Array.from([3, 1, 1]) });
    // (3·[1,0] + 1·[0,1]) / ‖·‖ = [3, 1] / √10
    expect(out[0]).toBeCloseTo(3 / Math.sqrt(10), 6);
    expect(out[1]).toBeCloseTo(1 / Math.sqrt(10), 6);
    const zeroed = aggregateItemEmbeddings(itemAuthor, 3, items, { itemWeights: Float64Array.from([1, 1, 0]) });
    expect(Array.from(zeroed.subarray(4, 6))).toEqual([0, 0]);
  });

  it("rejects mismatched sizes, non-finite values, bad weights and unknown authors", () => {
    expect(() => aggregateItemEmbeddings(itemAuthor, 3, { vectors: new Float32Array(5), dim: 2 })).toThrow(/5 item values are not 3 items × 2 dims/);
    expect(() => aggregateItemEmbeddings(itemAuthor, 3, { vectors: Float32Array.from([1, 0, Number.NaN, 1, 3, 4]), dim: 2 })).toThrow(/non-finite value NaN in item 1, dim 0/);
    expect(() => aggregateItemEmbeddings(itemAuthor, 3, items, { itemWeights: Float64Array.from([1, 1]) })).toThrow(/2 item weights for 3 items/);
    expect(() => aggregateItemEmbeddings(itemAuthor, 3, items, { itemWeights: Float64Array.from([1, -1, 1]) })).toThrow(/weight -1 of item 1/);
    expect(() => aggregateItemEmbeddings(itemAuthor, 2, items)).toThrow(/item 2 has author row 2, outside \[0, 2\)/);
    expect(() => aggregateItemEmbeddings(itemAuthor, 3, { vectors, dim: 0 })).toThrow(/dim must be a positive integer/);
  });
});
