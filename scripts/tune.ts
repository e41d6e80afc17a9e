/**
 * npm run tune -- [--data <dir>] [--train-end 20220502] [--validation-day 20220503] [--users N] [--write]
 *
 * Tunes the serving config (source weights and quotas, value-model weights) on a validation slice of the
 * training window — a bundle trained through the day before the validation day — never on test days.
 * Prints every candidate's measures beside the baselines; with --write, saves the chosen config to
 * models/serving-config.json, which the pipeline ships in every bundle.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadDataset } from "../core/data/load";
import { splitByDate } from "../core/data/split";
import { DecayedPopularity } from "../core/eval/baselines/popularity";
import { ItemRateScorer } from "../core/eval/baselines/item-rate";
import { trainingData } from "../core/eval/harness";
import { gauc } from "../core/eval/metrics";
import { evaluateFullCatalogue, testPositives } from "../core/eval/protocols";
import { BundleRows } from "../core/eval/systems/bundle-systems";
import { ExploreSystems } from "../core/eval/systems/funnel-systems";
import { parseServingConfig, type ServingConfig } from "../core/funnel/config";
import { createRanker } from "../core/funnel/ranker";
import { scoreItems } from "../core/funnel/stages/second-stage";
import { NO_REALTIME_STATE } from "../core/funnel/types";
import { resolveFeedUser } from "../core/funnel/user";
import { LABELS } from "../core/data/labels";
import { exploreScore } from "../core/ranking/value-model";
import { createRandom } from "../core/util/random";
import defaultConfig from "../models/serving-config.json";
import { createNodeUsearchRuntime } from "./ann/usearch-wasm";
import { runCli } from "./lib/cli";
import { defaultBundleDirectory, ensureBundle } from "./lib/default-bundle";
import { DirectoryDataSource } from "./lib/directory-source";
import { loadBundleDirectory } from "./lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "./onnx/ort-web-node";

const USAGE = "usage: npm run tune -- [--data <dir>] [--train-end YYYYMMDD] [--validation-day YYYYMMDD] [--users N] [--write]";

/**
 * Candidate configs: the retrieval mix and the value model matter independently (recall depends only on the
 * sources; the score's GAUC only on the value model), so sources vary with the current value model, and value
 * models vary with the current sources.
 */
