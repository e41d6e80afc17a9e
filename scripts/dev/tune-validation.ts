/**
 * Development experiment: does the tuner's point hold on held-out data it did not search on? Replays the pipeline's
 * held-out slice, searches on one part and compares the found point with the defaults on the other: split by user
 * (two disjoint halves of the sampled users, same days) and by time (positives of the slice's first half, then of its
 * second half). Training-window data only.
 *   npx tsx scripts/dev/tune-validation.ts [--train-end D] [--users N] [--data <dir>]
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { trainingWindow } from "../../core/data/split";
import type { TrainingData } from "../../core/data/dataset";
import { DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE } from "../../models/serving-config";
import { DEFAULT_HOLDOUT, chooseHoldout } from "../../models/tuning/holdout";
import { measureFeed } from "../../models/tuning/objective";
import type { Replay } from "../../models/tuning/replay";
import { popularityMeasures, tuneServingConfig } from "../../models/tuning/tune";
import { DirectoryDataSource } from "../lib/directory-source";
import { DEFAULT_TUNE_STEP, replayHeldOutSlice } from "../pipeline/tune-step";
import type { ServingConfig } from "../../core/config/serving";

const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, "train-end": { type: "string", default: "20220503" }, users: { type: "string", default: "4000" } } });
const dataset = await loadDataset(new DirectoryDataSource(values.data));
const trainEnd = values["train-end"];
const window = trainingWindow(dataset, trainEnd);
const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
const log = (line: string) => console.log(line);
const prepared = await replayHeldOutSlice(dataset, train, DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE, { ...DEFAULT_TUNE_STEP, users: Number(values.users), seed: 1, quantization: "dynamic-int8-fp32-dense", embeddingFormat: "i8-row", log: () => {} });
if ("skipped" in prepared) throw new Error(prepared.skipped);
const { replay } = prepared;

// the slice's clicks with their times, to split positives at the slice's middle instant
const holdout = chooseHoldout(train.events, { ...DEFAULT_HOLDOUT, share: DEFAULT_TUNE_STEP.holdoutShare, timezoneOffsetMinutes: dataset.timezoneOffsetMinutes });
const heldOut = holdout.heldOut;
const midMs = heldOut.ts[Math.floor(heldOut.size / 2)] as number;
const early = new Map<number, Set<number>>();
const late = new Map<number, Set<number>>();
for (let i = 0; i < heldOut.size; i++) {
  if (!heldOut.labels.click?.[i]) continue;
  const target = (heldOut.ts[i] as number) < midMs ? early : late;
  const user = heldOut.user[i] as number;
  let set = target.get(user);
  if (!set) target.set(user, (set = new Set()));
  set.add(heldOut.item[i] as number);
}
const withPositives = (from: Replay, positives: Map<number, Set<number>>): Replay => ({ ...from, users: from.users.flatMap((user) => (positives.get(user.datasetUser)?.size ? [{ ...user, positives: positives.get(user.datasetUser) as Set<number> }] : [])) });
const half = Math.floor(replay.users.length / 2);
const parts: readonly (readonly [string, Replay, Replay])[] = [
  ["by user", { ...replay, users: replay.users.slice(0, half) }, { ...replay, users: replay.users.slice(half) }],
  ["by time", withPositives(replay, early), withPositives(replay, late)],
];
const report = (name: string, on: Replay, config: ServingConfig) => {
  const pop = popularityMeasures(on);
  const m = measureFeed(on, config);
  return `${name} ${(m.feedNdcg10 / pop.ndcg10).toFixed(3)}× (cov ${m.coverageAtPopulation.toFixed(3)}, pers ${m.personalisation.toFixed(3)})`;
};
for (const [name, search, check] of parts) {
  const { config } = await tuneServingConfig({ explore: search }, DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE, { ...DEFAULT_TUNE_STEP, seed: 1 });
  log(`${name}: ${search.users.length} users searched, ${check.users.length} checked`);
  log(`  searched part: ${report("defaults", search, DEFAULT_SERVING_CONFIG)}; ${report("tuned", search, config)}`);
  log(`  checked part:  ${report("defaults", check, DEFAULT_SERVING_CONFIG)}; ${report("tuned", check, config)}`);
}
await prepared.release();
