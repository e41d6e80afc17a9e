// The pipeline and the evaluation end to end on a data set of another shape than KuaiRand: years of history with
// sparse days, a few hundred users, no user features, three labels (scripts/data/synthetic-sparse.ts). Every step
// must work there, tune on a slice cut between events rather than on a calendar day, and the feed must beat
// popularity on the days after the window.
import { access, mkdir, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticSparseDataset } from "../../../scripts/data/synthetic-sparse";
import { BUNDLE_SOURCES, sourceHash } from "../../../scripts/lib/source-hash";
import { run } from "../../support/fixture-bundle";

interface CatalogueMetrics {
  readonly "recall@1000": number;
  readonly "ndcg@10": number;
}
interface EvalReport {
  readonly full_catalogue: Record<string, Record<string, CatalogueMetrics> & { coverage: number; "personalisation@10": number }>;
  readonly impressions: Record<string, Record<string, { gauc: number }>>;
  readonly measures: Record<string, number>;
}
interface Manifest {
  readonly tuning: { readonly status: string; readonly holdout: { readonly cut_ms: number; readonly share: number } };
  readonly models: { readonly mtml: { readonly one_user_file?: string } };
}

/** Trained through the end of August 2022; the test window is the four sparse months after it. */
const TRAIN_END = "20220831";
let report: EvalReport;
let manifest: Manifest;

beforeAll(async () => {
  const root = join(tmpdir(), `explore-edge-ranker-sparse-${await sourceHash([...BUNDLE_SOURCES, "scripts/data/synthetic-sparse.ts"], `synthetic-sparse ${TRAIN_END} seed 1`)}`);
  const bundle = join(root, "bundle");
  const data = join(root, "data");
  if (!(await access(join(bundle, "manifest.json")).then(() => true, () => false))) {
    const building = `${root}.building-${process.pid}`;
    await rm(building, { recursive: true, force: true });
    await mkdir(building, { recursive: true });
    await writeSyntheticSparseDataset(join(building, "data"));
    await run(["--import", "tsx", "scripts/pipeline.ts", "--data", join(building, "data"), "--train-end", TRAIN_END, "--out", join(building, "bundle"), "--seed", "1"]);
    await rename(building, root).catch(async () => rm(building, { recursive: true, force: true }));
  }
  manifest = JSON.parse(await readFile(join(bundle, "manifest.json"), "utf8")) as Manifest;
  const json = join(tmpdir(), `explore-edge-ranker-sparse-eval-${process.pid}.json`);
  await run(["--import", "tsx", "scripts/eval.ts", "--data", data, "--train-end", TRAIN_END, "--test-start", "20220901", "--bundle", bundle, "--systems", "bars", "--json", json]);
  report = JSON.parse(await readFile(json, "utf8")) as EvalReport;
  await rm(json, { force: true });
}, 15 * 60_000);

describe("on a synthetic data set with sparse days and no user features", () => {
  it("the pipeline tunes on a held-out slice cut by share of events, not the last calendar day", () => {
    expect(manifest.tuning.status).toBe("tuned");
    // a fifth of the events (the default share), which on sparse days reaches months back, not one calendar day
    expect(manifest.tuning.holdout.share).toBeGreaterThan(0.1);
    expect(manifest.tuning.holdout.share).toBeLessThan(0.4);
    expect(Date.parse("2022-09-01T00:00:00Z") - manifest.tuning.holdout.cut_ms).toBeGreaterThan(30 * 86_400_000);
    // without user features (nor a user id embedding) the MTML has no user side to project once per request
    expect(manifest.models.mtml.one_user_file).toBeUndefined();
  });

  it("the Explore feed beats popularity, and retrieval reaches further", () => {
    const popularity = report.full_catalogue.popularity?.click as CatalogueMetrics;
    expect(report.full_catalogue.explore?.click?.["ndcg@10"]).toBeGreaterThan(popularity["ndcg@10"]);
    expect(report.full_catalogue.explore_retrieval?.click?.["recall@1000"]).toBeGreaterThan(popularity["recall@1000"]);
    expect(report.full_catalogue.explore?.["personalisation@10"]).toBeGreaterThanOrEqual(0.85);
  });

  it("the value model orders what users were shown better than item rates", () => {
    for (const label of ["click", "long_view", "like"]) expect(report.impressions.explore_score?.[label]?.gauc, label).toBeGreaterThan(report.impressions.item_rate?.[label]?.gauc as number);
  });

  it("Suggested Posts beat restricted popularity", () => {
    expect(report.measures["suggested_unfollowed_recall@20_click"]).toBeGreaterThan(report.measures["popularity_unfollowed_recall@20_click"] as number);
  });
});
