// What building the serving index costs: the Worker builds it every time it decodes a bundle (core/serving/serving-bundle.ts),
// so it delays the first request of each isolate. Times `buildServingIndex` on the real data's training window, from
// the histories the pipeline writes into the bundle, without training any model.
//
//   npx tsx scripts/dev/serving-index-time.ts [--data data/kuairand-pure] [--train-end 20220503] [--runs 15]
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { trainingWindow } from "../../core/data/split";
import { buildServingIndex } from "../../core/serving/serving-index";
import { buildUserHistories } from "../../models/pipeline/bundle-tables";
import { DirectoryDataSource } from "../lib/directory-source";

const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, "train-end": { type: "string", default: "20220503" }, runs: { type: "string", default: "15" } } });
const dataset = await loadDataset(new DirectoryDataSource(values.data));
const window = trainingWindow(dataset, values["train-end"]);
const sources = { items: dataset.items, histories: buildUserHistories(window.train, dataset.users.ids.size), asOfMs: window.trainEndMs };

// CPU time beside wall time: on a shared machine the wall time mostly measures the neighbours
const times: number[] = [];
const cpuTimes: number[] = [];
let pairs = 0;
for (let run = 0; run < Number(values.runs); run++) {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const index = buildServingIndex(sources);
  const cpu = process.cpuUsage(cpuStarted);
  times.push(performance.now() - started);
  cpuTimes.push((cpu.user + cpu.system) / 1000);
  pairs = index.authorUsers.values.length;
}
const format = (ms: number | undefined) => `${(ms ?? Number.NaN).toFixed(1)} ms`;
const summary = (list: readonly number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  return `first ${format(list[0])}, median ${format(sorted[sorted.length >> 1])}, min ${format(sorted[0])}, max ${format(sorted[sorted.length - 1])}`;
};
console.log(`${values.data} through ${values["train-end"]}: ${window.train.size} training events, ${dataset.users.ids.size} users, ${dataset.items.authors.size} authors, ${pairs} (author, engager) pairs`);
console.log(`buildServingIndex over ${times.length} runs: wall ${summary(times)}; cpu ${summary(cpuTimes)}`);
