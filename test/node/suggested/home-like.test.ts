import { describe, expect, it } from "vitest";
import { suggestedConfigSchema } from "../../../core/config/suggested";
import type { EventTable } from "../../../core/data/dataset";
import { roundRobinBySeed, type SeededItem } from "../../../core/suggested/diversify";
import { authorSimilarity, freshnessLogDensity, homeEngagementAges, homeProfile, homeScoreTerm, learnHomeFreshness, lnAgeHours, typeMixRule } from "../../../core/suggested/home-like";
import { suggestedObjective } from "../../../models/tuning/tune";

const HOUR = 3_600_000;

/** A deterministic standard normal sample (Box–Muller over a fixed LCG). */
function normalSample(n: number, mean: number, sd: number): number[] {
  let state = 12345;
  const uniform = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

describe("Home's freshness", () => {
  it("learns the log density of Home engagements' ages: 0 at the median, the shape of the sample around it", () => {
    const sample = normalSample(20_000, 4, 0.5);
    const table = learnHomeFreshness(sample);
    expect(table.lnAgeHours.length).toBe(64);
    const at = (x: number) => freshnessLogDensity(table, 0, Math.expm1(x) * HOUR);
    expect(at(4)).toBeCloseTo(0, 1);
    // a normal's log density one and two standard deviations out: −½ and −2, smoothed a little by the kernel
    expect(at(4.5)).toBeCloseTo(-0.5, 0);
    expect(at(3)).toBeLessThan(-1.6);
    expect(at(3)).toBeGreaterThan(-2.4);
    // beyond the grid the end values hold: an age Home never saw is held back, not excluded
    expect(at(40)).toBe(table.logDensity.at(-1));
    expect(Number.isFinite(at(40))).toBe(true);
  });

  it("has no rule without enough engagements, and leaves an item of unknown age at Home's median", () => {
    expect(learnHomeFreshness([1, 2, 3])).toEqual({ lnAgeHours: [], logDensity: [] });
    const table = { lnAgeHours: [0, 1, 2], logDensity: [-1, 0, -3] };
    expect(freshnessLogDensity(table, Number.NaN, 10 * HOUR)).toBe(0);
    expect(freshnessLogDensity({ lnAgeHours: [], logDensity: [] }, 0, 10 * HOUR)).toBe(0);
    // linear between grid points on ln(1 + hours)
    const ageAt = (x: number) => Math.expm1(x) * HOUR;
    expect(freshnessLogDensity(table, 0, ageAt(0.5))).toBeCloseTo(-0.5, 9);
    expect(freshnessLogDensity(table, 0, ageAt(1.5))).toBeCloseTo(-1.5, 9);
    // an item dated after now counts as new
    expect(freshnessLogDensity(table, 5 * HOUR, 0)).toBe(-1);
    expect(lnAgeHours(0, HOUR)).toBeCloseTo(Math.log(2), 12);
  });

  it("reads the ages of Home engagements only, at the time they happened", () => {
    const events: EventTable = {
      size: 4,
      user: Int32Array.from([0, 0, 1, 1]),
      item: Int32Array.from([0, 1, 0, 1]),
      surface: Int32Array.from([1, 1, 2, 1]),
      ts: Float64Array.from([3 * HOUR, 5 * HOUR, 7 * HOUR, 9 * HOUR]),
      labels: { click: Uint8Array.from([1, 0, 1, 0]), like: Uint8Array.from([0, 0, 0, 1]) },
    } as unknown as EventTable;
    const createdAt = Float64Array.from([0, HOUR]);
    // event 0: Home click at 3 h of item 0 (age 3 h); event 1: no label; event 2: not Home; event 3: Home like of item 1 at age 8 h
    expect(homeEngagementAges(events, createdAt, [1])).toEqual([Math.log1p(3), Math.log1p(8)]);
  });
});

describe("Home's media-type mix on the page", () => {
  const typeOf = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  // the user's Home: three engagements with type 0, one with type 1
  const profile = homeProfile([{ id: 0, score: 2 }, { id: 1, score: 1 }, { id: 8, score: 1 }], typeOf, Int32Array.from({ length: 16 }, (_, i) => i), undefined);
  // best first: every type-1 item ranks above every type-0 one, each from a seed of its own
  const ranked: SeededItem[] = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7].map((item, i) => ({ item, author: item, score: -i, seedId: item, seedType: "H" }));

  it("holds a type to its Home share plus the allowed excess", () => {
    expect([...profile.typeMix]).toEqual([[0, 0.75], [1, 0.25]]);
    const page = roundRobinBySeed(ranked, { count: 8, maxPerSeed: 1, maxPerAuthor: 1, admits: typeMixRule(profile, typeOf, 0, 8) });
    expect(page.map((entry) => typeOf[entry.item])).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    const looser = roundRobinBySeed(ranked, { count: 8, maxPerSeed: 1, maxPerAuthor: 1, admits: typeMixRule(profile, typeOf, 0.25, 8) });
    expect(looser.filter((entry) => typeOf[entry.item] === 1)).toHaveLength(4);
  });

  it("fills the page with refused items when nothing else is left, and is off at an excess of 1 or without a Home", () => {
    const onlyType1 = ranked.filter((entry) => typeOf[entry.item] === 1);
    const page = roundRobinBySeed(onlyType1, { count: 6, maxPerSeed: 1, maxPerAuthor: 1, admits: typeMixRule(profile, typeOf, 0, 6) });
    expect(page.map((entry) => entry.item)).toEqual([8, 9, 10, 11, 12, 13]);
    expect(typeMixRule(profile, typeOf, 1, 8)).toBeUndefined();
    expect(typeMixRule(homeProfile([], typeOf, typeOf, undefined), typeOf, 0, 8)).toBeUndefined();
  });
});

