/**
 * Development measurement: should the Explore feed rank with the maps of calibration from feedback
 * (`calibration.feedbackInRanking`), or only report its probabilities through them? The maps are fitted as the
 * trending object fits them, on the MTML's predictions and outcomes of the first test day's impressions (every hour
 * of it closed), and the feed is then ranked with and without them and measured on the later test days only, so no
 * outcome the maps read is scored. Beside them: decayed popularity and the feed's own retrieval order.
 *   npx tsx scripts/dev/feedback-ranking.ts --bundle <dir> [--train-end D --fit-day D+1 --test-start D+2 --test-end D'] [--data <dir>]
 */
import { parseArgs } from "node:util";
import { LABELS, type Label } from "../../core/data/labels";
import { splitByDate } from "../../core/data/split";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import { evaluate, trainingData } from "../../core/eval/harness";
import { MtmlPairScorer } from "../../core/eval/systems/bundle-systems";
import { ExploreSystems } from "../../core/eval/systems/funnel-systems";
import { FeedbackCalibration, feedbackMaps } from "../../core/ranking/feedback-calibration";
import type { BundleModels } from "../../core/serving/bundle-models";
import { openBundleWindow } from "./bundle-window";

const { values } = parseArgs({
  options: {
    bundle: { type: "string" },
    data: { type: "string", default: "data/kuairand-pure" },
    "train-end": { type: "string", default: "20220503" },
    "fit-day": { type: "string", default: "20220504" },
    "test-start": { type: "string", default: "20220505" },
    "test-end": { type: "string", default: "20220506" },
  },
});
const { dataset, split, bundle, rows, release } = await openBundleWindow(values.data, values.bundle, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
const fitDay = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["fit-day"], testEnd: values["fit-day"] }).test;

// the fit day's impressions scored by the served MTML, folded as the trending object folds closed hours
const scorer = new MtmlPairScorer(rows, bundle.models as BundleModels);
const calibrations = new Map<Label, FeedbackCalibration>(LABELS.map((label) => [label, new FeedbackCalibration()]));
const BATCH = 2_000;
for (let start = 0; start < fitDay.size; start += BATCH) {
  const end = Math.min(fitDay.size, start + BATCH);
  const batch = { size: end - start, user: fitDay.user.subarray(start, end), item: fitDay.item.subarray(start, end), surface: fitDay.surface.subarray(start, end), atMs: fitDay.ts.subarray(start, end) };
  const scores = await scorer.score(batch);
  for (const label of LABELS) {
    const column = scores[label];
    if (!column) continue;
    for (let i = 0; i < batch.size; i++) calibrations.get(label)?.observe(fitDay.ts[start + i] as number, column[i] as number, ((fitDay.labels[label]?.[start + i] ?? 0) as number) > 0);
  }
}
// in force at the start of the test window: every hour of the fit day is closed an hour after it ends
const maps = feedbackMaps(calibrations, split.testStartMs + 3_600_000);
console.log(`maps fitted on ${values["fit-day"]} (${fitDay.size} impressions): ${JSON.stringify(maps)}`);

const config = bundle.tables.config;
const plain = new ExploreSystems(rows, bundle, config);
const ranked = new ExploreSystems(rows, bundle, config, maps);
const train = trainingData(dataset, split);
const report = await evaluate(dataset, split, {
  recommenders: [new DecayedPopularity(train), plain.retrieval(), { ...plain.explore(), name: "explore" }, { ...ranked.explore(), name: "explore_feedback_ranked" }],
  scorers: [],
});
for (const [name, result] of Object.entries(report.full_catalogue)) {
  const ndcg = (label: "click" | "long_view" | "like") => result[label]?.["ndcg@10"]?.toFixed(4) ?? "—";
  console.log(`${name.padEnd(26)} NDCG@10 click ${ndcg("click")} long view ${ndcg("long_view")} like ${ndcg("like")}  coverage@100 ${result.coverage.toFixed(3)} personalisation@10 ${result["personalisation@10"].toFixed(3)}`);
}
await release();
