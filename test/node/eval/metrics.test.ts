import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auc, gauc, hitAtK, meanReplayNdcg, ndcgAtK, recallAtK, replayNdcgAtK } from "../../../core/eval/metrics";

describe("recall, hit rate and NDCG on a ranked list", () => {
  const ranked = [5, 3, 9, 1];
  const relevant = new Set([3, 1, 7]);

  it("recall counts relevant items within the cutoff", () => {
    expect(recallAtK(ranked, relevant, 1)).toBe(0);
    expect(recallAtK(ranked, relevant, 2)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, relevant, 4)).toBeCloseTo(2 / 3, 12);
    expect(recallAtK(ranked, relevant, 1000)).toBeCloseTo(2 / 3, 12);
  });

  it("hit rate is 1 from the first relevant position on", () => {
    expect(hitAtK(ranked, relevant, 1)).toBe(0);
    expect(hitAtK(ranked, relevant, 2)).toBe(1);
  });

  it("NDCG matches hand-computed values", () => {
    const twoRelevant = new Set([3, 1]);
    // DCG@3 = 1/log2(3); IDCG@3 = 1 + 1/log2(3)
    expect(ndcgAtK(ranked, twoRelevant, 3)).toBeCloseTo(0.6309298 / 1.6309298, 6);
    // DCG@4 = 1/log2(3) + 1/log2(5)
    expect(ndcgAtK(ranked, twoRelevant, 4)).toBeCloseTo((0.6309298 + 0.4306766) / 1.6309298, 6);
    // the ideal list for three relevant items but a cutoff of 2 only has two positions
    expect(ndcgAtK([3, 1], new Set([3, 1, 7]), 2)).toBeCloseTo(1, 12);
    expect(ndcgAtK([8, 9], twoRelevant, 2)).toBe(0);
  });

  it("refuses an empty relevant set rather than dividing by zero", () => {
    expect(() => recallAtK(ranked, new Set(), 10)).toThrow(/at least one relevant/);
    expect(() => ndcgAtK(ranked, new Set(), 10)).toThrow(/at least one relevant/);
  });
});

describe("AUC", () => {
  it("is the fraction of correctly ordered positive/negative pairs", () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(auc([3, 2, 1], [1, 1, 0])).toBe(1);
    expect(auc([1, 2, 3], [1, 1, 0])).toBe(0);
  });

  it("counts a tie between a positive and a negative as one half", () => {
    expect(auc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
    // pairs: (2 vs 1) 1, (2 vs 2) 0.5, (3 vs 1) 1, (3 vs 2) 1  -> 3.5 / 4
    expect(auc([1, 2, 2, 3], [0, 1, 0, 1])).toBeCloseTo(0.875, 12);
  });

  it("is undefined without both classes, and rejects NaN scores", () => {
    expect(auc([0.1, 0.2], [1, 1])).toBeNull();
    expect(auc([0.1, 0.2], [0, 0])).toBeNull();
    expect(() => auc([0.1, Number.NaN], [0, 1])).toThrow(/NaN/);
  });

  it("agrees with a brute-force pair count on random inputs", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 40 }), (rows) => {
        const scores = rows.map(([s]) => s);
        const labels = rows.map(([, l]) => (l ? 1 : 0));
        let pairs = 0;
        let wins = 0;
        rows.forEach(([sp, lp]) => rows.forEach(([sn, ln]) => {
          if (lp && !ln) {
            pairs++;
            wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
          }
        }));
        const value = auc(scores, labels);
        if (pairs === 0) expect(value).toBeNull();
        else expect(value).toBeCloseTo(wins / pairs, 10);
      }),
    );
  });
});

describe("GAUC", () => {
  it("weights each user's AUC by their impressions and skips single-class users", () => {
    const groups = [1, 1, 1, 2, 2, 2, 2, 3, 3];
    const scores = [0.9, 0.1, 0.5, 0.2, 0.8, 0.3, 0.1, 0.4, 0.6];
    const labels = [1, 0, 0, 1, 0, 0, 0, 1, 1];
    // user 1: AUC 1 over 3 impressions; user 2: 0.2 beats only 0.1 -> 1/3 over 4; user 3 has no negative
    expect(gauc(groups, scores, labels)).toBeCloseTo((3 * 1 + 4 * (1 / 3)) / 7, 12);
  });

  it("is undefined when no user has both classes", () => {
    expect(gauc([1, 2], [0.1, 0.2], [1, 0])).toBeNull();
  });
});

describe("replay NDCG", () => {
  it("re-ranks impressions by score with the label as gain", () => {
    // order by score: gains 0, 1, 1 -> DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    expect(replayNdcgAtK([0.9, 0.1, 0.5], [0, 1, 1], 10)).toBeCloseTo((0.6309298 + 0.5) / 1.6309298, 6);
  });

  it("gives tied positions the mean gain of their tie run", () => {
    expect(replayNdcgAtK([1, 1], [1, 0], 10)).toBeCloseTo(0.5 + 0.5 * 0.6309298, 6);
    // a tie run cut by k: position 2 of a 3-way tie with one positive in it
    expect(replayNdcgAtK([2, 1, 1, 1], [0, 1, 0, 0], 2)).toBeCloseTo((1 / 3) * 0.6309298, 6);
    // a scorer that ties everything scores the same whatever order the impressions arrive in
    expect(replayNdcgAtK([0, 0, 0], [1, 0, 0], 10)).toBeCloseTo(replayNdcgAtK([0, 0, 0], [0, 0, 1], 10) as number, 12);
  });

  it("averages over users with at least two impressions and one positive", () => {
    const groups = [1, 1, 2, 3, 3];
    const scores = [0.2, 0.9, 0.5, 0.3, 0.4];
    const labels = [1, 0, 1, 0, 0];
    // user 1: positive ranked 2nd -> (1/log2 3) / 1; user 2 has one impression; user 3 has no positive
    expect(meanReplayNdcg(groups, scores, labels, 10)).toBeCloseTo(0.6309298, 6);
    expect(meanReplayNdcg([1], [0.5], [1], 10)).toBeNull();
  });
});
