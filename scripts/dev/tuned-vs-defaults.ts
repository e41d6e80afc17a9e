/**
 * Development probe: a tuned bundle's serving config against the shipped defaults on a test window, phase by phase,
 * through the tuner's replay (the defaults with one phase's knobs taken from the tuned config, then all of them).
 * Diagnosis only: it reads test days, so nothing it prints may choose a config.
 *   npx tsx scripts/dev/tuned-vs-defaults.ts --bundle <dir> --train-end D --test-start D' [--test-end D''] [--users N]
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { splitByDate } from "../../core/data/split";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import { trainingData } from "../../core/eval/harness";
import { BundleRows } from "../../core/eval/systems/bundle-systems";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { measureFeed, measureRetrieval } from "../../models/tuning/objective";
import { buildReplay } from "../../models/tuning/replay";
import { applyPoint, pointOf, popularityMeasures, type TuningPhase } from "../../models/tuning/tune";
import { DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE } from "../../models/serving-config";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { DirectoryDataSource } from "../lib/directory-source";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createOnnxruntimeNodeAdapter } from "../onnx/ort-node";
import type { ServingConfig } from "../../core/config/serving";

const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, bundle: { type: "string" }, "train-end": { type: "string" }, "test-start": { type: "string" }, "test-end": { type: "string" }, users: { type: "string", default: "2000" } } });
const dataset = await loadDataset(new DirectoryDataSource(values.data));
const split = splitByDate(dataset, { trainEnd: values["train-end"] as string, testStart: values["test-start"] as string, testEnd: values["test-end"] });
const train = trainingData(dataset, split);
const bundleFiles = await loadBundleDirectory(values.bundle as string);
const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createOnnxruntimeNodeAdapter(), createNodeUsearchRuntime());
const rows = new BundleRows(dataset, bundle.tables);
const tuned = bundle.tables.config;
const defaults = DEFAULT_SERVING_CONFIG;
const space = SERVING_CONFIG_SEARCH_SPACE;
const maxQuotas = Object.fromEntries(space.retrieval.filter((d) => d.path.endsWith(".quota")).map((d) => [d.path.split(".")[2] as string, d.high]));
const replay = await buildReplay(bundle, defaults, split.test, { toBundleUser: (u) => rows.userToBundle[u] as number, toBundleItem: (i) => rows.itemToBundle[i] as number }, (items) => new Float32Array(items.length * 7), Int32Array.from(new DecayedPopularity(train).order, (i) => rows.itemToBundle[i] as number), { users: Number(values.users), seed: 1, maxQuotas, count: 100 });
const pop = popularityMeasures(replay);
console.log(`${replay.users.length} users; popularity NDCG@10 ${pop.ndcg10.toFixed(4)}`);
const withPhases = (phases: readonly TuningPhase[]): ServingConfig => phases.reduce((config, phase) => applyPoint(config, space[phase], pointOf(tuned, space[phase])), defaults);
const show = (name: string, config: ServingConfig) => {
  const retrieval = measureRetrieval(replay, config);
  const m = measureFeed(replay, config, retrieval);
  console.log(`${name.padEnd(34)} feed NDCG@10 ${m.feedNdcg10.toFixed(4)} (${(m.feedNdcg10 / pop.ndcg10).toFixed(3)}×)  retrieval order ${(retrieval.ndcg10 / pop.ndcg10).toFixed(3)}×  R@1000 ${(retrieval.recall1000 / pop.recall1000).toFixed(3)}×  coverage ${m.coverage.toFixed(3)}  personalisation ${m.personalisation.toFixed(3)}`);
};
show("defaults", defaults);
show("defaults + tuned retrieval", withPhases(["retrieval"]));
show("defaults + tuned value", withPhases(["value"]));
show("defaults + tuned ranking", withPhases(["ranking"]));
show("defaults + tuned retrieval, value", withPhases(["retrieval", "value"]));
show("tuned (the bundle's)", tuned);
for (const phase of ["retrieval", "value", "ranking"] as const) {
  const at = pointOf(tuned, space[phase]);
  const from = pointOf(defaults, space[phase]);
  console.log(`${phase}: ${Object.keys(at).filter((k) => Math.abs((at[k] as number) - (from[k] as number)) > 1e-9).map((k) => `${k.split(".").slice(-2).join(".")} ${(from[k] as number).toPrecision(3)}→${(at[k] as number).toPrecision(3)}`).join(", ")}`);
}
