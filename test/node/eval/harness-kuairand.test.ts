import { describe, expect, it } from "vitest";
import { loadDataset, splitByDate } from "../../../core/data";
import { baselineSystems, evaluate, trainingData } from "../../../core/eval/harness";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";

// The sanity values for the default split, measured independently: a harness far from them has a wrong metric.
describe("baselines on the real KuaiRand-Pure data, default split", () => {
  it("reproduce the reference measurements", async () => {
    const dataset = await loadDataset(new DirectoryDataSource("data/kuairand-pure"));
    expect(dataset.events.size).toBe(198_895);
    expect(dataset.items.ids.size).toBe(7_583);
    const unsorted = dataset.events.ts.findIndex((ts, i) => i > 0 && ts < dataset.events.ts[i - 1]!);
    expect(unsorted).toBe(-1);
    const split = splitByDate(dataset, { trainEnd: "20220503", testStart: "20220504" });
    const report = await evaluate(dataset, split, baselineSystems(trainingData(dataset, split)));
    const popularity = report.full_catalogue.popularity!;
    expect(popularity.click!["recall@100"]).toBeGreaterThan(0.2);
    expect(popularity.click!["recall@100"]).toBeLessThan(0.245);
    expect(popularity.click!["recall@1000"]).toBeGreaterThan(0.67);
    expect(popularity.click!["recall@1000"]).toBeLessThan(0.73);
    expect(popularity.click!["ndcg@10"]).toBeGreaterThan(0.024);
    expect(popularity.click!["ndcg@10"]).toBeLessThan(0.032);
    expect(report.impressions.item_rate!.click!.auc).toBeGreaterThan(0.65);
    expect(report.impressions.item_rate!.click!.auc).toBeLessThan(0.69);
    expect(report.impressions.random!.click!["replay_ndcg@10"]).toBeGreaterThan(0.79);
    expect(report.impressions.random!.click!["replay_ndcg@10"]).toBeLessThan(0.83);
    expect(report.impressions.item_rate!.click!["replay_ndcg@10"]).toBeGreaterThan(0.83);
    expect(report.impressions.item_rate!.click!["replay_ndcg@10"]).toBeLessThan(0.87);
  }, 120_000);
});
