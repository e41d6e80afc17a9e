// Retrieval two-tower experiment: train on a split's training window, measure full-catalogue recall on its test days.
import { parseArgs } from "node:util";
import { loadDataset, splitByDate } from "../../core/data";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import { trainingData } from "../../core/eval/harness";
import { evaluateFullCatalogue, testPositives } from "../../core/eval/protocols";
import type { Recommender } from "../../core/eval/types";
import { allocateItemTowerInputs, allocateUserTowerInputs, fitFeatures, writeItemTowerRow, writeUserTowerRow } from "../../core/features";
import { topK } from "../../core/util/top-k";
import { Rng } from "../../models/autodiff";
import { featureContext, newReplay, userContextFor } from "../../models/mtml/rows";
import { DEFAULT_TOWER_ARCHITECTURE, TwoTowerModel } from "../../models/two-tower/model";
import { buildRetrievalExamples } from "../../models/two-tower/rows";
import { DEFAULT_RETRIEVAL_TRAINING, embedItems, embedUsers, trainRetrieval } from "../../models/two-tower/train";
import { DirectoryDataSource } from "../lib/directory-source";

const { values } = parseArgs({ options: {
  "train-end": { type: "string", default: "20220502" }, "test-start": { type: "string", default: "20220503" }, "test-end": { type: "string", default: "20220503" },
  epochs: { type: "string", default: "8" }, temp: { type: "string", default: "0.05" }, lr: { type: "string", default: "0.002" }, batch: { type: "string", default: "1024" },
  nologq: { type: "boolean", default: false }, dim: { type: "string", default: "64" }, hidden: { type: "string", default: "256" },
} });
const t0 = performance.now();
const dataset = await loadDataset(new DirectoryDataSource("data/kuairand-pure"));
const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
const train = trainingData(dataset, split);
const fitted = fitFeatures(train);
const examples = buildRetrievalExamples(train, fitted, fitted.spec);
const spec = examples.spec;
console.log(`examples ${examples.item.length} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// final state for serving-time features
const replay = newReplay(train, spec);
replay.run(train.events);
replay.advanceTo(train.endMs);
const context = featureContext(train, fitted, spec, replay);
const itemInputs = allocateItemTowerInputs(spec, dataset.items.ids.size);
for (let i = 0; i < dataset.items.ids.size; i++) writeItemTowerRow(context, i, train.endMs, itemInputs, i);
const positives = testPositives(split.test, ["click", "long_view", "like"]);
const evalUsers = [...new Set([...positives.get("click")!.keys()])];
const userInputs = allocateUserTowerInputs(spec, dataset.users.ids.size);
for (const u of evalUsers) writeUserTowerRow(context, userContextFor(dataset, fitted, u, replay.activity(u)), userInputs, u);

const model = new TwoTowerModel("retrieval", spec, { ...DEFAULT_TOWER_ARCHITECTURE, outputDim: Number(values.dim), hidden: values.hidden.split(",").map(Number) }, new Rng(11));
const all = Int32Array.from({ length: examples.item.length }, (_, i) => i);
const measure = async () => {
  const itemEmb = embedItems(model, itemInputs);
  const userEmb = embedUsers(model, userInputs);
  const dim = model.architecture.outputDim;
  const recommender: Recommender = {
    name: "two_tower",
    recommend: ({ user, count }) => {
      const scores = new Float32Array(dataset.items.ids.size);
      for (let i = 0; i < scores.length; i++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += (userEmb[user * dim + d] as number) * (itemEmb[i * dim + d] as number);
        scores[i] = s;
      }
      const items = topK(scores, count);
      return { items, scores: Float32Array.from(items, (i) => scores[i] as number) };
    },
  };
  return evaluateFullCatalogue(recommender, train, positives);
};
const results: string[] = [];
trainRetrieval(model, examples, all, { ...DEFAULT_RETRIEVAL_TRAINING, epochs: Number(values.epochs), temperature: Number(values.temp), learningRate: Number(values.lr), batchSize: Number(values.batch), logQCorrection: !values.nologq, seed: 11, log: console.log });
const result = await measure();
const pop = await evaluateFullCatalogue(new DecayedPopularity(train), train, positives);
console.log(`two_tower click R@100 ${result.click!["recall@100"].toFixed(4)} R@1000 ${result.click!["recall@1000"].toFixed(4)} NDCG@10 ${result.click!["ndcg@10"].toFixed(4)}; popularity R@100 ${pop.click!["recall@100"].toFixed(4)} R@1000 ${pop.click!["recall@1000"].toFixed(4)}; total ${((performance.now() - t0) / 1000).toFixed(0)} s`, results.join(""));
