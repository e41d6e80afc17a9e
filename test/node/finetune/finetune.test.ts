// npm run finetune's work on a tiny synthetic KuaiRand-shaped data set: a base bundle trained through day 3 in
// process, the day-4 impressions written as the Worker's event log, then fine-tunes from them. Checks the warm start
// (zero steps reproduce the base), the gate (a worse candidate is refused, an equal one accepted, nothing written on
// refusal) and a reduced end-to-end fine-tune that writes a bundle serving code decodes.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../../core/data/load";
import { trainingWindow } from "../../../core/data/split";
import type { Dataset, TrainingData } from "../../../core/data/dataset";
import { parseFeatureSpec } from "../../../core/features/spec";
import { runMtml } from "../../../core/serving/model-runs";
import { BundleTables } from "../../../core/serving/bundle-tables";
import { decodeCatalogue, decodeUsers, ASSET_FILES } from "../../../core/serving/assets";
import { DEFAULT_FINETUNE, gateMeasures, warmStart } from "../../../models/finetune/finetune";
import { judge } from "../../../models/finetune/gate";
import { buildFinetuneRows } from "../../../models/finetune/rows";
import { trainAll } from "../../../models/pipeline/train-all";
import { DEFAULT_SERVING_CONFIG } from "../../../models/serving-config";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";
import { DEFAULT_SYNTHETIC_OPTIONS, syntheticDay, writeSyntheticKuaiRand } from "../../../scripts/models/synthetic-kuairand";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { WARM_START_FILES, buildBundle } from "../../../scripts/pipeline/build-bundle";
import { writeLogObject } from "../../../scripts/finetune/log-directory";
import { datasetToLog } from "../../../scripts/finetune/replay-log";
import { runFinetune } from "../../../scripts/finetune/run";
import { maxAbsDiff } from "../models/helpers";
import { DEFAULT_RETRIEVAL_TRAINING, trainRetrieval } from "../../../models/two-tower/train";

const DAY_MS = 86_400_000;
const BASE_END = syntheticDay(DEFAULT_SYNTHETIC_OPTIONS.days - 2);
const LAST_DAY = syntheticDay(DEFAULT_SYNTHETIC_OPTIONS.days - 1);
/** Later than every synthetic hour: every hour of the log is complete. */
const NOW = Date.UTC(2030, 0, 1);
let work: string;
let data: string;
let dataset: Dataset;
let baseEndMs: number;
const quiet = () => {};

async function writeDirectory(directory: string, files: Map<string, Uint8Array>, manifest: Record<string, unknown>): Promise<void> {
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(directory, path)), { recursive: true });
    await writeFile(join(directory, path), bytes);
  }
  await writeFile(join(directory, "manifest.json"), JSON.stringify(manifest));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "finetune-test-"));
  data = join(work, "data");
  await writeSyntheticKuaiRand(data, DEFAULT_SYNTHETIC_OPTIONS);
  dataset = await loadDataset(new DirectoryDataSource(data));
  const window = trainingWindow(dataset, BASE_END);
  baseEndMs = window.trainEndMs;
  const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
  const trained = trainAll(train, { seed: 5, config: DEFAULT_SERVING_CONFIG, log: quiet, mtmlEpochs: 1, retrievalEpochs: 1, firstStageEpochs: 1, distillationUsers: 40, distillationPool: 50, skipValidation: true });
  const built = await buildBundle({ dataset, train, trained, config: DEFAULT_SERVING_CONFIG, seed: 5, trainEnd: BASE_END, quantization: "dynamic-int8-fp32-dense", checks: "quick", log: quiet });
  await writeDirectory(join(work, "base"), built.files, built.manifest);
  for (const object of datasetToLog(dataset, baseEndMs, baseEndMs + DAY_MS, "replay").objects) await writeLogObject(join(work, "log"), object);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The base bundle's feature spec and trainer weights; the fine-tune rows: the new day's impressions, and every click of the history. */
async function baseModelsAndRows() {
  const manifest = JSON.parse(await readFile(join(work, "base", "manifest.json"), "utf8")) as { feature_spec: unknown };
  const spec = parseFeatureSpec(manifest.feature_spec);
  const file = async (path: string) => new Uint8Array(await readFile(join(work, "base", path)));
  const weights = { mtml: await file(WARM_START_FILES.mtml), retrieval: await file(WARM_START_FILES.retrieval), firstStage: await file(WARM_START_FILES.first_stage) };
  const catalogue = decodeCatalogue(await file(ASSET_FILES.catalogue));
  const users = decodeUsers(await file(ASSET_FILES.users));
  const fitted = { spec, userEmbeddingRow: users.userEmbeddingRow, itemEmbeddingRow: catalogue.itemEmbeddingRow, authorEmbeddingRow: catalogue.authorEmbeddingRow };
  const whole = trainingWindow(dataset, LAST_DAY);
  const history: TrainingData = { ...dataset, events: whole.train, endMs: whole.trainEndMs };
  return { spec, weights, rows: buildFinetuneRows(history, fitted, spec, baseEndMs, Number.NEGATIVE_INFINITY) };
}

