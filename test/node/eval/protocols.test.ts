import { describe, expect, it } from "vitest";
import { MemoryDataSource, loadDataset, splitByDate } from "../../../core/data";
import { CooccurrenceRecommender } from "../../../core/eval/baselines/cooccurrence";
import { ItemRateScorer } from "../../../core/eval/baselines/item-rate";
import { DAY_MS, DecayedPopularity } from "../../../core/eval/baselines/popularity";
import { trainingData } from "../../../core/eval/harness";
import { evaluateFullCatalogue, evaluateImpressions, testPositives } from "../../../core/eval/protocols";
import type { PairBatch, Recommender } from "../../../core/eval/types";
import { DAY0, HOUR, LOG_HEADER, kuairandFiles, logRow } from "../data/kuairand-fixture";

// Items 10..13 (authors 500, 501, 500, 502). Users 1..4.
const LOG = [
  LOG_HEADER,
  // training day (2022-04-25)
  logRow(1, 10, DAY0 + 1 * HOUR, { click: 1 }),
  logRow(1, 11, DAY0 + 2 * HOUR, { click: 1 }),
  logRow(2, 10, DAY0 + 3 * HOUR, { click: 1 }),
  logRow(2, 11, DAY0 + 4 * HOUR, { click: 1 }),
  logRow(3, 12, DAY0 + 23 * HOUR, { click: 1 }),
  logRow(4, 13, DAY0 + 5 * HOUR, { click: 0 }),
  // test day (2022-04-26)
  logRow(1, 12, DAY0 + 25 * HOUR, { click: 1, like: 1 }),
  logRow(1, 13, DAY0 + 26 * HOUR, { click: 0 }),
  logRow(4, 10, DAY0 + 27 * HOUR, { click: 1 }),
  logRow(4, 12, DAY0 + 28 * HOUR, { click: 0, long_view: 1 }),
].join("\n");

async function fixture() {
  const dataset = await loadDataset(new MemoryDataSource(kuairandFiles({ "log_standard.csv": LOG })));
  const split = splitByDate(dataset, { trainEnd: "20220425", testStart: "20220426" });
  return { dataset, split, train: trainingData(dataset, split) };
}
const row = (dataset: Awaited<ReturnType<typeof fixture>>["dataset"], id: string) => dataset.items.ids.get(id) as number;

describe("full-catalogue protocol", () => {
  it("measures each user's positives against a fixed ranking", async () => {
    const { dataset, split, train } = await fixture();
    const fixed: Recommender = {
      name: "fixed",
      recommend: () => ({ items: Int32Array.from(["10", "11", "12"].map((id) => row(dataset, id))), scores: new Float32Array([3, 2, 1]) }),
    };
    const result = await evaluateFullCatalogue(fixed, train, testPositives(split.test, ["click", "long_view", "like"]));
    // click positives: user 1 -> {12} (rank 3), user 4 -> {10} (rank 1)
    expect(result.click?.users).toBe(2);
    expect(result.click?.["recall@10"]).toBe(1);
    expect(result.click?.["ndcg@10"]).toBeCloseTo((1 / Math.log2(4) + 1) / 2, 12);
    expect(result.click?.["hit@10"]).toBe(1);
    expect(result.long_view?.users).toBe(1);
    expect(result.users).toBe(2);
    // items 10, 11, 12 of 4; authors 500, 501, 500 -> 2 distinct
    expect(result.coverage).toBeCloseTo(3 / 4, 12);
    expect(result["authors@10"]).toBe(2);
  });

  it("refuses a list longer than the protocol's 1000", async () => {
    const { split, train } = await fixture();
    const greedy: Recommender = { name: "greedy", recommend: () => ({ items: new Int32Array(1001), scores: new Float32Array(1001) }) };
    await expect(evaluateFullCatalogue(greedy, train, testPositives(split.test, ["click"]))).rejects.toThrow(/more than 1000/);
  });
});

describe("impression protocol", () => {
  it("scores test impressions and reports AUC, GAUC and replay NDCG per label", async () => {
    const { dataset, split } = await fixture();
    // a perfect click scorer: the test label itself
    const oracle = { name: "oracle", score: (batch: PairBatch) => ({ click: Float32Array.from(batch.item, (_, i) => split.test.labels.click?.[i] ?? 0) }) };
    const result = await evaluateImpressions(oracle, split.test, dataset.labels);
    expect(result.click).toEqual({ auc: 1, gauc: 1, "replay_ndcg@10": 1 });
    expect(result.like).toBeUndefined();
  });

  it("rejects a scorer that returns the wrong number of scores", async () => {
    const { dataset, split } = await fixture();
    const short = { name: "short", score: () => ({ click: new Float32Array(1) }) };
    await expect(evaluateImpressions(short, split.test, dataset.labels)).rejects.toThrow(/short returned 1 click scores for 4 pairs/);
  });
});

describe("baselines", () => {
  it("decayed popularity halves a click's weight per day of age", async () => {
    const { dataset, train } = await fixture();
    const popularity = new DecayedPopularity(train);
    const end = DAY0 + DAY_MS;
    const weight = (hoursAfterDay0: number) => 0.5 ** ((end - (DAY0 + hoursAfterDay0 * HOUR)) / DAY_MS);
    expect(popularity.scores[row(dataset, "10")]).toBeCloseTo(weight(1) + weight(3), 10);
    expect(popularity.scores[row(dataset, "12")]).toBeCloseTo(weight(23), 10);
    expect(popularity.scores[row(dataset, "13")]).toBe(0);
    // two older clicks outweigh one recent click: 11 and 10 lead 12
    expect(Array.from(popularity.recommend({ user: 0, atMs: end, count: 4 }).items, (r) => dataset.items.ids.id(r))).toEqual(["11", "10", "12", "13"]);
  });

  it("co-occurrence recommends what co-clicked items lead to, then back-fills with popularity", async () => {
    const { dataset, train } = await fixture();
    const cooccurrence = new CooccurrenceRecommender(train, new DecayedPopularity(train));
    const user1 = dataset.users.ids.get("1") as number;
    const user3 = dataset.users.ids.get("3") as number;
    // user 1 clicked 10 and 11; they co-occur (users 1 and 2), so both score from each other first
    const list1 = Array.from(cooccurrence.recommend({ user: user1, atMs: train.endMs, count: 4 }).items, (r) => dataset.items.ids.id(r));
    expect(list1.slice(0, 2).sort()).toEqual(["10", "11"]);
    expect(list1).toHaveLength(4);
    // user 3 clicked only 12, which co-occurs with nothing: pure popularity order
    const list3 = Array.from(cooccurrence.recommend({ user: user3, atMs: train.endMs, count: 3 }).items, (r) => dataset.items.ids.id(r));
    expect(list3).toEqual(["11", "10", "12"]);
  });

  it("item rates shrink toward the global rate", async () => {
    const { dataset, train } = await fixture();
    const rates = new ItemRateScorer(train, { priorImpressions: 2 });
    const batch = { size: 2, user: new Int32Array(2), item: Int32Array.from([row(dataset, "13"), row(dataset, "10")]), surface: new Int32Array(2), atMs: new Float64Array(2) };
    const click = rates.score(batch).click as Float32Array;
    const global = 5 / 6;
    expect(click[0]).toBeCloseTo((0 + 2 * global) / (1 + 2), 6);
    expect(click[1]).toBeCloseTo((2 + 2 * global) / (2 + 2), 6);
  });
});
