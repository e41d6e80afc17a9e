/**
 * npm run tune -- [--data <dir>] [--train-end YYYYMMDD] [--seed N] [--method bayesian|random|grid|compare]
 *                 [--users N] [--trials RETRIEVAL,VALUE,RANKING,SUGGESTED] [--holdout-share S] [--write <config.json>] [--json <report.json>]
 *
 * The pipeline's tuning step as an interactive tool, over the same code: holds out the last slice of the training
 * window, trains on what comes before it, replays the slice through the funnel and searches the serving config's
 * space (models/serving-config.json `searchSpace`). `--method compare` runs the Bayesian search, random search and
 * the grid on the same replay with the same number of trials, and prints them side by side. Never reads a day after
 * --train-end. `--write` saves the tuned config (for `PUT /v1/admin/config`, or to read); the pipeline tunes every
 * bundle itself, so models/serving-config.json keeps only the defaults and the space.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadDataset } from "../core/data/load";
import { trainingWindow } from "../core/data/split";
import type { TrainingData } from "../core/data/dataset";
import type { ServingConfig } from "../core/config/serving";
import { guardRailDeficit } from "../models/tuning/objective";
import { tuneServingConfig, type TuningMethod, type TuningResult } from "../models/tuning/tune";
import { DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE } from "../models/serving-config";
import { DirectoryDataSource } from "./lib/directory-source";
import { UsageError, runCli } from "./lib/cli";
import { DEFAULT_TUNE_STEP, replayHeldOutSlice } from "./pipeline/tune-step";

const USAGE = "usage: npm run tune -- [--data <dir>] [--train-end YYYYMMDD] [--seed N] [--method bayesian|random|grid|compare] [--users N] [--trials RETRIEVAL,VALUE,RANKING,SUGGESTED] [--holdout-share S] [--write <config.json>] [--json <report.json>]";
const METHODS: readonly TuningMethod[] = ["bayesian", "random", "grid"];

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      seed: { type: "string", default: "1" },
      method: { type: "string", default: "bayesian" },
      users: { type: "string", default: String(DEFAULT_TUNE_STEP.users) },
      trials: { type: "string", default: Object.values(DEFAULT_TUNE_STEP.trials).join(",") },
      "holdout-share": { type: "string", default: String(DEFAULT_TUNE_STEP.holdoutShare) },
      write: { type: "string" },
      json: { type: "string" },
    },
    strict: true,
  });
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError("--seed must be a non-negative integer");
  const methods: readonly TuningMethod[] = values.method === "compare" ? METHODS : METHODS.filter((m) => m === values.method);
  if (methods.length === 0) throw new UsageError("--method must be bayesian, random, grid or compare");
  const trials = values.trials.split(",").map(Number);
  if (trials.length !== 4 || !trials.every((t) => Number.isSafeInteger(t) && t >= 1 && t <= 1000)) throw new UsageError("--trials must be four integers in 1..1000, e.g. 25,40,40,30");
  const started = performance.now();
  const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const window = trainingWindow(dataset, values["train-end"]);
  const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
  const base: ServingConfig = dataset.homeSurfaces.length > 0 ? { ...DEFAULT_SERVING_CONFIG, suggested: { ...DEFAULT_SERVING_CONFIG.suggested, homeSurfaces: [...dataset.homeSurfaces] } } : DEFAULT_SERVING_CONFIG;
  const space = SERVING_CONFIG_SEARCH_SPACE;
  const prepared = await replayHeldOutSlice(dataset, train, base, space, { ...DEFAULT_TUNE_STEP, seed, users: Number(values.users), holdoutShare: Number(values["holdout-share"]), quantization: "dynamic-int8-fp32-dense", log });
  if ("skipped" in prepared) throw new UsageError(prepared.skipped);

  const results: { method: TuningMethod; result: TuningResult }[] = [];
  try {
    for (const method of methods) {
      log(`searching with ${method} (${trials.join(", ")} retrieval, value, ranking and Suggested Posts trials)`);
      results.push({ method, result: await tuneServingConfig({ explore: prepared.replay, suggested: prepared.suggested }, base, space, { method, seed, trials: { retrieval: trials[0] as number, value: trials[1] as number, ranking: trials[2] as number, suggested: trials[3] as number }, log }) });
    }
  } finally {
    await prepared.release();
  }

  const pop = (results[0] as { result: TuningResult }).result.report.popularity;
  console.log(`\n${prepared.holdout.describe}; ${prepared.replay.users.length} users, ${prepared.replay.impressions.size} impressions; popularity NDCG@10 ${pop.ndcg10.toFixed(4)}, R@1000 ${pop.recall1000.toFixed(4)}`);
  console.log("method     trials  R@1000 (×pop)   objective  to near-best  feed NDCG@10 (×pop)  coverage  personal  rail deficit  GAUC−item rate (click / long_view / like)");
  const defaults = (results[0] as { result: TuningResult }).result.report.measures_at_defaults;
  const rows = [{ name: "defaults", trials: "-", objective: "-", near: "-", m: defaults }, ...results.map(({ method, result }) => {
    const ranking = result.report.phases[2];
    return { name: method, trials: trials.join("+"), objective: ranking?.best.value.toFixed(4) ?? "-", near: String(ranking?.trialsToNearBest ?? "-"), m: result.report.measures_tuned };
  })];
  for (const row of rows) {
    const g = row.m.gaucOverItemRate;
    const fmt = (v: number | undefined) => (v === undefined ? "   -   " : `${v >= 0 ? "+" : ""}${v.toFixed(4)}`);
    console.log(`${row.name.padEnd(10)} ${row.trials.padStart(6)}  ${row.m.recall1000.toFixed(4)} (${(row.m.recall1000 / pop.recall1000).toFixed(3)})  ${row.objective.padStart(9)}  ${row.near.padStart(12)}  ${row.m.feedNdcg10.toFixed(4)} (${(row.m.feedNdcg10 / pop.ndcg10).toFixed(3)})     ${row.m.coverage.toFixed(3)}     ${row.m.personalisation.toFixed(3)}     ${guardRailDeficit(row.m).toFixed(4)}       ${fmt(g.click)} / ${fmt(g.long_view)} / ${fmt(g.like)}`);
  }
  const chosen = results[0] as { method: TuningMethod; result: TuningResult };
  if (values.write) {
    await writeFile(values.write, `${JSON.stringify(chosen.result.config, null, 2)}\n`);
    console.log(`wrote the ${chosen.method} search's config to ${values.write}`);
  }
  if (values.json) {
    await writeFile(values.json, `${JSON.stringify({ holdout: prepared.holdout, results: results.map(({ method, result }) => ({ method, report: result.report })) }, null, 2)}\n`);
    console.log(`wrote the reports to ${values.json}`);
  }
});
