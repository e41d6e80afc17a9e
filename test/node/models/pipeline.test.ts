// The training pipeline end to end on a small synthetic KuaiRand-shaped data set: trainAll with tiny epoch counts,
// then the real CLI (scripts/pipeline.ts) twice with one seed. The bundles must be complete, valid, decodable by
// serving code, consistent with their own models, and identical file for file.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest, verifyBundleFiles } from "../../../core/bundle/manifest";
import { LABELS } from "../../../core/data/labels";
import { loadDataset } from "../../../core/data/load";
import { trainingWindow } from "../../../core/data/split";
import type { TrainingData } from "../../../core/data/dataset";
import { parseFeatureSpec } from "../../../core/features/spec";
import { allocateItemTowerInputs, writeItemTowerRow } from "../../../core/features/tower-features";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import { parseServingManifest } from "../../../core/serving/bundle-manifest";
import { itemTowerFeeds, runTower } from "../../../core/serving/model-runs";
import { BundleTables } from "../../../core/serving/bundle-tables";
import { buildWindowRows, distilFirstStage, trainAll, trainStageModels } from "../../../models/pipeline/train-all";
import { decodeStageModels, trainStageModelsInWorker } from "../../../scripts/pipeline/stage-models";
import { DEFAULT_SERVING_CONFIG } from "../../../models/serving-config";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";
import { DEFAULT_SYNTHETIC_OPTIONS, syntheticDay, writeSyntheticKuaiRand } from "../../../scripts/models/synthetic-kuairand";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import servingConfigFile from "../../../models/serving-config.json";
import { rowNorm } from "./helpers";

const root = fileURLToPath(new URL("../../../", import.meta.url));
/** Train on the first three of the four synthetic days. */
const TRAIN_END = syntheticDay(DEFAULT_SYNTHETIC_OPTIONS.days - 2);
let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "pipeline-test-"));
  data = join(work, "data");
  await writeSyntheticKuaiRand(data, DEFAULT_SYNTHETIC_OPTIONS);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runPipeline(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/pipeline.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(directory, join(e.parentPath, e.name)).split(sep).join("/")).sort();
}

async function readBundle(directory: string): Promise<{ manifestValue: unknown; files: Map<string, Uint8Array>; onDisk: string[] }> {
  const manifestValue: unknown = JSON.parse(await readFile(join(directory, "manifest.json"), "utf8"));
  const onDisk = await listFiles(directory);
  const files = new Map<string, Uint8Array>();
  for (const path of onDisk) if (path !== "manifest.json") files.set(path, new Uint8Array(await readFile(join(directory, path))));
  return { manifestValue, files, onDisk };
}

describe("trainAll on a small data set", () => {
  it("trains all three models with tiny epoch counts and returns consistent pieces", async () => {
    const dataset = await loadDataset(new DirectoryDataSource(data));
    const window = trainingWindow(dataset, TRAIN_END);
    const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
    const log: string[] = [];
    const trained = trainAll(train, { seed: 5, config: DEFAULT_SERVING_CONFIG, log: (line) => log.push(line), mtmlEpochs: 1, retrievalEpochs: 1, firstStageEpochs: 1, distillationUsers: 40, distillationPool: 50 });

    const spec = parseFeatureSpec(trained.spec);
    expect(trained.mtml.spec.dense).toEqual(spec.dense);
    expect(trained.retrieval.spec).toBe(trained.spec);
    expect(spec.tower.userDense.std.every((s) => s >= 0.25)).toBe(true); // measured, floored statistics
    const items = dataset.items.ids.size;
    for (const [model, embeddings] of [[trained.retrieval, trained.retrievalItemEmbeddings], [trained.firstStage, trained.firstStageItemEmbeddings]] as const) {
      const dim = model.architecture.outputDim;
      expect(embeddings.length).toBe(items * dim);
      for (let item = 0; item < items; item++) expect(rowNorm(embeddings, item, dim)).toBeCloseTo(1, 4);
    }
    expect(trained.checkRows.labels.length).toBe(trained.checkRows.inputs.size * LABELS.length);
    expect(trained.checkRows.inputs.size).toBeGreaterThan(500);

    const metrics = trained.metrics as { mtml_validation: { auc: Record<string, number | null> }[]; mtml_train_loss: number[]; retrieval_train_loss: number[]; first_stage_train_loss: number[]; distillation_requests: number };
    expect(metrics.mtml_validation).toHaveLength(1);
    expect(metrics.mtml_train_loss).toHaveLength(1);
    expect(metrics.retrieval_train_loss).toHaveLength(1);
    expect(metrics.first_stage_train_loss).toHaveLength(1);
    expect(metrics.distillation_requests).toBe(40);
    // the synthetic data has taste clusters: one epoch already ranks clicks better than chance
    expect(metrics.mtml_validation[0]!.auc.click).toBeGreaterThan(0.6);
    expect(log.some((line) => line.includes("first stage done: 40 requests"))).toBe(true);
  });
});

