/**
 * npm run pipeline -- --data <dir> --train-end <YYYYMMDD> --out <bundle-dir> [--seed N] [--no-tune]
 *
 * Loads the data and keeps the training window. Tunes the serving config on the window's last slice (models trained
 * on what comes before it, the slice replayed through the funnel, a Bayesian search) while a worker thread trains the
 * MTML and the retrieval two-tower on the whole window (neither reads the serving config); then distils the first
 * stage with the tuned value model, exports and quantizes the models, builds the ANN index and writes a model bundle
 * whose manifest carries the tuned config and the tuning report (models/README.md).
 */
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { loadDataset } from "../core/data/load";
import { trainingWindow } from "../core/data/split";
import type { TrainingData } from "../core/data/dataset";
import type { ServingConfig } from "../core/config/serving";
import { buildWindowRows, distilFirstStage } from "../models/pipeline/train-all";
import type { PriorMethod, TuningMethod } from "../models/tuning/tune";
import { DEFAULT_SERVING_CONFIG, SERVING_CONFIG_SEARCH_SPACE } from "../models/serving-config";
import { DirectoryDataSource } from "./lib/directory-source";
import { UsageError, runCli } from "./lib/cli";
import { sourceHash } from "./lib/source-hash";
import { MTML_VARIANTS, buildBundle, type MtmlVariant } from "./pipeline/build-bundle";
import { DEFAULT_TUNE_STEP, tuneOnHeldOutSlice } from "./pipeline/tune-step";
import { decodeStageModels, trainStageModelsInWorker } from "./pipeline/stage-models";
import { withHomeFreshness } from "../core/suggested/home-like";
import { embeddingFormatSchema } from "../core/serving/embedding-codec";
import { LapTimer } from "../core/util/lap-timer";

