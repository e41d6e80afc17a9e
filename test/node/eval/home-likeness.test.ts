import { describe, expect, it } from "vitest";
import { ENGAGED_BITS } from "../../../core/features/engagement";
import { homeLikeness, totalVariation, wasserstein1 } from "../../../core/eval/home-likeness";
import { historyOf } from "../../../core/serving/assets";
import { fixtureServingBundle } from "../funnel/serving-bundle-fixture";

describe("Home-likeness", () => {
  it("total variation is 0 for one mix, 1 for disjoint ones, and half the L1 distance between", () => {
    expect(totalVariation(new Map([[1, 0.5], [2, 0.5]]), new Map([[2, 0.5], [1, 0.5]]))).toBe(0);
    expect(totalVariation(new Map([[1, 1]]), new Map([[2, 1]]))).toBe(1);
    expect(totalVariation(new Map([[1, 0.75], [2, 0.25]]), new Map([[1, 0.25], [2, 0.75]]))).toBeCloseTo(0.5, 12);
  });

  it("the age distance is the Wasserstein-1 distance between the samples' distributions, exactly", () => {
    expect(wasserstein1([0, 10], [5])).toBe(5);
    expect(wasserstein1([0, 0, 10], [0, 10])).toBeCloseTo(10 / 6, 12);
    expect(wasserstein1([3, 1, 2], [2, 3, 1])).toBe(0);
    // a shift moves every quantile by the same amount
    expect(wasserstein1([1, 2, 7], [101, 102, 107])).toBeCloseTo(100, 12);
  });

  it("finds a user's own Home engagements Home-like, and a list of one media type Home does not hold unlike it", async () => {
    const { tables } = await fixtureServingBundle();
    const homeSurfaces = tables.config.suggested.homeSurfaces;
    const home = new Set(homeSurfaces);
    const users: { userRow: number; engaged: number[] }[] = [];
    for (let row = 0; row < tables.users.ids.size && users.length < 20; row++) {
      const engaged = historyOf(tables.histories, row).filter((event) => home.has(event.surface) && (event.labels & ENGAGED_BITS) !== 0).map((event) => event.item);
      if (engaged.length >= 3) users.push({ userRow: row, engaged });
    }
    expect(users.length).toBeGreaterThan(0);
    const own = homeLikeness(tables, homeSurfaces, users.map(({ userRow, engaged }) => ({ userRow, items: engaged })));
    expect(own.users).toBe(users.length);
    expect(own.type_mix_tv).toBeCloseTo(0, 12);
    // the same items, seen at the end of training rather than when they were engaged with, are older
    expect(own.list_median_age_hours).toBeGreaterThanOrEqual(own.home_median_age_hours);
    expect(own.age_distance_hours).toBeGreaterThanOrEqual(0);
    if (tables.accountEmbeddings) expect(own.author_similarity).toBeGreaterThan(0.3);

    // a list of items of the type these users' Home holds least of
    const counts = new Map<number, number>();
    for (const { engaged } of users) for (const item of engaged) counts.set(tables.items.type[item] as number, (counts.get(tables.items.type[item] as number) ?? 0) + 1);
    const rarest = [...new Set(tables.items.type)].sort((a, b) => (counts.get(a) ?? 0) - (counts.get(b) ?? 0))[0] as number;
    const ofRarest = Array.from({ length: tables.items.ids.size }, (_, item) => item).filter((item) => tables.items.type[item] === rarest).slice(0, 20);
    const other = homeLikeness(tables, homeSurfaces, users.map(({ userRow }) => ({ userRow, items: ofRarest })));
    expect(other.type_mix_tv).toBeGreaterThan(own.type_mix_tv + 0.3);
    // users without Home engagements or lists without items are left out
    expect(homeLikeness(tables, [], users.map(({ userRow, engaged }) => ({ userRow, items: engaged }))).users).toBe(0);
    expect(Number.isNaN(homeLikeness(tables, homeSurfaces, []).type_mix_tv)).toBe(true);
  });
});
