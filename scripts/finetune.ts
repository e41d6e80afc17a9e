/**
 * npm run finetune -- --from <bundle dir> --events <log dir> [--out <dir>] [--data <dir>] [--publish [--local | --remote]]
 *                     [--holdout-share S] [--epochs N] [--seed N]
 *
 * Warm-starts the three models of the active bundle from its trainer weights, trains them on the event log's hours
 * that the bundle has not seen, and compares the candidate with the active bundle on the newest events (the gate's
 * verdict table is printed). Only a candidate that is not worse is written to --out and, with --publish, published
 * (npm run publish). A refused candidate exits 1 and writes nothing. models/README.md, "Fine-tuning".
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { UsageError, runCli } from "./lib/cli";
import { runFinetune } from "./finetune/run";

const USAGE = "usage: npm run finetune -- --from <bundle dir> --events <log dir> [--out <dir>] [--data <dir>] [--publish [--local | --remote]] [--holdout-share S] [--epochs N] [--seed N]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      from: { type: "string" },
      events: { type: "string" },
      out: { type: "string" },
      data: { type: "string", default: "data/kuairand-pure" },
      publish: { type: "boolean", default: false },
      local: { type: "boolean", default: false },
      remote: { type: "boolean", default: false },
      "holdout-share": { type: "string" },
      epochs: { type: "string" },
      seed: { type: "string" },
    },
    strict: true,
  });
  if (!values.from || !values.events) throw new UsageError("--from and --events are required");
  if ((values.local || values.remote) && !values.publish) throw new UsageError("--local and --remote choose where --publish publishes");
  if (values.local && values.remote) throw new UsageError("choose one of --local and --remote");
  const holdoutShare = values["holdout-share"] === undefined ? undefined : Number(values["holdout-share"]);
  if (holdoutShare !== undefined && !(holdoutShare > 0 && holdoutShare < 1)) throw new UsageError("--holdout-share must be in (0, 1)");
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && !(Number.isSafeInteger(epochs) && epochs >= 0 && epochs <= 20)) throw new UsageError("--epochs must be an integer in 0..20");
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) throw new UsageError("--seed must be a non-negative integer");
  const out = values.out ?? `${values.from.replace(/\/+$/, "")}-ft`;

  const started = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const outcome = await runFinetune({
    from: values.from,
    events: values.events,
    out,
    data: values.data,
    finetune: {
      ...(holdoutShare === undefined ? {} : { holdoutShare }),
      ...(epochs === undefined ? {} : { mtmlEpochs: epochs, retrievalEpochs: epochs, firstStageEpochs: epochs }),
      ...(seed === undefined ? {} : { seed }),
    },
    log,
  });
  const total = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`seconds: ${Object.entries(outcome.seconds).map(([name, s]) => `${name} ${s}`).join(", ")}; total ${total}`);
  if (!outcome.written) {
    console.error("finetune: the candidate failed the gate; nothing written, nothing published");
    process.exit(1);
  }
  console.log(`wrote candidate bundle ${outcome.version} to ${outcome.written}`);
  if (values.publish) {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/publish.ts", "--bundle", outcome.written as string, values.remote ? "--remote" : "--local"], { stdio: "inherit" });
      child.on("error", reject);
      child.on("close", resolve);
    });
    if (code !== 0) throw new Error(`npm run publish exited with ${code}`);
  }
});
