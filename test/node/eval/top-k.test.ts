import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { topK } from "../../../core/util/top-k";

describe("topK", () => {
  it("returns the best rows first and breaks ties by the lower row", () => {
    expect(Array.from(topK([0.1, 0.9, 0.5, 0.9, 0.2], 3))).toEqual([1, 3, 2]);
  });

  it("never selects -Infinity or NaN and copes with k beyond the size", () => {
    expect(Array.from(topK([1, -Infinity, Number.NaN, 2], 10))).toEqual([3, 0]);
    expect(Array.from(topK([1, 2], 0))).toEqual([]);
  });

  it("ranks only the given candidate rows", () => {
    expect(Array.from(topK([5, 4, 3, 2, 1], 2, [4, 2, 3]))).toEqual([2, 3]);
  });

  it("equals a full stable sort on random input", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 60 }), fc.integer({ min: 0, max: 70 }), (scores, k) => {
        const expected = scores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k).map(({ i }) => i);
        expect(Array.from(topK(scores, k))).toEqual(expected);
      }),
    );
  });
});
