import { describe, expect, it } from "vitest";
import { MemoryDataSource, loadDataset, splitByDate } from "../../../core/data";
import { trainingData } from "../../../core/eval/harness";
import {
  DayByDayReplay,
  EngagementCounters,
  LABEL_BIT,
  UserActivity,
  allocateMtmlInputs,
  fitFeatures,
  localHour,
  withDenseStatistics,
  writeMtmlRow,
  type FeatureContext,
} from "../../../core/features";
import { DAY0, HOUR, LOG_HEADER, kuairandFiles, logRow } from "../data/kuairand-fixture";

const DAY = 24 * HOUR;

describe("engagement counters", () => {
  it("count impressions and labels, and decay clicks with the half-life", () => {
    const counters = new EngagementCounters(3, DAY, 10 * DAY);
    counters.add(1, 9 * DAY, LABEL_BIT.click | LABEL_BIT.like);
    counters.add(1, 10 * DAY, 0);
    expect(counters.impressions[1]).toBe(2);
    expect(counters.positive(1, 0)).toBe(1);
    expect(counters.positive(1, 2)).toBe(1);
    expect(counters.decayedClicks[1]).toBeCloseTo(0.5, 12);
    expect(counters.decayedImpressions[1]).toBeCloseTo(1.5, 12);
    counters.advanceTo(11 * DAY);
    expect(counters.decayedClicks[1]).toBeCloseTo(0.25, 12);
    expect(Array.from(counters.globalRates()).slice(0, 3)).toEqual([0.5, 0, 0.5]);
  });

  it("refuse events from the future and moving back in time", () => {
    const counters = new EngagementCounters(1, DAY, DAY);
    expect(() => counters.add(0, 2 * DAY, 0)).toThrow(/after the snapshot time/);
    expect(() => counters.advanceTo(0)).toThrow(/cannot move the snapshot back/);
  });
});

describe("user activity", () => {
  const catalogue = { author: Int32Array.from([7, 7, 8]), tagOffsets: Int32Array.from([0, 2, 3, 3]), tagIds: Int32Array.from([0, 1, 1]) };

  it("aggregates by author and tag, remembers engaged items newest last, and follows", () => {
    const activity = UserActivity.from(catalogue, [
      { item: 0, ts: 1, surface: 1, labels: LABEL_BIT.click },
      { item: 1, ts: 2, surface: 1, labels: 0 },
      { item: 2, ts: 3, surface: 1, labels: LABEL_BIT.like | LABEL_BIT.follow },
      { item: 0, ts: 4, surface: 1, labels: LABEL_BIT.long_view },
    ], { historyLength: 2 });
    expect(activity.impressions).toBe(4);
    expect(Array.from(activity.authors.get(7) ?? [])).toEqual([3, 1, 1, 0]);
    expect(Array.from(activity.tags.get(1) ?? [])).toEqual([3, 1]);
    expect(activity.seenItems.get(0)).toBe(2);
    expect(activity.recentItems(10)).toEqual([0, 2]);
    expect([...activity.followedAuthors]).toEqual([8]);
    expect(activity.likedAuthors).toEqual([8]);
  });

  it("rejects an item outside the catalogue", () => {
    expect(() => UserActivity.from(catalogue, [{ item: 9, ts: 1, surface: 1, labels: 0 }])).toThrow(/item 9 is not in the catalogue/);
  });
});

const LOG = [
  LOG_HEADER,
  logRow(1, 10, DAY0 + 1 * HOUR, { click: 1 }),
  logRow(2, 10, DAY0 + 2 * HOUR, { click: 1, like: 1 }),
  logRow(1, 11, DAY0 + 25 * HOUR, { click: 0 }),
  logRow(2, 10, DAY0 + 26 * HOUR, { click: 1 }),
  logRow(1, 12, DAY0 + 49 * HOUR, { click: 1 }),
].join("\n");

async function fixture() {
  const dataset = await loadDataset(new MemoryDataSource(kuairandFiles({ "log_standard.csv": LOG })));
  const split = splitByDate(dataset, { trainEnd: "20220426", testStart: "20220427" });
  return { dataset, split, train: trainingData(dataset, split) };
}