describe("Home authors", () => {
  it("scores an author by its cosine to the engagement-weighted centroid of the Home authors", () => {
    // authors 0 and 1 along the axes, author 2 on the diagonal, author 3 with no embedding
    const accounts = { vectors: Float32Array.from([1, 0, 0, 1, 1, 1, 0, 0]), dim: 2 };
    const authorOf = Int32Array.from([0, 1, 2, 3]);
    const profile = homeProfile([{ id: 0, score: 1 }], Int32Array.from([0, 0, 0, 0]), authorOf, accounts);
    expect(authorSimilarity(profile, accounts, 0)).toBeCloseTo(1, 6);
    expect(authorSimilarity(profile, accounts, 1)).toBeCloseTo(0, 6);
    expect(authorSimilarity(profile, accounts, 2)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(authorSimilarity(profile, accounts, 3)).toBe(0);
    const both = homeProfile([{ id: 0, score: 1 }, { id: 1, score: 1 }], Int32Array.from([0, 0, 0, 0]), authorOf, accounts);
    expect(authorSimilarity(both, accounts, 2)).toBeCloseTo(1, 6);
    expect(authorSimilarity(both, undefined, 2)).toBe(0);
  });

  it("weighs the terms by the config, which leaves the ranking as it is by default", () => {
    const defaults = suggestedConfigSchema.parse({}).home;
    expect(homeScoreTerm(defaults, -3, 0.9)).toBe(0);
    expect(defaults.maxTypeExcess).toBe(1);
    expect(homeScoreTerm({ ...defaults, freshnessWeight: 2, authorSimilarityWeight: 0.5 }, -3, 0.8)).toBeCloseTo(-5.6, 12);
    expect(() => suggestedConfigSchema.parse({ home: { freshness: { lnAgeHours: [1, 0], logDensity: [0, 0] } } })).toThrow(/lnAgeHours must increase/);
    expect(() => suggestedConfigSchema.parse({ home: { freshness: { lnAgeHours: [0, 1], logDensity: [0] } } })).toThrow(/same length/);
  });
});

describe("the Suggested Posts tuning objective", () => {
  const base = { recall20: 0.1, popularityRecall20: 0.1, recallList: 0.3, popularityRecallList: 0.3, typeMixTv: 0.03, popularityTypeMixTv: 0.03, ageDistanceHours: 100, popularityAgeDistanceHours: 100 };
  it("rewards a list more Home-like than popularity's a little, and punishes a less Home-like one as a rail", () => {
    expect(suggestedObjective(base)).toBeCloseTo(1, 12);
    expect(suggestedObjective({ ...base, ageDistanceHours: 80 })).toBeCloseTo(1.02, 12);
    expect(suggestedObjective({ ...base, typeMixTv: 0.015 })).toBeCloseTo(1.05, 12);
    expect(suggestedObjective({ ...base, ageDistanceHours: 110 })).toBeCloseTo(1 - 0.01 - 1, 12);
    // recall still decides: 10% more recall@20 beats halving the age gap
    expect(suggestedObjective({ ...base, recall20: 0.11 })).toBeGreaterThan(suggestedObjective({ ...base, ageDistanceHours: 50 }));
    // recall@20 under popularity's is a rail: however Home-like, a page that recalls less than popularity loses
    expect(suggestedObjective({ ...base, recall20: 0.09 })).toBeCloseTo(0.9 - 1, 12);
    expect(suggestedObjective({ ...base, recall20: 0.09, typeMixTv: 0.001, ageDistanceHours: 10 })).toBeLessThan(suggestedObjective({ ...base, typeMixTv: 0.031 }));
  });
});
