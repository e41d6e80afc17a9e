/**
 * Development probe: Suggested Posts' Home terms on the pipeline's held-out slice of a training window (no test day
 * is read), over a small grid of the freshness weight, the media-type excess and the author-similarity weight, beside
 * restricted popularity: what the defaults of `suggested.home` should be.
 *   npx tsx scripts/dev/suggested-home-grid.ts [--train-end D] [--users N] [--data <dir>]
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { trainingWindow } from "../../core/data/split";
import type { TrainingData } from "../../core/data/dataset";
import type { ServingConfig } from "../../core/config/serving";
import { withHomeFreshness } from "../../core/suggested/home-like";
import { DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE } from "../../models/serving-config";
import { DEFAULT_HOLDOUT, chooseHoldout } from "../../models/tuning/holdout";
import { measureSuggested } from "../../models/tuning/suggested-replay";
import { DirectoryDataSource } from "../lib/directory-source";
import { DEFAULT_TUNE_STEP, replayHeldOutSlice } from "../pipeline/tune-step";

const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, "train-end": { type: "string", default: "20220503" }, users: { type: "string", default: "3000" } } });
const dataset = await loadDataset(new DirectoryDataSource(values.data));
const window = trainingWindow(dataset, values["train-end"]);
const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
const base: ServingConfig = dataset.homeSurfaces.length > 0 ? { ...DEFAULT_SERVING_CONFIG, suggested: { ...DEFAULT_SERVING_CONFIG.suggested, homeSurfaces: [...dataset.homeSurfaces] } } : DEFAULT_SERVING_CONFIG;
const prepared = await replayHeldOutSlice(dataset, train, base, SERVING_CONFIG_SEARCH_SPACE, { ...DEFAULT_TUNE_STEP, suggestedUsers: Number(values.users), users: 50, seed: 1, quantization: "dynamic-int8-fp32-dense", embeddingFormat: "i8-row", log: () => {} });
if ("skipped" in prepared) throw new Error(prepared.skipped);
const { suggested } = prepared;
// the freshness table as the replayed bundle would know it: learned from the events before the slice
const holdout = chooseHoldout(train.events, { ...DEFAULT_HOLDOUT, share: DEFAULT_TUNE_STEP.holdoutShare, timezoneOffsetMinutes: dataset.timezoneOffsetMinutes });
const fresh = withHomeFreshness(base, holdout.fit, dataset.items.createdAt);
console.log(`${suggested.users.length} users (${prepared.holdout.describe})`);
for (const [freshnessWeight, maxTypeExcess, authorSimilarityWeight] of [[0, 1, 0], [0.25, 1, 0], [0.5, 1, 0], [1, 1, 0], [0, 0.2, 0], [0, 0.1, 0], [0, 0, 0], [0.1, 0, 0], [0.15, 0, 0], [0.25, 0, 0], [0.1, 0, 0.5], [0.5, 0.1, 0], [0.5, 0.1, 0.5], [1, 0.1, 0.25]] as const) {
  const config: ServingConfig = { ...fresh, suggested: { ...fresh.suggested, home: { ...fresh.suggested.home, freshnessWeight, maxTypeExcess, authorSimilarityWeight } } };
  const m = measureSuggested(suggested, config);
  console.log(`λ ${freshnessWeight} excess ${maxTypeExcess} γ ${authorSimilarityWeight}: R@20 ${m.recall20.toFixed(4)} (pop ${m.popularityRecall20.toFixed(4)}) R@100 ${m.recallList.toFixed(4)} (pop ${m.popularityRecallList.toFixed(4)}) TV ${m.typeMixTv.toFixed(4)} (pop ${m.popularityTypeMixTv.toFixed(4)}) age W1 ${m.ageDistanceHours.toFixed(1)} (pop ${m.popularityAgeDistanceHours.toFixed(1)})`);
}
await prepared.release();
