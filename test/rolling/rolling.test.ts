// The feed on days nobody tuned it on: `npm run eval -- --rolling` builds one bundle per window of the shipped data
// (trained through 04-30, 05-02 and 05-04, each tuned by its own pipeline on the last slice of its own window) and
// measures each on the two days after it. The bars are the ones the rolling evaluation prints (scripts/eval/rolling.ts);
// the bundles are cached per code version in the temp directory.
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROLLING_BARS, type WindowSummary } from "../../scripts/eval/rolling";
import { sourceHash } from "../../scripts/lib/source-hash";
import { run } from "../support/fixture-bundle";

let windows: WindowSummary[];

beforeAll(async () => {
  const root = join(tmpdir(), `explore-edge-ranker-rolling-${await sourceHash(undefined, "rolling kuairand-pure")}`);
  const json = join(tmpdir(), `explore-edge-ranker-rolling-${process.pid}.json`);
  await run(["--import", "tsx", "scripts/eval.ts", "--rolling", "--bundle-root", root, "--json", json]);
  windows = (JSON.parse(await readFile(json, "utf8")) as { windows: WindowSummary[] }).windows;
  await rm(json, { force: true });
}, 40 * 60_000);

describe("on every rolling window of the shipped data", () => {
  it("covers at least three windows, training through 05-04 among them", () => {
    expect(windows.length).toBeGreaterThanOrEqual(3);
    expect(windows.map((w) => w.train_end)).toContain("20220504");
  });

  it("the feed beats decayed popularity on every window and on average, and its own retrieval order", () => {
    for (const w of windows) {
      expect(w.feed_over_popularity, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.feedOverPopularity);
      expect(w.feed_over_retrieval, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.feedOverRetrieval);
    }
    const mean = windows.reduce((sum, w) => sum + w.feed_over_popularity, 0) / windows.length;
    expect(mean).toBeGreaterThanOrEqual(ROLLING_BARS.meanFeedOverPopularity);
  });

  it("retrieval recalls more at 1,000 than popularity", () => {
    for (const w of windows) expect(w.retrieval_recall1000_over_popularity, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.retrievalRecallOverPopularity);
  });

  it("the feed stays personal", () => {
    for (const w of windows) {
      expect(w.coverage, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.coverage);
      expect(w.personalisation, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.personalisation);
    }
  });

  it("the value model orders clicks and long views among what users were shown better than item rates", () => {
    for (const w of windows) {
      expect(w.gauc_over_item_rate.click, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.gaucOverItemRate.click as number);
      expect(w.gauc_over_item_rate.long_view, w.train_end).toBeGreaterThanOrEqual(ROLLING_BARS.gaucOverItemRate.long_view as number);
    }
  });

  it("Suggested Posts recall more clicks on unfollowed authors than restricted popularity, at 20 and at 100", () => {
    for (const w of windows) {
      expect(w.suggested_recall20, w.train_end).toBeGreaterThanOrEqual(w.popularity_recall20);
      expect(w.suggested_recall_list, w.train_end).toBeGreaterThanOrEqual(w.popularity_recall_list);
    }
  });
});
