import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccountVectors, accountNeighboursPort } from "../../../core/serving/account-neighbours";

// 2-d unit-ish vectors: account 3 has none (zero row)
const vectors = Float32Array.from([
  1, 0, // 0
  0.8, 0.6, // 1
  0, 1, // 2
  0, 0, // 3: no embedding
  -1, 0, // 4
  0.6, 0.8, // 5
]);
const space = new AccountVectors(vectors, 2);

describe("AccountVectors", () => {
  it("knows which accounts have a vector", () => {
    expect(space.accounts).toBe(6);
    expect(Array.from(space.embedded)).toEqual([0, 1, 2, 4, 5]);
    expect(space.hasVector(3)).toBe(false);
    expect(space.hasVector(5)).toBe(true);
  });

  it("lists each account's neighbours by descending dot product, excluding every input account and zero rows", () => {
    const [of0, of2] = space.neighboursOfEach([0, 2], 10);
    expect(of0?.map((n) => n.id)).toEqual([1, 5, 4]);
    expect(of0?.[0]?.score).toBeCloseTo(0.8, 6);
    expect(of0?.[1]?.score).toBeCloseTo(0.6, 6);
    expect(of0?.[2]?.score).toBeCloseTo(-1, 6);
    expect(of2?.map((n) => n.id)).toEqual([5, 1, 4]);
    expect(space.neighboursOfEach([0], 2)[0]?.map((n) => n.id)).toEqual([1, 5]);
  });

  it("gives an account without a vector no neighbours, and k = 0 nothing", () => {
    expect(space.neighboursOfEach([3, 0], 2)).toEqual([[], [{ id: 1, score: expect.closeTo(0.8, 6) }, { id: 5, score: expect.closeTo(0.6, 6) }]]);
    expect(space.neighboursOfEach([0], 0)).toEqual([[]]);
    expect(space.nearestToAny([3], 5)).toEqual([]);
  });

  it("breaks ties by the lower account row", () => {
    const tied = new AccountVectors(Float32Array.from([1, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]), 2);
    expect(tied.neighboursOfEach([0], 3)[0]?.map((n) => n.id)).toEqual([1, 2, 3]);
  });

  it("ranks accounts nearest to any seed by their best seed, seeds excluded", () => {
    const ranked = space.nearestToAny([0, 4, 3], 10);
    // 1 (0.8 to seed 0), 5 (0.6 to seed 0), 2 (0 to both)
    expect(ranked.map((n) => n.id)).toEqual([1, 5, 2]);
    expect(ranked[2]?.score).toBeCloseTo(0, 6);
  });

  it("agrees with an exhaustive scan on random spaces", () => {
    // dim 6: four-wide sums plus a remainder
    const dim = 6;
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: dim * 12, maxLength: dim * 12 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 12 }),
        (values, seeds, k) => {
          const random = new AccountVectors(Float32Array.from(values), dim);
          const dot = (a: number, b: number) => {
            let s = 0;
            for (let d = 0; d < dim; d++) s += Math.fround(values[a * dim + d] as number) * Math.fround(values[b * dim + d] as number);
            return s;
          };
          const expected = Array.from(random.embedded)
            .filter((a) => !seeds.includes(a))
            .map((a) => ({ id: a, score: Math.max(...seeds.filter((s) => random.hasVector(s)).map((s) => dot(s, a))) }))
            .sort((x, y) => y.score - x.score || x.id - y.id)
            .slice(0, k);
          const actual = random.nearestToAny(seeds, k);
          if (!seeds.some((s) => random.hasVector(s))) return actual.length === 0;
          expect(actual.map((n) => n.score)).toEqual(expected.map((n) => expect.closeTo(n.score, 5)));
          expect(actual.every((n) => !seeds.includes(n.id) && random.hasVector(n.id))).toBe(true);
          const [single] = random.neighboursOfEach([seeds[0] as number], k);
          const singleExpected = Array.from(random.embedded)
            .filter((a) => a !== seeds[0])
            .map((a) => dot(seeds[0] as number, a))
            .sort((x, y) => y - x)
            .slice(0, random.hasVector(seeds[0] as number) ? k : 0);
          expect(single?.map((n) => n.score)).toEqual(singleExpected.map((score) => expect.closeTo(score, 5)));
          return actual.length === expected.length;
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });

  it("rejects bad vectors, accounts and k", () => {
    expect(() => new AccountVectors(new Float32Array(5), 2)).toThrow(/5 values are not a whole number of 2-dim rows/);
    expect(() => new AccountVectors(Float32Array.from([1, Number.POSITIVE_INFINITY]), 2)).toThrow(/non-finite value Infinity in account 0, dim 1/);
    expect(() => new AccountVectors(new Float32Array(4), 0)).toThrow(/dim must be a positive integer/);
    expect(() => space.neighboursOfEach([0, 6], 3)).toThrow(/account 6 at position 1 is not a row in \[0, 6\)/);
    expect(() => space.nearestToAny([-1], 3)).toThrow(/account -1 at position 0/);
    expect(() => space.nearestToAny([1.5], 3)).toThrow(/account 1.5/);
    expect(() => space.neighboursOfEach([0], -1)).toThrow(/k must be a non-negative integer/);
    expect(() => space.hasVector(99)).toThrow(/account 99/);
  });
});

describe("accountNeighboursPort", () => {
  it("answers from the named space and names the known ones otherwise", async () => {
    const port = accountNeighboursPort(new Map([["default", space]]));
    expect((await port([0, 2], 1, "default")).map((list) => list.map((n) => n.id))).toEqual([[1], [5]]);
    expect(() => port([0], 1, "tags")).toThrow(/no account embeddings named "tags" \(known: default\)/);
  });
});
