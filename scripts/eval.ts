/**
 * npm run eval -- --data <dir> --train-end <YYYYMMDD> --test-start <YYYYMMDD> [--test-end <YYYYMMDD>] [--json <file>]
 *
 * Measures every system on one split, beside the baselines, with both protocols of core/eval.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadDataset } from "../core/data/load";
import { splitByDate } from "../core/data/split";
import { baselineSystems, evaluate, trainingData } from "../core/eval/harness";
import { formatReport } from "../core/eval/report";
import { DirectoryDataSource } from "./lib/directory-source";
import { runCli } from "./lib/cli";

const USAGE = "usage: npm run eval -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD] [--json <file>]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      "test-start": { type: "string", default: "20220504" },
      "test-end": { type: "string" },
      json: { type: "string" },
    },
    strict: true,
  });
  const started = performance.now();
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
  const loadSeconds = (performance.now() - started) / 1000;
  console.error(`loaded ${values.data} in ${loadSeconds.toFixed(1)} s`);

  const train = trainingData(dataset, split);
  const systems = baselineSystems(train);
  const report = await evaluate(dataset, split, systems, {
    onSystemDone: (kind, name, seconds) => console.error(`  ${kind} ${name}: ${seconds.toFixed(1)} s`),
  });
  report.seconds.load = loadSeconds;
  report.seconds.total = (performance.now() - started) / 1000;
  console.log(formatReport(report));
  if (values.json) {
    await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`wrote ${values.json}`);
  }
});