describe("the stage models in a worker thread", () => {
  it("are the models this thread trains, weight for weight, and distil the same first stage", async () => {
    const options = { seed: 7, mtmlEpochs: 1, retrievalEpochs: 2 };
    const running = trainStageModelsInWorker({ data, trainEnd: TRAIN_END, ...options }, () => undefined);
    const dataset = await loadDataset(new DirectoryDataSource(data));
    const window = trainingWindow(dataset, TRAIN_END);
    const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
    const here = trainStageModels(train, buildWindowRows(train), { ...options, log: () => undefined });
    const encoded = await running.result;
    const decoded = decodeStageModels(buildWindowRows(train), encoded, options.seed);
    for (const [name, mine, theirs] of [["mtml", here.mtml, decoded.mtml], ["retrieval", here.retrieval, decoded.retrieval]] as const) {
      const theirParameters = new Map(theirs.parameters().map((parameter) => [parameter.name, parameter.data]));
      expect(mine.parameters().length, name).toBeGreaterThan(0);
      for (const parameter of mine.parameters()) expect(theirParameters.get(parameter.name), `${name} ${parameter.name}`).toEqual(parameter.data);
    }
    expect(encoded.metrics.retrieval_train_loss).toEqual(here.metrics.retrieval_train_loss);
    const distil = { seed: options.seed, config: DEFAULT_SERVING_CONFIG, log: () => undefined, firstStageEpochs: 1, distillationUsers: 20, distillationPool: 40 };
    const fromWorker = distilFirstStage(train, buildWindowRows(train), decoded, distil);
    const fromHere = distilFirstStage(train, buildWindowRows(train), here, distil);
    expect(fromWorker.firstStageItemEmbeddings).toEqual(fromHere.firstStageItemEmbeddings);
  }, 120_000);
});