const USAGE = "usage: npm run pipeline -- [--data <dir>] [--train-end YYYYMMDD] [--out <bundle-dir>] [--seed N] [--quantization fp32|dynamic-int8|dynamic-int8-fp32-dense|qdq-int8] [--embeddings i8-row|f32] [--item-shards N] [--calibration none|fit] [--no-tune] [--tune-method bayesian|random|grid] [--tune-prior searched|learned] [--tune-users N] [--tune-trials RETRIEVAL,VALUE,RANKING,SUGGESTED] [--holdout-share S]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      out: { type: "string", default: "bundles/default" },
      seed: { type: "string", default: "1" },
      quantization: { type: "string", default: "dynamic-int8-fp32-dense" },
      embeddings: { type: "string", default: "i8-row" },
      "item-shards": { type: "string", default: "0" },
      // off unless asked: fitted on the window's last day, it made the next days' calibration worse (models/README.md)
      calibration: { type: "string", default: "none" },
      "no-tune": { type: "boolean", default: false },
      "tune-method": { type: "string", default: DEFAULT_TUNE_STEP.method },
      "tune-prior": { type: "string", default: DEFAULT_TUNE_STEP.prior },
      "tune-users": { type: "string", default: String(DEFAULT_TUNE_STEP.users) },
      "tune-trials": { type: "string", default: Object.values(DEFAULT_TUNE_STEP.trials).join(",") },
      "holdout-share": { type: "string", default: String(DEFAULT_TUNE_STEP.holdoutShare) },
    },
    strict: true,
  });
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError("--seed must be a non-negative integer");
  if (!(MTML_VARIANTS as readonly string[]).includes(values.quantization)) throw new UsageError(`--quantization must be one of ${MTML_VARIANTS.join(", ")}`);
  const embeddingFormat = embeddingFormatSchema.safeParse(values.embeddings);
  if (!embeddingFormat.success) throw new UsageError(`--embeddings must be one of ${embeddingFormatSchema.options.join(", ")}`);
  const itemShards = Number(values["item-shards"]);
  if (!Number.isSafeInteger(itemShards) || itemShards < 0 || itemShards > 256) throw new UsageError("--item-shards must be an integer in 0..256");
  if (values.calibration !== "fit" && values.calibration !== "none") throw new UsageError("--calibration must be fit or none");
  const calibration = values.calibration;
  if (!["bayesian", "random", "grid"].includes(values["tune-method"])) throw new UsageError("--tune-method must be bayesian, random or grid");
  if (!["searched", "learned"].includes(values["tune-prior"])) throw new UsageError("--tune-prior must be searched or learned");
  const tuneUsers = Number(values["tune-users"]);
  if (!Number.isSafeInteger(tuneUsers) || tuneUsers < 10) throw new UsageError("--tune-users must be an integer of at least 10");
  const trials = values["tune-trials"].split(",").map(Number);
  if (trials.length !== 4 || !trials.every((t) => Number.isSafeInteger(t) && t >= 1 && t <= 1000)) throw new UsageError("--tune-trials must be four integers in 1..1000, e.g. 25,40,40,30");
  const holdoutShare = Number(values["holdout-share"]);
  if (!(holdoutShare > 0 && holdoutShare < 0.5)) throw new UsageError("--holdout-share must be in (0, 0.5)");
  const started = performance.now();
  // a line's time is when it happened: the stage-models worker's lines arrive when this thread is next idle
  const log = (line: string, atMs = performance.timeOrigin + performance.now()) => console.log(`[${((atMs - performance.timeOrigin - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

  // a wrong --data is a usage mistake (exit 2 with one line), not a crash with a stack trace
  if (!(await stat(values.data).catch(() => undefined))?.isDirectory()) throw new UsageError(`--data ${values.data}: no such data directory`);
  await assertReplaceableBundleDirectory(values.out);
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const window = trainingWindow(dataset, values["train-end"]);
  const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
  log(`loaded ${values.data}: ${train.events.size} training events through ${values["train-end"]}, ${dataset.items.ids.size} items, ${dataset.users.ids.size} users`);

  // the data set says which surfaces count as Home (Suggested Posts' H seeds)
  const defaults: ServingConfig = dataset.homeSurfaces.length > 0 ? { ...DEFAULT_SERVING_CONFIG, suggested: { ...DEFAULT_SERVING_CONFIG.suggested, homeSurfaces: [...dataset.homeSurfaces] } } : DEFAULT_SERVING_CONFIG;
  const timer = new LapTimer(1);
  const { seconds } = timer;
  const split = (name: string) => timer.split(name);

  // --- the stage models on the whole window, on the second core while this one tunes (they read no serving config) ---
  const stageModels = trainStageModelsInWorker({ data: values.data, trainEnd: values["train-end"], seed }, (line, atMs) => log(`models: ${line}`, atMs));

  // --- tuning on the window's last slice ---
  let config = defaults;
  let tuning: Record<string, unknown>;
  try {
    if (values["no-tune"]) {
      tuning = { status: "skipped", reason: "--no-tune: the defaults of models/serving-config.json" };
      log("tuning skipped (--no-tune): serving the defaults");
    } else {
      const space = SERVING_CONFIG_SEARCH_SPACE;
      const step = await tuneOnHeldOutSlice(dataset, train, defaults, space, {
        ...DEFAULT_TUNE_STEP,
        seed,
        method: values["tune-method"] as TuningMethod,
        prior: values["tune-prior"] as PriorMethod,
        users: tuneUsers,
        trials: { retrieval: trials[0] as number, value: trials[1] as number, ranking: trials[2] as number, suggested: trials[3] as number },
        holdoutShare,
        quantization: values.quantization as MtmlVariant,
        embeddingFormat: embeddingFormat.data,
        calibration,
        log,
      });
      config = step.config;
      if (step.tuned) {
        tuning = { status: "tuned", ...step.report };
      } else {
        tuning = { status: "skipped", reason: step.reason };
        log(`WARNING: tuning skipped, serving the defaults: ${step.reason}`);
      }
    }
  } catch (error) {
    await stageModels.stop();
    throw error;
  }
  split("tuning");

  // Home's freshness is learned from the window itself (its weight is the tuner's); the tuning replay learns its own from the slice's past
  config = withHomeFreshness(config, train.events, dataset.items.createdAt);

  // --- the first stage on the whole window, distilling the stage models with the tuned config's value model ---
  const windowRows = buildWindowRows(train);
  const encoded = await stageModels.result;
  split("stage_models_after_tuning");
  const trained = distilFirstStage(train, windowRows, decodeStageModels(windowRows, encoded, seed), { seed, config, log });
  split("first_stage");
  const bundle = await buildBundle({ dataset, train, trained, config, seed, trainEnd: values["train-end"], quantization: values.quantization as MtmlVariant, embeddingFormat: embeddingFormat.data, itemShards, calibration, checks: "full", manifestExtras: { tuning }, log });
  split("export");
  // the code and the options that shape a bundle: `npm run eval` rebuilds a bundle built by other code or options
  const shaping = process.argv.slice(2).filter((arg, i, args) => !["--data", "--train-end", "--out"].includes(arg) && !["--data", "--train-end", "--out"].includes(args[i - 1] ?? ""));
  const manifest = { ...bundle.manifest, source_hash: await sourceHash(undefined, shaping.join(" ")), pipeline_seconds: seconds };

  await rm(values.out, { recursive: true, force: true });
  for (const [path, bytes] of bundle.files) {
    await mkdir(dirname(join(values.out, path)), { recursive: true });
    await writeFile(join(values.out, path), bytes);
  }
  await writeFile(join(values.out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const totalBytes = [...bundle.files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
  log(`wrote bundle ${bundle.version} to ${values.out}: ${bundle.files.size} files, ${(totalBytes / 1024 / 1024).toFixed(1)} MiB (seconds: ${Object.entries(seconds).map(([name, s]) => `${name} ${s}`).join(", ")})`);
});

/** The output directory is deleted and rewritten: refuse anything that is not empty or a previous bundle. */
async function assertReplaceableBundleDirectory(directory: string): Promise<void> {
  const entries = await readdir(directory).catch(() => undefined);
  if (entries === undefined || entries.length === 0 || entries.includes("manifest.json")) return;
  throw new UsageError(`--out ${directory} is neither empty nor a bundle (no manifest.json): refusing to replace it`);
}
