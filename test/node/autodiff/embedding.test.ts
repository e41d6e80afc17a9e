// Embedding lookups: gradients (incl. repeated ids and empty bags) and the sparse touched-row bookkeeping.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Parameter, Rng, backward, concat, embedding, embeddingBag, matmul, sum } from "../../../models/autodiff";
import { gradCheck, param, randomArray } from "./helpers";

/** Random CSR bags over `rows` ids, some of them empty, ids repeating freely. */
function randomBags(rng: Rng, bags: number, rows: number, maxLen: number): { ids: Int32Array; offsets: Int32Array } {
  const offsets = new Int32Array(bags + 1);
  const ids: number[] = [];
  for (let b = 0; b < bags; b++) {
    const len = rng.int(maxLen + 1);
    for (let p = 0; p < len; p++) ids.push(rng.int(rows));
    offsets[b + 1] = ids.length;
  }
  return { ids: Int32Array.from(ids), offsets };
}

describe("embedding", () => {
  it("gathers rows and its gradient matches finite differences (ids repeat)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 1e9 }), (rows, dim, n, s) => {
        const rng = new Rng(s);
        const table = param("table", rng, [rows, dim], 1, rng.uniform() < 0.5);
        const ids = Int32Array.from({ length: n }, () => rng.int(rows));
        const out = embedding(table, ids);
        expect(out.shape).toEqual([n, dim]);
        for (let p = 0; p < n; p++) {
          expect(Array.from(out.data.subarray(p * dim, p * dim + dim))).toEqual(
            Array.from(table.data.subarray((ids[p] as number) * dim, (ids[p] as number) * dim + dim)),
          );
        }
        if (n > 0) gradCheck(() => embedding(table, ids), [table]);
      }),
      { numRuns: 30 },
    );
  });

  it("repeated ids accumulate: the same row looked up 3 times gets 3× the gradient", () => {
    const table = new Parameter("t", Float32Array.from([1, 2, 3, 4]), [2, 2], { sparse: true });
    backward(sum(embedding(table, Int32Array.from([1, 1, 1]))));
    expect(Array.from(table.grad as Float32Array)).toEqual([0, 0, 3, 3]);
    expect(Array.from(table.touchedRows() as Int32Array)).toEqual([1]);
  });
});

describe("embeddingBag", () => {
  it("sum and mean pooling, with and without weights, match finite differences (empty bags included)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<"sum" | "mean">("sum", "mean"),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e9 }),
        (rows, dim, bags, mode, weighted, s) => {
          const rng = new Rng(s);
          const table = param("table", rng, [rows, dim], 1, true);
          const { ids, offsets } = randomBags(rng, bags, rows, 4);
          const weights = weighted ? randomArray(rng, ids.length, 2) : undefined;
          const options = weights === undefined ? { mode } : { mode, weights };
          gradCheck(() => embeddingBag(table, ids, offsets, options), [table]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("computes the documented values: weighted sum, mean divides by bag size, empty bag is zero", () => {
    const table = new Parameter("t", Float32Array.from([1, 10, 2, 20, 3, 30]), [3, 2]);
    const ids = Int32Array.from([0, 2, 2, 1]);
    const offsets = Int32Array.from([0, 2, 2, 4]); // bags: {0,2}, {}, {2,1}
    const weights = Float32Array.from([1, 0.5, 2, 1]);
    expect(Array.from(embeddingBag(table, ids, offsets).data)).toEqual([4, 40, 0, 0, 5, 50]);
    expect(Array.from(embeddingBag(table, ids, offsets, { mode: "mean" }).data)).toEqual([2, 20, 0, 0, 2.5, 25]);
    expect(Array.from(embeddingBag(table, ids, offsets, { weights }).data)).toEqual([2.5, 25, 0, 0, 8, 80]);
    expect(Array.from(embeddingBag(table, ids, offsets, { mode: "mean", weights }).data)).toEqual([1.25, 12.5, 0, 0, 4, 40]);
  });

  it("all bags empty: zero output, zero gradient, no touched rows", () => {
    const table = new Parameter("t", Float32Array.from([1, 2, 3, 4]), [2, 2], { sparse: true });
    const bag = embeddingBag(table, new Int32Array(0), Int32Array.from([0, 0, 0]), { mode: "mean" });
    expect(Array.from(bag.data)).toEqual([0, 0, 0, 0]);
    backward(sum(bag));
    expect(Array.from(table.touchedRows() as Int32Array)).toEqual([]);
    expect(Array.from(table.grad ?? new Float32Array(4))).toEqual([0, 0, 0, 0]);
  });
});

describe("sparse gradient bookkeeping", () => {
  it("records exactly the touched rows and zeroGrad clears only them", () => {
    const rng = new Rng(5);
    const table = param("t", rng, [10, 3], 1, true);
    const ids = Int32Array.from([7, 2, 7, 9]);
    backward(sum(embedding(table, ids)));
    expect([...(table.touchedRows() as Int32Array)].sort((a, b) => a - b)).toEqual([2, 7, 9]);
    const grad = table.grad as Float32Array;
    for (let r = 0; r < 10; r++) {
      const expected = r === 7 ? 2 : r === 2 || r === 9 ? 1 : 0;
      expect(Array.from(grad.subarray(r * 3, r * 3 + 3))).toEqual([expected, expected, expected]);
    }
    table.zeroGrad();
    expect(grad.every((v) => v === 0)).toBe(true);
    expect((table.touchedRows() as Int32Array).length).toBe(0);
    // Touch a different set next step: only those are reported.
    backward(sum(embedding(table, Int32Array.from([4]))));
    expect(Array.from(table.touchedRows() as Int32Array)).toEqual([4]);
  });

  it("a dense use of a sparse table marks every row touched (correct, just not cheaper)", () => {
    const rng = new Rng(6);
    const table = param("t", rng, [4, 3], 1, true);
    const x = param("x", rng, [2, 4]);
    backward(sum(concat([matmul(x, table), embedding(table, Int32Array.from([1]))], 0)));
    expect(table.touchedRows()).toBe("all");
    table.zeroGrad();
    expect((table.touchedRows() as Int32Array).length).toBe(0);
    expect((table.grad as Float32Array).every((v) => v === 0)).toBe(true);
  });

  it("touched-row list grows past its initial capacity", () => {
    const table = param("t", new Rng(8), [500, 2], 1, true);
    const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 500);
    backward(sum(embedding(table, ids)));
    expect((table.touchedRows() as Int32Array).length).toBe(new Set(ids).size);
  });
});
