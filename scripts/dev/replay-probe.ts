/**
 * Development probe: a bundle's feed on a test window through the tuner's replay, over a grid of the value model's
 * prior (exposure α, affinity β, retrieval score γ), beside popularity and the retrieval order.
 *   npx tsx scripts/dev/replay-probe.ts --data <dir> --bundle <dir> --train-end D --test-start D' [--test-end D''] [--users N]
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { splitByDate } from "../../core/data/split";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import { trainingData } from "../../core/eval/harness";
import { BundleRows } from "../../core/eval/systems/bundle-systems";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { measureFeed, measureRetrieval, retrievalScores } from "../../models/tuning/objective";
import { topKMask } from "../../core/util/top-k";
import { buildReplay } from "../../models/tuning/replay";
import { popularityMeasures } from "../../models/tuning/tune";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { DirectoryDataSource } from "../lib/directory-source";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createOnnxruntimeNodeAdapter } from "../onnx/ort-node";

const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, bundle: { type: "string" }, "train-end": { type: "string" }, "test-start": { type: "string" }, "test-end": { type: "string" }, users: { type: "string", default: "2000" } } });
const dataset = await loadDataset(new DirectoryDataSource(values.data));
const split = splitByDate(dataset, { trainEnd: values["train-end"] as string, testStart: values["test-start"] as string, testEnd: values["test-end"] });
const train = trainingData(dataset, split);
const bundleFiles = await loadBundleDirectory(values.bundle as string);
const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createOnnxruntimeNodeAdapter(), createNodeUsearchRuntime());
const rows = new BundleRows(dataset, bundle.tables);
const config = bundle.tables.config;
const replay = await buildReplay(bundle, config, split.test, { toBundleUser: (u) => rows.userToBundle[u] as number, toBundleItem: (i) => rows.itemToBundle[i] as number }, (items) => new Float32Array(items.length * 7), Int32Array.from(new DecayedPopularity(train).order, (i) => rows.itemToBundle[i] as number), { users: Number(values.users), seed: 1, maxQuotas: process.env.BIG ? { two_tower: 2000, popular: 2000, trending: 500 } : {}, count: 100 });
const pop = popularityMeasures(replay);
const retrieval = measureRetrieval(replay, config);
console.log(`${replay.users.length} users; popularity NDCG@10 ${pop.ndcg10.toFixed(4)}; retrieval order ${retrieval.ndcg10.toFixed(4)} (${(retrieval.ndcg10 / pop.ndcg10).toFixed(3)}×)`);
const show = (name: string, valueModel: typeof config.valueModel) => {
  const m = measureFeed(replay, { ...config, valueModel }, retrieval);
  console.log(`${name.padEnd(40)} feed NDCG@10 ${m.feedNdcg10.toFixed(4)} (${(m.feedNdcg10 / pop.ndcg10).toFixed(3)}×) personalisation ${m.personalisation.toFixed(3)}`);
};
show("served", config.valueModel);
const none = { two_tower: 0, history: 0, cooccurrence: 0, authors: 0, trending: 0, popular: 0, graph: 0 };
for (const [a, b, sources] of [[0, 0, none], [1, 0, none], [0, 1, none], [0.5, 1, none], [0.5, 0.5, { ...none, authors: 4, graph: 4, two_tower: 1, popular: 1, trending: 1 }], [1, 0, { ...none, authors: 4, graph: 4 }]] as const) {
  show(`α=${a} β=${b} sources ${JSON.stringify(Object.fromEntries(Object.entries(sources).filter(([, w]) => w > 0)))}`, { ...config.valueModel, exposureExponent: a, retrievalExponent: b, sourceWeights: sources });
}
// retrieval at depth: the union of every source's list, and the merge's top 1000 under a few weightings
let union = 0;
for (const user of replay.users) {
  let hits = 0;
  for (const item of user.items) if (user.positives.has(item)) hits++;
  union += hits / user.positives.size;
}
console.log(`union of the sources' lists: recall ${(union / replay.users.length).toFixed(4)} (${(union / replay.users.length / pop.recall1000).toFixed(3)}× popularity's R@1000), mean pool ${(replay.users.reduce((s, u) => s + u.items.length, 0) / replay.users.length).toFixed(0)}`);
for (const [tt, popular, trending] of [[2, 1, 1], [1, 1, 1], [4, 1, 0.5], [1, 2, 1], [1, 4, 1]] as const) {
  const { sources: base } = config.retrieval;
  const sources = { ...base, two_tower: { ...base.two_tower, weight: tt, quota: 1000 }, popular: { ...base.popular, weight: popular, quota: 1000 }, trending: { ...base.trending, weight: trending, quota: 300 } };
  const r = measureRetrieval(replay, { ...config, retrieval: { ...config.retrieval, sources } });
  console.log(`two_tower ${tt} popular ${popular} trending ${trending}: R@1000 ${(r.recall1000 / pop.recall1000).toFixed(3)}× popularity`);
}
// the merge's order with exposure and affinity terms added to the sources' mix
/** Mean Recall@1000 of the merge's order under `mixConfig` with a·log(E + 0.01) + b·affinity added to every score. */
const mixedRecall1000 = (mixConfig: typeof config, a: number, b: number): number => {
  let recall = 0;
  for (const user of replay.users) {
    const scores = retrievalScores(user, mixConfig);
    const mixed = Float64Array.from(scores, (s, i) => (s === Number.NEGATIVE_INFINITY ? s : s + a * Math.log((user.relativeExposure[i] as number) + 0.01) + b * (user.affinity[i] as number)));
    const best = topKMask(mixed, 1000);
    let hits = 0;
    for (let i = 0; i < best.length; i++) if (best[i] && user.positives.has(user.items[i] as number)) hits++;
    recall += hits / user.positives.size;
  }
  return recall / replay.users.length;
};
for (const [a, b] of [[0.25, 0], [0.5, 0], [0, 0.25], [0, 0.5], [0.25, 0.25], [0.5, 0.5], [1, 0.5], [0.5, 1]] as const) {
  console.log(`mix + ${a}·log E + ${b}·affinity: R@1000 ${(mixedRecall1000(config, a, b) / pop.recall1000).toFixed(3)}× popularity`);
}
for (const [tq, pq] of [[1000, 1000], [1500, 1000], [1500, 1500], [2000, 2000]] as const) {
  const sources = { ...config.retrieval.sources, two_tower: { ...config.retrieval.sources.two_tower, quota: tq }, popular: { ...config.retrieval.sources.popular, quota: pq } };
  const c = { ...config, retrieval: { ...config.retrieval, sources, maxCandidates: 5000 } };
  for (const [a, b] of [[0, 0], [0.5, 0.5], [1, 0.5]] as const) {
    console.log(`quotas two_tower ${tq} popular ${pq}, mix + ${a}·log E + ${b}·affinity: R@1000 ${(mixedRecall1000(c, a, b) / pop.recall1000).toFixed(3)}×`);
  }
}
const createdAt = bundle.tables.items.createdAt;
const logAge = (item: number) => (Number.isFinite(createdAt[item] as number) ? Math.log1p(Math.max(0, bundle.tables.asOfMs - (createdAt[item] as number)) / 3_600_000) : Math.log1p(24 * 30));
for (const c of [-0.5, -0.25, -0.1, 0.1]) {
  let recall = 0;
  for (const user of replay.users) {
    const scores = retrievalScores(user, config);
    const mixed = Float64Array.from(scores, (s, i) => (s === Number.NEGATIVE_INFINITY ? s : s + 0.5 * Math.log((user.relativeExposure[i] as number) + 0.01) + 0.5 * (user.affinity[i] as number) + c * logAge(user.items[i] as number)));
    const best = topKMask(mixed, 1000);
    let hits = 0;
    for (let i = 0; i < best.length; i++) if (best[i] && user.positives.has(user.items[i] as number)) hits++;
    recall += hits / user.positives.size;
  }
  console.log(`mix + 0.5·log E + 0.5·affinity + ${c}·log age: R@1000 ${(recall / replay.users.length / pop.recall1000).toFixed(3)}×`);
}
