/**
 * npm run eval -- --data <dir> --train-end <YYYYMMDD> --test-start <YYYYMMDD> [--test-end <YYYYMMDD>] [--json <file>]
 *
 * Measures every system on one split, beside the baselines, with both protocols of core/eval.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadDataset } from "../core/data/load";
import { splitByDate } from "../core/data/split";
import { baselineSystems, evaluate, trainingData, type Systems } from "../core/eval/harness";
import { formatReport } from "../core/eval/report";
import { testPositives, CATALOGUE_LABELS } from "../core/eval/protocols";
import { BundleRows, FirstStageRecommender, MtmlPairScorer, TwoTowerRecommender, firstStageFidelity } from "../core/eval/systems/bundle-systems";
import { RankerAssets } from "../core/serving/ranker-assets";
import { releaseRankerModels, type RankerModels } from "../core/serving/ranker-models";
import { SOURCE_NAMES } from "../core/funnel/config";
import { createRanker } from "../core/funnel/ranker";
import { ExploreSystems } from "../core/eval/systems/funnel-systems";
import { SuggestedSystems, type SuggestedMeasures } from "../core/eval/systems/suggested-systems";
import { DecayedPopularity } from "../core/eval/baselines/popularity";
import { createNodeUsearchRuntime } from "./ann/usearch-wasm";
import { DirectoryDataSource } from "./lib/directory-source";
import { defaultBundleDirectory, ensureBundle } from "./lib/default-bundle";
import { loadBundleDirectory } from "./lib/kv-bundle-directory";
import { UsageError, runCli } from "./lib/cli";
import { createNodeOrtWebAdapter } from "./onnx/ort-web-node";

const USAGE = "usage: npm run eval -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD] [--bundle <dir> | --no-bundle] [--no-suggested] [--suggested-count <n>] [--json <file>]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      "test-start": { type: "string", default: "20220504" },
      "test-end": { type: "string" },
      json: { type: "string" },
      bundle: { type: "string" },
      "no-bundle": { type: "boolean", default: false },
      "fidelity-users": { type: "string", default: "500" },
      "funnel-fidelity-users": { type: "string", default: "300" },
      // Suggested Posts (`suggested`): about a minute on the default split; --no-suggested skips it
      "no-suggested": { type: "boolean", default: false },
      "suggested-count": { type: "string", default: "100" },
    },
    strict: true,
  });
  const started = performance.now();
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
  const loadSeconds = (performance.now() - started) / 1000;
  console.error(`loaded ${values.data} in ${loadSeconds.toFixed(1)} s`);

  const train = trainingData(dataset, split);
  const baselines = baselineSystems(train);
  const onSystemDone = (kind: string, name: string, seconds: number): void => console.error(`  ${kind} ${name}: ${seconds.toFixed(1)} s`);
  const report = await evaluate(dataset, split, baselines, { onSystemDone });
  // The baselines take seconds and the models minutes: show them now, and once more beside the models at the end.
  if (!values["no-bundle"]) console.error(`\nBaselines (${((performance.now() - started) / 1000).toFixed(0)} s); the models and the funnel follow.\n${formatReport(report)}\n`);
  const systems: Systems = { recommenders: [], scorers: [] };
  const measures: Record<string, number> = {};
  let release = async () => {};
  let suggested: SuggestedSystems | undefined;
  if (!values["no-bundle"]) {
    const directory = values.bundle ?? defaultBundleDirectory(split.trainEnd);
    if (!values.bundle) await ensureBundle(directory, values.data, split.trainEnd, (line) => console.error(line));
    const bundle = await loadBundleDirectory(directory);
    const assets = RankerAssets.decode(bundle.manifest, bundle.files);
    if (assets.manifest.data.train_end !== split.trainEnd) {
      throw new UsageError(`--bundle ${directory} was trained through ${assets.manifest.data.train_end}, but this split trains through ${split.trainEnd}`);
    }
    const ranker = await createRanker(bundle.manifest, bundle.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
    if (ranker.problems.length > 0) throw new Error(`bundle ${directory} is not fully usable: ${ranker.problems.join("; ")}`);
    const models = ranker.models as RankerModels;
    release = () => releaseRankerModels(models);
    const rows = new BundleRows(dataset, ranker.assets);
    const explore = new ExploreSystems(rows, ranker, ranker.assets.config);
    systems.recommenders.push(explore.retrieval(), ...SOURCE_NAMES.map((name) => explore.source(name)), explore.explore());
    systems.scorers.push(explore.score());
    systems.scorers.push(new MtmlPairScorer(rows, models));
    systems.recommenders.push(new TwoTowerRecommender(rows, models), new FirstStageRecommender(rows, models));
    if (!values["no-suggested"]) {
      suggested = new SuggestedSystems(rows, ranker, ranker.assets.config, { count: Number(values["suggested-count"]) });
      systems.recommenders.push(suggested.recommender());
    }
    console.error(`bundle ${assets.version} from ${directory} (mtml ${assets.manifest.models.mtml.quantization})`);
    const fidelityStarted = performance.now();
    const positives = testPositives(split.test, CATALOGUE_LABELS);
    const testUsers = [...new Set([...positives.values()].flatMap((byUser) => [...byUser.keys()]))].sort((a, b) => a - b);
    const fidelity = await firstStageFidelity(rows, models, testUsers, { sample: Number(values["fidelity-users"]), keep: assets.config.firstStage.keep, poolPerSource: 1000, seed: 1 });
    measures.first_stage_fidelity = fidelity.fidelity;
    measures.first_stage_fidelity_users = fidelity.users;
    measures.first_stage_fidelity_mean_pool = fidelity.meanPool;
    console.error(`  first_stage_fidelity over ${fidelity.users} users: ${((performance.now() - fidelityStarted) / 1000).toFixed(1)} s`);
    const funnelStarted = performance.now();
    const funnel = await explore.funnelFidelity(testUsers, Number(values["funnel-fidelity-users"]));
    measures.funnel_fidelity = funnel.fidelity;
    measures.funnel_fidelity_users = funnel.users;
    console.error(`  funnel_fidelity over ${funnel.users} users: ${((performance.now() - funnelStarted) / 1000).toFixed(1)} s`);
  }
  if (systems.recommenders.length + systems.scorers.length > 0) {
    const models = await evaluate(dataset, split, systems, { onSystemDone });
    Object.assign(report.full_catalogue, models.full_catalogue);
    Object.assign(report.impressions, models.impressions);
    Object.assign(report.seconds, models.seconds);
  }
  Object.assign(report.measures, measures);
  let suggestedMeasures: SuggestedMeasures | undefined;
  if (suggested) {
    const suggestedStarted = performance.now();
    const popularity = baselines.recommenders.find((system): system is DecayedPopularity => system instanceof DecayedPopularity) ?? new DecayedPopularity(train);
    suggestedMeasures = await suggested.measures(train, split.test, popularity.order);
    Object.assign(report.measures, flattenSuggestedMeasures(suggestedMeasures));
    console.error(`  suggested measures over ${suggestedMeasures.users} users: ${((performance.now() - suggestedStarted) / 1000).toFixed(1)} s`);
  }
  await release();
  report.seconds.load = loadSeconds;
  report.seconds.total = (performance.now() - started) / 1000;
  console.log(formatReport(report));
  if (values.json) {
    await writeFile(values.json, `${JSON.stringify(suggestedMeasures ? { ...report, suggested: suggestedMeasures } : report, null, 2)}\n`);
    console.error(`wrote ${values.json}`);
  }
});

/** Suggested Posts' measures as flat report measures: `suggested_…` for the suggestions, `popularity_…` for restricted popularity. */
function flattenSuggestedMeasures(m: SuggestedMeasures): Record<string, number> {
  const out: Record<string, number> = { suggested_users: m.users, suggested_mean_list_length: m.mean_list_length, suggested_degraded_users: m.degraded_users };
  for (const [label, r] of Object.entries(m.recall)) {
    out[`suggested_unfollowed_recall@20_${label}`] = r.suggested_at_page;
    out[`popularity_unfollowed_recall@20_${label}`] = r.popularity_at_page;
    out[`suggested_unfollowed_recall@list_${label}`] = r.suggested_at_list;
    out[`popularity_unfollowed_recall@list_${label}`] = r.popularity_at_list;
    out[`suggested_unfollowed_users_${label}`] = r.users;
  }
  out.suggested_home_neighbour_fraction = m.home_neighbour_fraction;
  out.popularity_home_neighbour_fraction = m.popularity_home_neighbour_fraction;
  out.suggested_home_neighbour_users = m.home_neighbour_users;
  for (const [source, share] of Object.entries(m.share)) out[`suggested_share_${source}`] = share;
  return out;
}