const small = { distillationUsers: 40, distillationPool: 50 };

describe("warm start", () => {
  it("zero training steps reproduce the base bundle's models", async () => {
    const outcome = await runFinetune({ from: join(work, "base"), events: join(work, "log"), out: join(work, "zero"), data, nowMs: NOW, finetune: { ...small, mtmlEpochs: 0, retrievalEpochs: 0, firstStageEpochs: 0 }, log: quiet });
    // an equal candidate passes: every gated measure is the base's own
    expect(outcome.verdict.passed).toBe(true);
    for (const row of outcome.verdict.rows.filter((r) => r.gated && r.base !== null)) expect(row.candidate, row.name).toBe(row.base);
    expect(outcome.written).toBe(join(work, "zero"));
    for (const path of Object.values(WARM_START_FILES)) {
      expect(Buffer.compare(await readFile(join(work, "base", path)), await readFile(join(work, "zero", path))), path).toBe(0);
    }
    // the exported MTMLs answer alike on the held-out rows
    const runtime = createNodeOrtWebAdapter();
    const rows = outcome.result.trained.checkRows.inputs;
    expect(rows.size).toBeGreaterThan(50);
    const predictions = [];
    for (const bundle of ["base", "zero"]) {
      const session = await runtime.createSession(new Uint8Array(await readFile(join(work, bundle, "models/mtml.fp32.onnx"))));
      predictions.push(await runMtml(session, rows));
      await session.release();
    }
    expect(maxAbsDiff(predictions[0]!, predictions[1]!)).toBeLessThan(1e-6);
  }, 60_000);
});

describe("the gate", () => {
  it("accepts an equal candidate and refuses one that ranks worse", async () => {
    const { spec, weights, rows } = await baseModelsAndRows();
    const everyRow = Int32Array.from({ length: rows.mtml.ts.length }, (_, i) => i);
    const everyClick = Int32Array.from({ length: rows.retrieval.ts.length }, (_, i) => i);
    const heldOut = { inputs: rows.mtml.inputs, labels: rows.mtml.labels };
    const catalogueInputs = rows.retrieval.items; // any item inputs do: both models read the same ones
    const base = warmStart(spec, weights);

    const equal = judge(gateMeasures(base, warmStart(spec, weights), heldOut, rows.retrieval, everyClick.subarray(0, 20), catalogueInputs, DEFAULT_FINETUNE.tolerance));
    expect(equal.passed).toBe(true);

    // the click head turned upside down ranks clicks last
    const worse = warmStart(spec, weights);
    const head = worse.mtml.heads[0]!;
    for (const p of head.parameters()) p.data.forEach((v, i) => (p.data[i] = -v));
    const verdict = judge(gateMeasures(base, worse, heldOut, rows.retrieval, everyClick.subarray(0, 20), catalogueInputs, DEFAULT_FINETUNE.tolerance));
    expect(verdict.passed).toBe(false);
    expect(verdict.rows.find((row) => row.name === "mtml_auc_click")?.verdict).toBe("fail");
    expect(verdict.rows.find((row) => row.name === "mtml_auc_long_view")?.verdict).toBe("pass");
    expect(everyRow.length).toBe(rows.mtml.inputs.size);
  }, 60_000);

  it("writes nothing when the candidate fails", async () => {
    // a tolerance below zero asks the candidate to beat the base by a whole unit of AUC: impossible
    const outcome = await runFinetune({ from: join(work, "base"), events: join(work, "log"), out: join(work, "refused"), data, nowMs: NOW, finetune: { ...small, tolerance: { auc: -1, recall: -1 } }, log: quiet });
    expect(outcome.verdict.passed).toBe(false);
    expect(outcome.written).toBeUndefined();
    await expect(stat(join(work, "refused"))).rejects.toThrow();
  }, 60_000);
});

