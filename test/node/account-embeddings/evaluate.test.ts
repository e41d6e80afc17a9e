import { describe, expect, it } from "vitest";
import { AccountVectors } from "../../../core/serving/account-neighbours";
import { Rng } from "../../../models/autodiff";
import {
  NeighbourCache,
  beyondHead,
  embeddingRanker,
  maskVectors,
  newAuthorCases,
  operatorRecall,
  recallAtN,
  tagAgreement,
  targetsWithin,
  topAuthorsExcept,
  type NewAuthorCase,
} from "../../../models/account-embeddings/evaluate";
import { catalogue, eventTable } from "./fixtures";

describe("newAuthorCases", () => {
  // item i is by author i
  const items = catalogue([0, 1, 2, 3, 4], 5);
  const train = eventTable([
    { user: 0, item: 0, ts: 1, labels: ["click"] },
    { user: 0, item: 1, ts: 2, labels: ["like"] },
    { user: 0, item: 0, ts: 3, labels: ["click"] }, // author 0 becomes the most recent again
    { user: 0, item: 4, ts: 4 }, // an impression is not a seed
    { user: 1, item: 2, ts: 5, labels: ["click"] },
    { user: 2, item: 3, ts: 6, labels: ["click"] },
  ]);
  const test = eventTable([
    { user: 0, item: 1, ts: 10, labels: ["click"] }, // known author: not a target
    { user: 0, item: 3, ts: 11, labels: ["long_view"] },
    { user: 0, item: 4, ts: 12, labels: ["click"] },
    { user: 1, item: 2, ts: 13, labels: ["click"] }, // only a known author: no case
    { user: 3, item: 0, ts: 14, labels: ["click"] }, // no training authors: no case
    { user: 2, item: 4, ts: 15 }, // impression only: no case
  ]);

  it("takes recent training authors as seeds and new test authors as targets", () => {
    const cases = newAuthorCases(train, test, items, 30);
    expect(cases).toHaveLength(1);
    const c = cases[0] as NewAuthorCase;
    expect(c.user).toBe(0);
    expect(Array.from(c.seeds)).toEqual([0, 1]);
    expect([...c.known].sort()).toEqual([0, 1]);
    expect([...c.targets].sort()).toEqual([3, 4]);
    expect(Array.from((newAuthorCases(train, test, items, 1)[0] as NewAuthorCase).seeds)).toEqual([0]);
    expect(() => newAuthorCases(train, test, items, 0)).toThrow(/maxSeeds must be a positive integer/);
  });
});

const cases: NewAuthorCase[] = [
  { user: 0, seeds: Int32Array.from([0]), known: new Set([0]), targets: new Set([2, 3]) },
  { user: 1, seeds: Int32Array.from([1]), known: new Set([1, 4]), targets: new Set([5]) },
];

describe("recallAtN", () => {
  it("averages per-user recall and hit rate at each N", () => {
    const report = recallAtN(cases, (seeds) => (seeds[0] === 0 ? [3, 1, 2] : [0, 2, 3]), [1, 3]);
    // user 0: top-1 {3} → 1/2, top-3 {3,1,2} → 2/2; user 1: nothing
    expect(report.recall[1]).toBeCloseTo(0.25, 10);
    expect(report.recall[3]).toBeCloseTo(0.5, 10);
    expect(report.hitRate[1]).toBeCloseTo(0.5, 10);
    expect(report.users).toBe(2);
  });

  it("refuses rankers that recommend known authors or too many, and empty case lists", () => {
    expect(() => recallAtN(cases, () => [0], [1])).toThrow(/recommended author 0, whom user 0 already engaged with/);
    expect(() => recallAtN(cases, () => [2, 3, 5], [2])).toThrow(/returned 3 authors for N=2/);
    expect(() => recallAtN([], () => [], [1])).toThrow(/no cases/);
  });
});

describe("views", () => {
  it("beyondHead makes head authors off-limits and drops cases without targets", () => {
    const tail = beyondHead(cases, new Set([5, 2]));
    expect(tail).toHaveLength(1);
    expect([...(tail[0] as NewAuthorCase).targets]).toEqual([3]);
    expect((tail[0] as NewAuthorCase).known.has(5)).toBe(true);
  });

  it("targetsWithin keeps targets inside the universe", () => {
    const within = targetsWithin(cases, new Set([2, 5]));
    expect(within.map((c) => [...c.targets])).toEqual([[2], [5]]);
  });

  it("maskVectors zeroes rows outside the kept set", () => {
    expect(Array.from(maskVectors(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, new Set([1])))).toEqual([0, 0, 3, 4, 0, 0]);
  });

  it("topAuthorsExcept skips known authors", () => {
    expect(Array.from(topAuthorsExcept([5, 4, 3, 2], new Set([4, 2]), 5))).toEqual([5, 3]);
  });
});

describe("embedding rankers over the neighbour cache", () => {
  const rng = new Rng(3);
  const dim = 4;
  const vectors = Float32Array.from({ length: 40 * dim }, () => rng.normal());
  const space = new AccountVectors(vectors, dim);

  it("rank exactly as AccountVectors.nearestToAny with known authors filtered", () => {
    const cache = new NeighbourCache(space, 30);
    const rank = embeddingRanker(cache);
    for (let trial = 0; trial < 20; trial++) {
      const seeds = Int32Array.from(new Set(Array.from({ length: 1 + rng.int(4) }, () => rng.int(40))));
      const known = new Set([...seeds, rng.int(40), rng.int(40)]);
      const expected = space.nearestToAny(Array.from(seeds), 40).map((n) => n.id).filter((id) => !known.has(id)).slice(0, 10);
      expect(Array.from(rank(seeds, known, 10))).toEqual(expected);
    }
    expect(() => rank(Int32Array.from([0]), new Set(Array.from({ length: 25 }, (_, i) => i)), 10)).toThrow(/fewer than N \+ known/);
  });

  it("build the operator's union as AccountVectors.neighboursOfEach does", () => {
    const cache = new NeighbourCache(space, 30);
    const seeds = Int32Array.from([1, 7, 9]);
    const c: NewAuthorCase = { user: 0, seeds, known: new Set(seeds), targets: new Set([2]) };
    const union = new Set(space.neighboursOfEach(Array.from(seeds), 5).flat().map((n) => n.id));
    const report = operatorRecall([c], cache, 5, [2]);
    expect(report.meanCandidates).toBe(union.size);
    expect(report.recall).toBe(union.has(2) ? 1 : 0);
    // popularity with as many candidates puts author 2 first
    expect(report.popularityRecallSameSize).toBe(1);
  });

  it("tag agreement counts neighbour pairs with a shared tag", () => {
    const tagged = new AccountVectors(Float32Array.from([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]), 2);
    const tags = [Int32Array.from([0]), Int32Array.from([0, 1]), Int32Array.from([2]), Int32Array.from([2])];
    const report = tagAgreement(new NeighbourCache(tagged, 3), [0, 1, 2, 3], 1, tags, 1);
    expect(report.pairs).toBe(4);
    expect(report.neighbourPairs).toBe(1);
    expect(report.randomPairs).toBeLessThan(1);
  });
});
