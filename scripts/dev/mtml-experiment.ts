// Quick MTML experiment on the default split: train on the training window, measure on test impressions.
import { parseArgs } from "node:util";
import { loadDataset, splitByDate } from "../../core/data";
import { trainingData } from "../../core/eval/harness";
import { gauc } from "../../core/eval/metrics";
import { allocateMtmlInputs, fitFeatures, writeMtmlRow } from "../../core/features";
import { Rng } from "../../models/autodiff";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel } from "../../models/mtml/model";
import { buildMtmlRows, featureContext, labelMatrix, standardiseInPlace, userContextFor } from "../../models/mtml/rows";
import { DEFAULT_MTML_TRAINING, labelAucs, predictMtml, trainMtml } from "../../models/mtml/train";
import { DirectoryDataSource } from "../lib/directory-source";

const { values } = parseArgs({ options: { epochs: { type: "string", default: "3" }, experts: { type: "string", default: "1" }, lr: { type: "string", default: "0.002" }, hidden: { type: "string", default: "256,128" }, batch: { type: "string", default: "512" }, wd: { type: "string", default: "0.000001" }, tw: { type: "string", default: "1,1,1,0.5,0.5,0.5,0.5" }, id: { type: "string", default: "16" }, nouser: { type: "boolean", default: false }, dwd: { type: "string", default: "0" }, minuser: { type: "string", default: "1" }, decay: { type: "string", default: "1" }, noitem: { type: "boolean", default: false }, seed: { type: "string", default: "7" }, "train-end": { type: "string", default: "20220503" }, "test-start": { type: "string", default: "20220504" }, "test-end": { type: "string" } } });

const t0 = performance.now();
const dataset = await loadDataset(new DirectoryDataSource("data/kuairand-pure"));
const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], ...(values["test-end"] ? { testEnd: values["test-end"] } : {}) });
const train = trainingData(dataset, split);
const fitted = fitFeatures(train, { minImpressions: { users: Number(values.minuser), items: 2, authors: 2 } });
const rows = buildMtmlRows(train, fitted);
console.log(`rows ${rows.inputs.size} dense ${rows.spec.dense.names.length} slots ${rows.spec.categorical.length} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// test rows from the state at the end of training
const test = split.test;
const testInputs = allocateMtmlInputs(rows.spec, test.size);
const context = featureContext(train, fitted, rows.spec, rows.finalState);
for (let r = 0; r < test.size; r++) {
  const user = test.user[r] as number;
  writeMtmlRow(context, userContextFor(dataset, fitted, user, rows.finalState.activity(user)), test.item[r] as number, test.surface[r] as number, test.ts[r] as number, testInputs, r, false);
}
standardiseInPlace(rows.spec, testInputs.dense, test.size);
const testLabels = labelMatrix(test);

if (values.nouser) { rows.inputs.user.fill(0); testInputs.user.fill(0); }
if (values.noitem) { rows.inputs.item.fill(0); testInputs.item.fill(0); }
const model = new MtmlModel(rows.spec, { ...DEFAULT_MTML_ARCHITECTURE, experts: Number(values.experts), userIdEmbedding: !values.nouser, idDim: Number(values.id), hidden: values.hidden.split(",").map(Number) }, new Rng(Number(values.seed)));
const lastDay = rows.day[rows.day.length - 1] as number;
const fitRows = Int32Array.from({ length: rows.inputs.size }, (_, i) => i).filter((r) => rows.day[r] !== lastDay);
const validRows = Int32Array.from({ length: rows.inputs.size }, (_, i) => i).filter((r) => rows.day[r] === lastDay);
const { takeMtmlRows } = await import("../../models/mtml/rows");
const validation = { inputs: takeMtmlRows(rows.spec, rows.inputs, validRows), labels: Float32Array.from({ length: validRows.length * 7 }, (_, i) => rows.labels[(validRows[Math.floor(i / 7)] as number) * 7 + (i % 7)] as number) };
trainMtml(model, rows, fitRows, { ...DEFAULT_MTML_TRAINING, epochs: Number(values.epochs), learningRate: Number(values.lr), batchSize: Number(values.batch), embeddingWeightDecay: Number(values.wd), weightDecay: Number(values.dwd), finalLearningRateFraction: Number(values.decay), taskWeights: values.tw.split(",").map(Number), seed: Number(values.seed), log: console.log }, validation);
const p = predictMtml(model, testInputs);
const aucs = labelAucs(p, testLabels);
const click = Float32Array.from({ length: test.size }, (_, r) => p[r * 7] as number);
console.log("test AUC", aucs, "click GAUC", gauc(test.user, click, test.labels.click!), `total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
