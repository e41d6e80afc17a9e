import { beforeAll, describe, expect, it } from "vitest";
import { loadDataset, splitByDate, type Dataset, type TimeSplit } from "../../../core/data";
import { DecayedPopularity } from "../../../core/eval/baselines/popularity";
import { trainingData } from "../../../core/eval/harness";
import { recallAtK } from "../../../core/eval/metrics";
import { BundleRows } from "../../../core/eval/systems/bundle-systems";
import { SuggestedSystems, restrictedPopularity } from "../../../core/eval/systems/suggested-systems";
import type { TrainingData } from "../../../core/data/dataset";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { syntheticDay } from "../../../scripts/models/synthetic-kuairand";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";
import { FIXTURE_TRAIN_END, fixtureBundleDirectory } from "../../support/fixture-bundle";
import { fixtureServingBundle } from "./fixture";

let bundle: ServingBundle;
let dataset: Dataset;
let split: TimeSplit;
let train: TrainingData;

beforeAll(async () => {
  bundle = await fixtureServingBundle();
  dataset = await loadDataset(new DirectoryDataSource((await fixtureBundleDirectory()).data));
  split = splitByDate(dataset, { trainEnd: FIXTURE_TRAIN_END, testStart: syntheticDay(4) });
  train = trainingData(dataset, split);
}, 600_000);

describe("restrictedPopularity", () => {
  it("keeps the popularity order without followed authors' and seen items, cut to the length", () => {
    const order = Int32Array.of(5, 4, 3, 2, 1, 0);
    const author = Int32Array.of(10, 11, 12, 13, 14, 15);
    expect(Array.from(restrictedPopularity(order, 3, new Set([14]), new Set([3]), author))).toEqual([5, 2, 1]);
    expect(Array.from(restrictedPopularity(order, 10, undefined, undefined, author))).toEqual([5, 4, 3, 2, 1, 0]);
  });
});

describe("SuggestedSystems on the fixture data", () => {
  it("recommends each user's page (dataset rows) and measures recall on unfollowed authors against restricted popularity", async () => {
    const systems = new SuggestedSystems(new BundleRows(dataset, bundle.tables), bundle, bundle.tables.config, { count: 30 });
    const popularity = new DecayedPopularity(train);
    const measures = await systems.measures(train, split.test, popularity.order);

    // the users, recomputed: a click or like in the test window on an author not followed in training
    const follows = new Map<number, Set<number>>();
    const events = train.events;
    for (let i = 0; i < events.size; i++) {
      if (!events.labels.follow?.[i]) continue;
      const set = follows.get(events.user[i] as number) ?? new Set<number>();
      set.add(dataset.items.author[events.item[i] as number] as number);
      follows.set(events.user[i] as number, set);
    }
    const relevant = new Map<number, Set<number>>();
    const test = split.test;
    for (let i = 0; i < test.size; i++) {
      if (!test.labels.click?.[i] && !test.labels.like?.[i]) continue;
      const user = test.user[i] as number;
      if (follows.get(user)?.has(dataset.items.author[test.item[i] as number] as number)) continue;
      const set = relevant.get(user) ?? new Set<number>();
      set.add(test.item[i] as number);
      relevant.set(user, set);
    }
    expect(measures.users).toBe(relevant.size);
    expect(measures.users).toBeGreaterThan(10);
    expect(measures.degraded_users).toBe(0);
    expect(measures.mean_list_length).toBeGreaterThan(0);
    expect(measures.mean_list_length).toBeLessThanOrEqual(30);

    // recall at the list, recomputed from the recommender's own lists
    const recommender = systems.recommender();
    let sum = 0;
    for (const [user, items] of relevant) {
      const page = await recommender.recommend({ user, atMs: train.endMs, count: 1000 });
      expect(page.items.length).toBeLessThanOrEqual(30);
      sum += recallAtK(page.items, items, page.items.length);
    }
    expect(measures.recall.engaged?.suggested_at_list).toBeCloseTo(sum / relevant.size, 10);
    for (const r of Object.values(measures.recall)) {
      for (const value of [r.suggested_at_page, r.popularity_at_page, r.suggested_at_list, r.popularity_at_list]) expect(value).toBeGreaterThanOrEqual(0);
      expect(r.suggested_at_page).toBeLessThanOrEqual(r.suggested_at_list);
      expect(r.popularity_at_page).toBeLessThanOrEqual(r.popularity_at_list);
    }
    expect(measures.home_neighbour_users).toBeGreaterThan(0);
    expect(measures.home_neighbour_fraction).toBeGreaterThan(0);
    expect(measures.home_neighbour_fraction).toBeLessThanOrEqual(1);
    const shares = Object.values(measures.share);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    // Home-likeness of the suggestions and of restricted popularity, for the same users (no Explore feed given here)
    for (const likeness of [measures.home_likeness.suggested, measures.home_likeness.popularity]) {
      expect(likeness.users).toBeGreaterThan(0);
      expect(likeness.users).toBeLessThanOrEqual(measures.users);
      expect(likeness.type_mix_tv).toBeGreaterThanOrEqual(0);
      expect(likeness.type_mix_tv).toBeLessThanOrEqual(1);
      expect(likeness.age_gap_hours).toBeGreaterThanOrEqual(0);
    }
    expect(measures.home_likeness.explore).toBeUndefined();
  });
});