describe("a reduced fine-tune end to end", () => {
  it("trains on the new day, writes a bundle serving decodes, and records where the next fine-tune starts", async () => {
    const started = performance.now();
    const lines: string[] = [];
    const outcome = await runFinetune({ from: join(work, "base"), events: join(work, "log"), out: join(work, "tuned"), data, nowMs: NOW, finetune: { ...small, tolerance: { auc: 1, recall: 1 } }, log: (line) => lines.push(line) });
    expect((performance.now() - started) / 1000).toBeLessThan(60);
    expect(outcome.written).toBe(join(work, "tuned"));
    expect(lines.some((line) => /gate on the \d+ newest impressions/.test(line))).toBe(true);
    const manifest = JSON.parse(await readFile(join(work, "tuned", "manifest.json"), "utf8")) as { data: { train_end: string; train_end_ms: number }; finetune: { data_end_ms: number; trained_through_ms: number; base_version: string } };
    expect(manifest.data.train_end).toBe(LAST_DAY);
    expect(manifest.data.train_end_ms).toBe(baseEndMs + DAY_MS);
    expect(manifest.finetune.data_end_ms).toBe(baseEndMs);
    expect(manifest.finetune.trained_through_ms).toBeGreaterThan(baseEndMs);
    expect(manifest.finetune.trained_through_ms).toBeLessThan(baseEndMs + DAY_MS);
    // the MTML moved from its warm start
    const base = await readFile(join(work, "base", WARM_START_FILES.mtml));
    expect(Buffer.compare(base, await readFile(join(work, "tuned", WARM_START_FILES.mtml)))).not.toBe(0);
    // serving code reads it, with counters as of the log's end
    const files = new Map<string, Uint8Array>();
    for (const path of Object.keys((manifest as unknown as { files: Record<string, unknown> }).files)) files.set(path, new Uint8Array(await readFile(join(work, "tuned", path))));
    const tables = BundleTables.decode(manifest, files);
    expect(tables.asOfMs).toBe(baseEndMs + DAY_MS);

    // the next fine-tune starts where this one's models stopped: at the held-out slice, not after it
    const again = await runFinetune({ from: join(work, "tuned"), events: join(work, "log"), out: join(work, "again"), data, nowMs: NOW, finetune: { ...small, tolerance: { auc: 1, recall: 1 }, mtmlEpochs: 0, retrievalEpochs: 0, firstStageEpochs: 0 }, log: quiet });
    expect(again.result.counts.newEvents).toBe(outcome.result.counts.heldOutEvents);
  }, 120_000);
});

describe("retrieval's fine-tune", () => {
  it("counts the logQ correction's item shares over the clicks it is given, by default the rows it trains on", async () => {
    const { spec, weights, rows } = await baseModelsAndRows();
    const examples = rows.retrieval;
    const newClicks = Int32Array.from({ length: examples.ts.length }, (_, i) => i).filter((e) => (examples.ts[e] as number) >= baseEndMs);
    const everyClick = Int32Array.from({ length: examples.ts.length }, (_, i) => i);
    expect(newClicks.length).toBeGreaterThan(10);
    expect(everyClick.length).toBeGreaterThan(newClicks.length);
    const trained = (logQFrom?: { item: Int32Array; rows: Int32Array }) => {
      const model = warmStart(spec, weights).retrieval;
      trainRetrieval(model, examples, newClicks, { ...DEFAULT_RETRIEVAL_TRAINING, epochs: 1, learningRate: 1e-3, seed: 3, ...(logQFrom ? { logQFrom } : {}) });
      return model.parameters().map((p) => Float32Array.from(p.data));
    };
    const byDefault = trained();
    const sameRows = trained({ item: examples.item, rows: newClicks });
    const history = trained({ item: examples.item, rows: everyClick });
    expect(sameRows.every((data, i) => maxAbsDiff(data, byDefault[i] as Float32Array) === 0)).toBe(true);
    expect(Math.max(...history.map((data, i) => maxAbsDiff(data, byDefault[i] as Float32Array)))).toBeGreaterThan(0);
  }, 60_000);

  it("tries each learning rate from the base weights and names the one its selection clicks kept", async () => {
    const lines: string[] = [];
    await runFinetune({ from: join(work, "base"), events: join(work, "log"), out: join(work, "rates"), data, nowMs: NOW, finetune: { ...small, mtmlEpochs: 0, firstStageEpochs: 0, tolerance: { auc: 1, recall: 1 }, retrievalLearningRates: [2e-3, 1e-4] }, log: (line) => lines.push(line) });
    const choice = lines.find((line) => line.startsWith("retrieval: keeping the "));
    expect(choice).toMatch(/selection clicks: base \d\.\d{4}; fine-tuned at 2\.0e-3: \d\.\d{4}, 1\.0e-4: \d\.\d{4}/);
    expect(choice).toMatch(/keeping the (base|fine-tuned at (2\.0e-3|1\.0e-4)) \(/);
    // the kept one is the best of the three on the selection clicks
    const [, base, first, second] = /base (\d\.\d{4}); fine-tuned at 2\.0e-3: (\d\.\d{4}), 1\.0e-4: (\d\.\d{4})/.exec(choice as string)!.map(Number);
    const best = Math.max(first as number, second as number);
    if ((best as number) < (base as number)) expect(choice).toMatch(/keeping the base/);
    else expect(choice).toContain(`keeping the fine-tuned at ${best === first ? "2.0e-3" : "1.0e-4"}`);
  }, 120_000);
});