describe("npm run pipeline on a small data set", () => {
  it("writes complete, valid, decodable bundles, identical for the same seed", async () => {
    // one after the other, so the two runs do not compete for the machine's two cores
    for (const name of ["a", "b"]) {
      const run = await runPipeline(["--data", data, "--train-end", TRAIN_END, "--out", join(work, `bundle-${name}`), "--seed", "3"]);
      expect(run.code, run.stderr).toBe(0);
    }

    const a = await readBundle(join(work, "bundle-a"));
    const b = await readBundle(join(work, "bundle-b"));
    const manifest = parseManifest(a.manifestValue);
    const servingManifest = parseServingManifest(a.manifestValue);

    // every listed file is there with its size and sha256, and nothing else is
    const verified = await verifyBundleFiles(manifest, a.files);
    expect(verified.problems).toEqual([]);
    expect(verified.unlisted).toEqual([]);
    expect(a.onDisk).toEqual(["manifest.json", ...Object.keys(manifest.files)].sort());
    // every file the manifest's sections point at is listed
    const referenced = [
      servingManifest.models.mtml.file, servingManifest.models.mtml.fp32_file, servingManifest.models.retrieval.user_tower, servingManifest.models.retrieval.item_embeddings, servingManifest.models.retrieval.index,
      servingManifest.models.first_stage.user_tower, servingManifest.models.first_stage.item_embeddings, servingManifest.serving_config,
      ...Object.values((a.manifestValue as { tables: Record<string, string> }).tables),
      (a.manifestValue as { models: { retrieval: { item_tower: string } } }).models.retrieval.item_tower,
      (a.manifestValue as { models: { first_stage: { item_tower: string } } }).models.first_stage.item_tower,
    ];
    for (const path of referenced) expect(Object.keys(manifest.files)).toContain(path);

    // same seed, same data: same files, same version
    const manifestB = parseManifest(b.manifestValue);
    expect(manifestB.files).toEqual(manifest.files);
    expect(manifestB.version).toBe(manifest.version);
    expect(manifest.version).toMatch(new RegExp(`^${TRAIN_END}-s3-[0-9a-f]{10}$`));

    // what the contract (models/README.md) promises about the manifest
    const full = a.manifestValue as { seed: number; data: { train_end: string; train_events: number }; models: { mtml: { quantization: string; parity_max_abs: number }; retrieval: { parity_max_abs: number; metric: string }; first_stage: { parity_max_abs: number } } };
    expect(full.seed).toBe(3);
    expect(full.data.train_end).toBe(TRAIN_END);
    expect(full.models.mtml.quantization).toBe("dynamic-int8-fp32-dense");
    expect(full.models.mtml.parity_max_abs).toBeLessThan(1e-4);
    expect(full.models.retrieval.parity_max_abs).toBeLessThan(1e-4);
    expect(full.models.first_stage.parity_max_abs).toBeLessThan(1e-4);
    expect(full.models.retrieval.metric).toBe("ip");
    const specHash = readOnnxModelInfo(a.files.get(servingManifest.models.mtml.file)!).metadataProps.feature_spec_sha256;
    expect(specHash).toMatch(/^[0-9a-f]{64}$/);
    for (const path of [servingManifest.models.mtml.fp32_file, servingManifest.models.retrieval.user_tower, servingManifest.models.first_stage.user_tower]) {
      expect(readOnnxModelInfo(a.files.get(path)!).metadataProps.feature_spec_sha256).toBe(specHash);
    }

    // the manifest carries the tuning: the held-out slice inside the window, each phase's trials and best point, and
    // the bundle's config/serving.json is the tuned config (every phase's best point at its path)
    const tuning = (a.manifestValue as { tuning: { status: string; method: string; holdout: { cut_ms: number; fit_events: number; held_out_events: number }; search_space: unknown; phases: { name: string; trials: unknown[]; best: { point: Record<string, number> } }[]; measures_tuned: { feedNdcg10: number } } }).tuning;
    expect(tuning.status).toBe("tuned");
    expect(tuning.method).toBe("bayesian");
    expect(tuning.holdout.cut_ms).toBeLessThan((a.manifestValue as { data: { train_end_ms: number } }).data.train_end_ms);
    expect(tuning.holdout.fit_events + tuning.holdout.held_out_events).toBe(full.data.train_events);
    expect(tuning.search_space).toEqual(servingConfigFile.searchSpace);
    expect(tuning.phases.map((phase) => phase.name)).toEqual(["retrieval", "value", "ranking", "suggested"]);
    const servedConfig = JSON.parse(new TextDecoder().decode(a.files.get(servingManifest.serving_config))) as Record<string, unknown>;
    for (const phase of tuning.phases) {
      expect(phase.trials.length).toBeGreaterThan(0);
      for (const [path, value] of Object.entries(phase.best.point)) {
        const served = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], servedConfig) as number;
        const integer = [...servingConfigFile.searchSpace.retrieval, ...servingConfigFile.searchSpace.ranking].some((d) => d.path === path && "integer" in d && d.integer);
        expect(served, path).toBeCloseTo(integer ? Math.round(value) : value, 4);
      }
    }
    expect(Number.isFinite(tuning.measures_tuned.feedNdcg10)).toBe(true);

    // serving decodes it, and the shipped item embeddings are what the shipped item towers compute from the
    // bundle's own tables, up to the storage's rounding (half an int8 step of each row's scale): the Worker's
    // feature code and the pipeline's agree
    const tables = BundleTables.decode(a.manifestValue, a.files);
    expect(tables.version).toBe(manifest.version);
    const runtime = createNodeOrtWebAdapter();
    const itemCount = tables.items.ids.size;
    const inputs = allocateItemTowerInputs(tables.spec, itemCount);
    for (let item = 0; item < itemCount; item++) writeItemTowerRow(tables.featureContext(), item, tables.asOfMs, inputs, item);
    for (const [tower, shipped, dim] of [
      [(a.manifestValue as { models: { retrieval: { item_tower: string } } }).models.retrieval.item_tower, tables.retrievalItemEmbeddings, tables.manifest.models.retrieval.dim],
      [(a.manifestValue as { models: { first_stage: { item_tower: string } } }).models.first_stage.item_tower, tables.firstStageItemEmbeddings, tables.manifest.models.first_stage.dim],
    ] as const) {
      const session = await runtime.createSession(tables.file(tower));
      const computed = await runTower(session, itemTowerFeeds(inputs), itemCount);
      expect(maxStorageError(computed, shipped, dim)).toBeLessThan(1e-4);
      await session.release();
    }
  }, 120_000);

  it.each([
    ["a train end that is not YYYYMMDD", ["--train-end", "2022-04-27"], /train_end: "2022-04-27" is not a date in YYYYMMDD form/],
    ["a train end that is not a calendar date", ["--train-end", "20220431"], /train_end: "20220431" is not a calendar date/],
    ["a train end before the data", ["--train-end", "20220101"], /train_end: no events on or before 20220101/],
    ["a missing data directory", ["--data", "/nonexistent/data-dir"], /--data \/nonexistent\/data-dir: no such data directory/],
    ["a bad seed", ["--seed", "1.5"], /--seed must be a non-negative integer/],
  ])("exits with code 2 and one clear line for %s", async (_name, args, message) => {
    const dataArgs = args.includes("--data") ? [] : ["--data", data];
    const trainEndArgs = args.includes("--train-end") ? [] : ["--train-end", TRAIN_END];
    const run = await runPipeline([...dataArgs, ...trainEndArgs, "--out", join(work, "never"), ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.split("\n")[0]).toMatch(/^error: /);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

/** The largest |computed − shipped| beyond what storing `computed` as int8 rows may round away (f32: nothing). */
function maxStorageError(computed: Float32Array, shipped: Float32Array, dim: number): number {
  let worst = 0;
  for (let row = 0; row * dim < computed.length; row++) {
    let maxAbs = 0;
    for (let d = 0; d < dim; d++) maxAbs = Math.max(maxAbs, Math.abs(computed[row * dim + d] as number));
    const halfStep = maxAbs / 127 / 2;
    for (let d = 0; d < dim; d++) worst = Math.max(worst, Math.abs((computed[row * dim + d] as number) - (shipped[row * dim + d] as number)) - halfStep);
  }
  return worst;
}
