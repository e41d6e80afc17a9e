// The quality bars of the models and the Explore funnel, on the real data set and the default split, measured by
// the real commands: `npm run pipeline` builds the bundle (cached per code version in the temp directory), then
// `npm run eval -- --json` measures it. The pipeline is seeded, so these numbers only move when the code does.
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../../support/fixture-bundle";
import { realDataBundle } from "../../support/real-bundle";

interface CatalogueMetrics {
  readonly "recall@100": number;
  readonly "recall@1000": number;
  readonly "ndcg@10": number;
}
interface PairMetrics {
  readonly auc: number;
  readonly gauc: number;
  readonly "replay_ndcg@10": number;
}
interface EvalReport {
  readonly full_catalogue: Record<string, Record<string, CatalogueMetrics>>;
  readonly impressions: Record<string, Record<string, PairMetrics>>;
  readonly measures: Record<string, number>;
}

let report: EvalReport;

beforeAll(async () => {
  const bundle = await realDataBundle();
  const json = join(tmpdir(), `explore-edge-ranker-eval-${process.pid}.json`);
  await run(["--import", "tsx", "scripts/eval.ts", "--bundle", bundle, "--no-suggested", "--json", json]);
  report = JSON.parse(await readFile(json, "utf8")) as EvalReport;
  await rm(json, { force: true });
}, 25 * 60_000);

describe("on the real data set (train ..20220503, test 20220504..06)", () => {
  it("the baselines match the values the foundation issue measured (a wrong metric would move them)", () => {
    const popularity = report.full_catalogue.popularity?.click;
    expect(popularity?.["recall@100"]).toBeCloseTo(0.22, 1);
    expect(popularity?.["recall@1000"]).toBeCloseTo(0.7, 1);
    expect(popularity?.["ndcg@10"]).toBeGreaterThan(0.02);
    expect(popularity?.["ndcg@10"]).toBeLessThan(0.035);
    expect(report.impressions.item_rate?.click?.auc).toBeCloseTo(0.67, 1);
    expect(report.impressions.random?.click?.["replay_ndcg@10"]).toBeCloseTo(0.81, 1);
    expect(report.impressions.item_rate?.click?.["replay_ndcg@10"]).toBeCloseTo(0.85, 1);
  });

  it("the MTML reaches the PyTorch MMoE's AUCs on new days", () => {
    const mtml = report.impressions.mtml;
    expect(mtml?.click?.auc).toBeGreaterThanOrEqual(0.735);
    expect(mtml?.long_view?.auc).toBeGreaterThanOrEqual(0.735);
    expect(mtml?.like?.auc).toBeGreaterThanOrEqual(0.82);
    // rare labels still learn: better than chance
    for (const label of ["comment", "forward", "follow", "hate"]) expect(mtml?.[label]?.auc, label).toBeGreaterThan(0.55);
  });

  it("the two-tower retrieves, and the first stage keeps what the second stage would", () => {
    expect(report.full_catalogue.two_tower?.click?.["recall@100"]).toBeGreaterThanOrEqual(0.17);
    expect(report.measures.first_stage_fidelity).toBeGreaterThanOrEqual(0.6);
  });

  it("the funnel beats popularity where the Explore issue asks it to", () => {
    const popularity = report.full_catalogue.popularity?.click as CatalogueMetrics;
    expect(report.full_catalogue.explore_retrieval?.click?.["recall@1000"]).toBeGreaterThanOrEqual(1.05 * popularity["recall@1000"]);
    expect(report.impressions.explore_score?.click?.gauc).toBeGreaterThanOrEqual((report.impressions.item_rate?.click?.gauc as number) + 0.015);
    expect(report.measures.funnel_fidelity).toBeGreaterThanOrEqual(0.8);
    expect(report.full_catalogue.explore?.click?.["ndcg@10"]).toBeGreaterThanOrEqual(0.9 * popularity["ndcg@10"]);
  });
});
