import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isKnown, itemTags, loadDataset, localDay, sliceEvents, type Dataset, type TrainingData } from "../../../core/data";
import { DecayedPopularity, decayedCounts } from "../../../core/eval/baselines/popularity";
import { evaluateFullCatalogue, testPositives } from "../../../core/eval/protocols";
import type { RankedItems, RecommendRequest, Recommender } from "../../../core/eval/types";
import { topK } from "../../../core/util/top-k";
import {
  DEFAULT_SYNTHETIC_SPARSE_OPTIONS,
  generateSyntheticSparseDataset,
  writeSyntheticSparseDataset,
  type SyntheticSparseStats,
} from "../../../scripts/data/synthetic-sparse";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

let directory: string;
let stats: SyntheticSparseStats;
let data: Dataset;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "synthetic-sparse-"));
  stats = await writeSyntheticSparseDataset(directory);
  data = await loadDataset(new DirectoryDataSource(directory));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("the synthetic sparse-days data set (default options)", () => {
  it("is generated in under 2 s", () => {
    const started = performance.now();
    generateSyntheticSparseDataset();
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("loads through loadDataset with the stated shape: users without features, three labels, two surfaces", () => {
    expect(data.name).toBe("synthetic-sparse");
    expect(data.homeSurfaces).toEqual([1]);
    expect(new Set(data.events.surface)).toEqual(new Set([1, 2]));
    expect(data.labels).toEqual(["click", "long_view", "like"]);
    expect(data.users.ids.size).toBe(DEFAULT_SYNTHETIC_SPARSE_OPTIONS.users);
    expect(data.users.categorical).toEqual([]);
    expect(data.users.numeric).toEqual([]);
    expect(data.notes.join(" ")).not.toMatch(/empty features/);
    expect(data.items.ids.size).toBe(DEFAULT_SYNTHETIC_SPARSE_OPTIONS.items);
    expect(data.items.authors.size).toBeGreaterThanOrEqual(500);
    expect(data.items.authors.size).toBeLessThanOrEqual(700);
    expect(data.items.tags.size).toBeLessThanOrEqual(41); // 40 topics and "classic"
    expect(new Set(data.items.types.ids())).toEqual(new Set(["photo", "video", "album"]));
    expect(data.events.size).toBeGreaterThanOrEqual(3_000);
    expect(data.events.size).toBeLessThanOrEqual(40_000);
  });

  it("reports statistics that match what the loader reads, with like and long_view only after a click", () => {
    const click = data.events.labels.click as Uint8Array;
    const like = data.events.labels.like as Uint8Array;
    const longView = data.events.labels.long_view as Uint8Array;
    const sum = (column: Uint8Array) => column.reduce((a, b) => a + b, 0);
    expect(stats.events).toBe(data.events.size);
    expect([stats.clicks, stats.likes, stats.longViews]).toEqual([sum(click), sum(like), sum(longView)]);
    for (let e = 0; e < data.events.size; e++) if (like[e] || longView[e]) expect(click[e]).toBe(1);
    expect(stats.clicks / stats.events).toBeGreaterThan(0.1);
    expect(stats.clicks / stats.events).toBeLessThan(0.6);
  });

  it("spans years with most calendar days silent", () => {
    const tz = data.timezoneOffsetMinutes;
    const { ts } = data.events;
    const first = ts[0] as number;
    const last = ts[ts.length - 1] as number;
    expect(localDay(first, tz).slice(0, 4)).toBe("2019");
    expect(localDay(last, tz).slice(0, 4)).toBe("2022");
    const days = new Set(Array.from(ts, (ms) => localDay(ms, tz)));
    const calendarDays = Math.round((Date.parse(isoDay(localDay(last, tz))) - Date.parse(isoDay(localDay(first, tz)))) / DAY_MS) + 1;
    expect([days.size, calendarDays]).toEqual([stats.daysWithEvents, stats.calendarDays]);
    expect(days.size / calendarDays).toBeLessThan(0.3);
    expect(days.size).toBeGreaterThan(100);
  });

  it("has items created before 1970, of unknown age, and shown for the first time years after they were created", () => {
    const { createdAt } = data.items;
    const before1970 = Array.from(createdAt).filter((ms) => isKnown(ms) && ms < 0).length;
    expect(before1970).toBeGreaterThanOrEqual(50);
    expect(before1970).toBe(stats.itemsCreatedBefore1970);
    expect(Array.from(createdAt).filter((ms) => !isKnown(ms)).length).toBe(stats.itemsOfUnknownCreation);
    const firstShown = new Map<number, number>();
    for (let e = 0; e < data.events.size; e++) if (!firstShown.has(data.events.item[e] as number)) firstShown.set(data.events.item[e] as number, data.events.ts[e] as number);
    const yearsLater = [...firstShown].filter(([item, ms]) => ms - (createdAt[item] as number) > YEAR_MS).length;
    expect(yearsLater).toBe(stats.itemsFirstShownYearsAfterCreation);
    expect(yearsLater / firstShown.size).toBeGreaterThan(0.1);
    // no item is shown before it exists
    for (const [item, ms] of firstShown) if (isKnown(createdAt[item] as number)) expect(ms).toBeGreaterThanOrEqual(createdAt[item] as number);
  });

  it("gives byte-identical files for a seed, and other files for another seed", async () => {
    const small = { users: 60, items: 400, events: 4_000 };
    const once = generateSyntheticSparseDataset({ ...small, seed: 9 });
    const again = generateSyntheticSparseDataset({ ...small, seed: 9 });
    expect(again.files).toEqual(once.files);
    expect(again.stats).toEqual(once.stats);
    const other = generateSyntheticSparseDataset({ ...small, seed: 10 });
    expect(other.files["events.csv"]).not.toBe(once.files["events.csv"]);
    // the default seed: what the CLI wrote to disk is what a fresh generation gives
    const regenerated = generateSyntheticSparseDataset({ seed: DEFAULT_SYNTHETIC_SPARSE_OPTIONS.seed });
    for (const [name, text] of Object.entries(regenerated.files)) expect(await readFile(join(directory, name), "utf8"), name).toBe(text);
  });

  it("refuses options that are not positive integers", () => {
    expect(() => generateSyntheticSparseDataset({ users: 0 })).toThrow(/users must be an integer >= 1, got 0/);
    expect(() => generateSyntheticSparseDataset({ events: 2.5 })).toThrow(/events must be an integer >= 1, got 2\.5/);
  });

  it("has personal structure: a per-user topic baseline beats global decayed popularity on Recall@50 of later clicks", async () => {
    // The project's splits cut on calendar days; here the last 15% of events are the test, whatever their days.
    const cut = Math.floor(data.events.size * 0.85);
    const train: TrainingData = { ...data, events: sliceEvents(data.events, 0, cut), endMs: (data.events.ts[cut - 1] as number) + 1 };
    const test = sliceEvents(data.events, cut, data.events.size);
    const positives = testPositives(test, ["click"]);
    const popularity = await evaluateFullCatalogue(new DecayedPopularity(train), train, positives);
    const taste = await evaluateFullCatalogue(new TopicTasteRecommender(train), train, positives);
    const popularityRecall = popularity.click?.["recall@50"] ?? 0;
    const tasteRecall = taste.click?.["recall@50"] ?? 0;
    console.log(`synthetic-sparse Recall@50 of test clicks (${positives.get("click")?.size} users): popularity ${popularityRecall.toFixed(4)}, topic taste ${tasteRecall.toFixed(4)}`);
    expect(popularityRecall).toBeGreaterThan(0);
    expect(tasteRecall).toBeGreaterThan(1.2 * popularityRecall);
  });
});

function isoDay(yyyymmdd: string): string {
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

/**
 * The most popular recent items within the topics a user clicks: each item scores its clicks of the last weeks
 * (decayed, half-life 14 days) times the largest share of the user's training clicks among its tags; the list is
 * filled with global popularity when the user's topics run out (and for users without clicks).
 */
class TopicTasteRecommender implements Recommender {
  readonly name = "topic_taste";
  private readonly recentClicks: Float64Array;
  private readonly globalOrder: Int32Array;
  private readonly tagClicksByUser = new Map<number, Map<number, number>>();

  constructor(private readonly train: TrainingData) {
    this.recentClicks = decayedCounts(train.events, train.items.ids.size, "click", train.endMs, 14 * DAY_MS);
    this.globalOrder = topK(this.recentClicks, this.recentClicks.length);
    const click = train.events.labels.click as Uint8Array;
    for (let e = 0; e < train.events.size; e++) {
      if (!click[e]) continue;
      const user = train.events.user[e] as number;
      let tagClicks = this.tagClicksByUser.get(user);
      if (!tagClicks) this.tagClicksByUser.set(user, (tagClicks = new Map()));
      for (const tag of itemTags(train.items, train.events.item[e] as number)) tagClicks.set(tag, (tagClicks.get(tag) ?? 0) + 1);
    }
  }

  recommend(request: RecommendRequest): RankedItems {
    const tagClicks = this.tagClicksByUser.get(request.user) ?? new Map<number, number>();
    const total = [...tagClicks.values()].reduce((a, b) => a + b, 0);
    const scores = new Float64Array(this.recentClicks.length);
    for (let item = 0; item < scores.length; item++) {
      let share = 0;
      for (const tag of itemTags(this.train.items, item)) share = Math.max(share, (tagClicks.get(tag) ?? 0) / Math.max(1, total));
      scores[item] = share * (this.recentClicks[item] as number);
    }
    const items = Array.from(topK(scores, request.count)).filter((item) => (scores[item] as number) > 0);
    const chosen = new Set(items);
    for (const item of this.globalOrder) {
      if (items.length >= request.count) break;
      if (!chosen.has(item)) items.push(item);
    }
    return { items: Int32Array.from(items), scores: Float32Array.from(items, (_, rank) => items.length - rank) };
  }
}
