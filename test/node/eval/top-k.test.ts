import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { topK } from "../../../core/util/top-k";
import { gather, rowDots, toArray } from "../../../core/util/typed-arrays";

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

describe("rowDots", () => {
  it("takes the dot product of the query with each listed row of a row-major table, in the listed order", () => {
    const table = Float32Array.from([1, 0, 0, 2, 3, -1]); // rows [1,0], [0,2], [3,-1]
    expect(Array.from(rowDots(table, 2, [2, 5], [2, 0, 1, 2]))).toEqual([1, 2, 10, 1]);
    expect(Array.from(rowDots(table, 2, [2, 5], []))).toEqual([]);
  });

  it("matches a plain reduce over random tables, up to float64 rounding (the sums are taken in four lanes)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 14 }), fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 160, maxLength: 160 }), (dim, rowCount, values) => {
        const table = Float32Array.from(values.slice(0, dim * rowCount));
        const query = Array.from({ length: dim }, (_, d) => values[159 - d] as number);
        const rows = Array.from({ length: rowCount }, (_, r) => (r * 7) % rowCount);
        const terms = (row: number) => query.map((q, d) => q * (table[row * dim + d] as number));
        const actual = rowDots(table, dim, query, rows);
        rows.forEach((row, i) => {
          const expected = terms(row).reduce((sum, term) => sum + term, 0);
          const magnitude = terms(row).reduce((sum, term) => sum + Math.abs(term), 0);
          expect(Math.abs((actual[i] as number) - expected)).toBeLessThanOrEqual(1e-12 * magnitude);
        });
      }),
    );
  });
});

describe("gather and toArray", () => {
  it("pick values by row into a plain array, and copy a typed array's prefix", () => {
    expect(gather(["a", "b", "c"], Int32Array.from([2, 0, 2]))).toEqual(["c", "a", "c"]);
    expect(gather(Float64Array.from([0.5, 1.5]), [])).toEqual([]);
    expect(toArray(Int32Array.from([4, 5, 6]))).toEqual([4, 5, 6]);
    expect(toArray(Float32Array.from([0.25, 0.5, 1]), 2)).toEqual([0.25, 0.5]);
    expect(Array.isArray(toArray(Int32Array.from([1])))).toBe(true);
  });
});