function candidates(base: ServingConfig): { name: string; config: ServingConfig }[] {
  const out: { name: string; config: ServingConfig }[] = [];
  const sourceSets: Record<string, Partial<ServingConfig["retrieval"]["sources"]>> = {
    current: {},
    tower1000: { two_tower: { weight: 1, quota: 1000 } },
    tower1000x2: { two_tower: { weight: 2, quota: 1000 } },
    tower1000x2pop500: { two_tower: { weight: 2, quota: 1000 }, popular: { weight: 1, quota: 500 } },
    towerPopOnly: { two_tower: { weight: 2, quota: 1000 }, history: { weight: 0.5, quota: 200 }, cooccurrence: { weight: 0.5, quota: 100 }, authors: { weight: 0.5, quota: 100 }, graph: { weight: 0.5, quota: 100 } },
  };
  for (const [name, sources] of Object.entries(sourceSets)) {
    out.push({ name: `sources=${name}`, config: { ...base, retrieval: { ...base.retrieval, sources: { ...base.retrieval.sources, ...sources } } } });
  }
  const weightSets: Record<string, ServingConfig["valueModel"]["weights"]> = {
    click: { click: 1, long_view: 0, like: 0, comment: 0, forward: 0, follow: 0, hate: -1 },
    engage: { click: 1, long_view: 0.5, like: 2, comment: 2, forward: 2, follow: 3, hate: -10 },
  };
  for (const [weightName, weights] of Object.entries(weightSets)) {
    for (const saturation of [0, 2, 10, 50]) {
      for (const exponent of saturation === 0 ? [0, 0.5, 1] : [1, 2, 4]) {
        out.push({ name: `value=${weightName} κ=${saturation} α=${exponent}`, config: { ...base, valueModel: { ...base.valueModel, weights, exposureExponent: exponent, exposureSaturation: saturation } } });
      }
    }
  }
  return out;
}

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220502" },
      "validation-day": { type: "string", default: "20220503" },
      users: { type: "string", default: "1500" },
      write: { type: "boolean", default: false },
    },
    strict: true,
  });
  const log = (line: string) => console.error(line);
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["validation-day"], testEnd: values["validation-day"] });
  const train = trainingData(dataset, split);
  const directory = defaultBundleDirectory(values["train-end"]);
  await ensureBundle(directory, values.data, values["train-end"], log);
  const bundle = await loadBundleDirectory(directory);
  const ranker = await createRanker(bundle.manifest, bundle.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  const rows = new BundleRows(dataset, ranker.assets);
  const mtml = ranker.models.mtml;
  if (!mtml) throw new Error("the validation bundle has no usable MTML");

  // users: a seeded sample of those with a click on the validation day
  const positives = testPositives(split.test, ["click"]);
  const clickers = [...(positives.get("click")?.keys() ?? [])].sort((a, b) => a - b);
  const next = createRandom(7);
  for (let i = clickers.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [clickers[i], clickers[j]] = [clickers[j] as number, clickers[i] as number];
  }
  const sample = new Set(clickers.slice(0, Number(values.users)));
  const sampled = new Map([["click" as const, new Map([...(positives.get("click") ?? new Map())].filter(([user]) => sample.has(user)))]]);

  const popularity = await evaluateFullCatalogue(new DecayedPopularity(train), train, sampled);
  const itemRates = new ItemRateScorer(train).score({ size: split.test.size, user: split.test.user, item: split.test.item, surface: split.test.surface, atMs: split.test.ts });
  const itemRateGauc = gauc(split.test.user, itemRates.click as Float32Array, split.test.labels.click as Uint8Array) ?? 0;
  log(`validation ${values["validation-day"]}: ${sample.size} users; popularity R@1000 ${popularity.click?.["recall@1000"].toFixed(4)} NDCG@10 ${popularity.click?.["ndcg@10"].toFixed(4)}; item-rate click GAUC ${itemRateGauc.toFixed(4)}`);

  // MTML probabilities of every validation impression, once: value-model variants only recombine them
  const probabilities = new Float32Array(split.test.size * LABELS.length);
  const byUser = new Map<number, number[]>();
  for (let i = 0; i < split.test.size; i++) if ((rows.itemToBundle[split.test.item[i] as number] as number) >= 0) byUser.set(split.test.user[i] as number, [...(byUser.get(split.test.user[i] as number) ?? []), i]);
  const base = parseServingConfig(defaultConfig, "models/serving-config.json");
  for (const [user, positions] of byUser) {
    const bundleRow = rows.userToBundle[user] as number;
    const feedUser = resolveFeedUser(ranker.assets, bundleRow >= 0 ? ranker.assets.users.ids.id(bundleRow) : `unknown-${user}`, NO_REALTIME_STATE, base);
    const scored = await scoreItems(ranker.assets, mtml, feedUser.context, positions.map((p) => rows.itemToBundle[split.test.item[p] as number] as number), positions.map((p) => split.test.surface[p] as number), ranker.assets.asOfMs, base.valueModel);
    positions.forEach((p, r) => probabilities.set(scored.probabilities.subarray(r * LABELS.length, (r + 1) * LABELS.length), p * LABELS.length));
  }

  const results: { name: string; config: ServingConfig; recall1000: number; ndcg10: number; gauc: number }[] = [];
  for (const { name, config } of candidates(base)) {
    const explore = new ExploreSystems(rows, ranker, config);
    const retrieval = await evaluateFullCatalogue(explore.retrieval(), train, sampled);
    const feed = await evaluateFullCatalogue(explore.explore(), train, sampled);
    const values = Float32Array.from({ length: split.test.size }, (_, i) => {
      const item = rows.itemToBundle[split.test.item[i] as number] as number;
      return item < 0 ? 0 : exploreScore(config.valueModel, probabilities.subarray(i * LABELS.length, (i + 1) * LABELS.length), 0, ranker.assets.itemCounters.decayedImpressions[item] as number);
    });
    const result = { name, config, recall1000: retrieval.click?.["recall@1000"] ?? 0, ndcg10: feed.click?.["ndcg@10"] ?? 0, gauc: gauc(split.test.user, values, split.test.labels.click as Uint8Array) ?? 0 };
    results.push(result);
    console.log(`${name.padEnd(32)} retrieval R@1000 ${result.recall1000.toFixed(4)} (${(result.recall1000 / (popularity.click?.["recall@1000"] ?? 1)).toFixed(3)}× pop)  feed NDCG@10 ${result.ndcg10.toFixed(4)} (${(result.ndcg10 / (popularity.click?.["ndcg@10"] ?? 1)).toFixed(3)}× pop)  score click GAUC ${result.gauc.toFixed(4)} (${(result.gauc - itemRateGauc >= 0 ? "+" : "")}${(result.gauc - itemRateGauc).toFixed(4)} vs item rate)`);
  }

  // sources: the best retrieval recall; value model: the best feed NDCG among those with score GAUC ≥ item rate + 0.02
  const bestSources = results.filter((r) => r.name.startsWith("sources=")).reduce((best, r) => (r.recall1000 > best.recall1000 ? r : best));
  const values_ = results.filter((r) => r.name.startsWith("value="));
  const admissible = values_.filter((r) => r.gauc >= itemRateGauc + 0.02);
  const bestValue = (admissible.length > 0 ? admissible : values_).reduce((best, r) => (r.ndcg10 > best.ndcg10 ? r : best));
  const chosen: ServingConfig = { ...base, retrieval: bestSources.config.retrieval, valueModel: bestValue.config.valueModel };
  console.log(`chosen: ${bestSources.name}, ${bestValue.name}${admissible.length === 0 ? " (no value model met the GAUC margin; best feed NDCG overall)" : ""}`);
  if (values.write) {
    await writeFile("models/serving-config.json", `${JSON.stringify(chosen, null, 2)}\n`);
    console.log("wrote models/serving-config.json");
  }
});