describe("day-by-day replay", () => {
  it("shows each day's rows only the days before it", async () => {
    const { dataset, train } = await fixture();
    const replay = new DayByDayReplay(dataset.items, dataset.items.ids.size, dataset.items.authors.size, DAY, dataset.timezoneOffsetMinutes, DAY0);
    const item10 = dataset.items.ids.get("10") as number;
    const seen: { day: number; rows: number; item10Impressions: number; user1Impressions: number }[] = [];
    replay.run(train.events, (day, from, to) => {
      seen.push({ day, rows: to - from, item10Impressions: replay.itemCounters.impressions[item10] as number, user1Impressions: replay.activity(dataset.users.ids.get("1") as number).impressions });
    });
    expect(seen).toEqual([
      { day: DAY0, rows: 2, item10Impressions: 0, user1Impressions: 0 },
      { day: DAY0 + DAY, rows: 2, item10Impressions: 2, user1Impressions: 1 },
    ]);
    expect(replay.itemCounters.impressions[item10]).toBe(3);
  });
});

describe("MTML features", () => {
  it("are finite, in range, and never see the row's own label", async () => {
    const { dataset, train } = await fixture();
    const fitted = fitFeatures(train);
    const replay = new DayByDayReplay(dataset.items, dataset.items.ids.size, dataset.items.authors.size, fitted.spec.halfLifeMs, dataset.timezoneOffsetMinutes, DAY0);
    const inputs = allocateMtmlInputs(fitted.spec, train.events.size);
    const context = (): FeatureContext => ({ spec: fitted.spec, catalogue: dataset.items, itemEmbeddingRow: fitted.itemEmbeddingRow, authorEmbeddingRow: fitted.authorEmbeddingRow, itemCounters: replay.itemCounters, authorCounters: replay.authorCounters });
    const userContext = (user: number) => ({
      embeddingRow: fitted.userEmbeddingRow[user] as number,
      categorical: dataset.users.categorical.map((f) => f.codes[user] as number),
      numeric: dataset.users.numeric.map((f) => f.values[user] as number),
      hasFeatures: dataset.users.hasFeatures[user] === 1,
      activity: replay.activity(user),
    });
    replay.run(train.events, (_day, from, to) => {
      for (let r = from; r < to; r++) writeMtmlRow(context(), userContext(train.events.user[r] as number), train.events.item[r] as number, train.events.surface[r] as number, train.events.ts[r] as number, inputs, r, false);
    });
    expect(inputs.dense.every(Number.isFinite)).toBe(true);
    const width = fitted.spec.dense.names.length;
    // user 2's second click on item 10 (row 3): user-author clicks come from day 0 only (one click)
    const uaClicks = fitted.spec.dense.names.indexOf("user_author_log_clicks");
    expect(inputs.dense[3 * width + uaClicks]).toBeCloseTo(Math.log1p(1), 6);
    // item 10's impressions on day 1 are the two of day 0, not its own
    expect(inputs.dense[3 * width + fitted.spec.dense.names.indexOf("item_log_impressions")]).toBeCloseTo(Math.log1p(2), 6);
    // on day 0 nothing is known yet
    expect(inputs.dense[0 * width + fitted.spec.dense.names.indexOf("item_log_impressions")]).toBe(0);
    for (let r = 0; r < inputs.size; r++) {
      fitted.spec.categorical.forEach((slot, s) => {
        const id = inputs.categorical[r * fitted.spec.categorical.length + s] as number;
        expect(id).toBeGreaterThanOrEqual(slot.offset);
        expect(id).toBeLessThan(slot.offset + slot.size);
      });
    }
    // hour slot: local hour + 1 (events at 01:00 and 02:00 local)
    expect(inputs.categorical[1]).toBe(fitted.spec.categorical[1]!.offset + localHour(DAY0 + HOUR, 480) + 1);

    const standardised = withDenseStatistics(fitted.spec, inputs.dense, inputs.size);
    expect(standardised.dense.std.every((s) => s > 0)).toBe(true);
    expect(() => withDenseStatistics(fitted.spec, new Float32Array(width).fill(Number.NaN), 1)).toThrow(/is NaN in row 0/);
  });
});
