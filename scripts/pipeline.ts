/**
 * npm run pipeline -- --data <dir> --train-end <YYYYMMDD> --out <bundle-dir> [--seed N]
 *
 * Loads the data, builds features, trains the MTML, the retrieval two-tower and the distilled first stage,
 * exports and quantizes them, builds the ANN index and writes a model bundle (see models/README.md).
 */
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { FALLBACK_POPULAR_FILE } from "../core/bundle/kv-layout";
import { BUNDLE_FORMAT, buildManifestFiles, hashBytes } from "../core/bundle/manifest";
import { loadDataset } from "../core/data/load";
import { trainingWindow } from "../core/data/split";
import { DecayedPopularity } from "../core/eval/baselines/popularity";
import { buildCooccurrenceNeighbours, clickHistories } from "../core/eval/baselines/cooccurrence";
import type { TrainingData } from "../core/eval/types";
import { DEFAULT_SERVING_CONFIG } from "../core/funnel/config";
import { allocateUserTowerInputs, writeUserTowerRow } from "../core/features/tower-features";
import { ASSET_FILES, encodeCatalogue, encodeCounters, encodeHistories, encodeItemList, encodeNeighbours, encodeUsers } from "../core/serving/assets";
import { buildUserHistories } from "../models/pipeline/bundle-tables";
import { trainAccountEmbeddings } from "../models/account-embeddings";
import { trainAll } from "../models/pipeline/train-all";
import { DEFAULT_RETRIEVAL_TRAINING } from "../models/two-tower/train";
import { featureContext, takeMtmlRows, userContextFor } from "../models/mtml/rows";
import { takeItemRows } from "../models/two-tower/rows";
import packageJson from "../package.json";
import { buildAnnIndexNative } from "./ann/native";
import { DirectoryDataSource } from "./lib/directory-source";
import { UsageError, runCli } from "./lib/cli";
import { createNodeOrtWebAdapter } from "./onnx/ort-web-node";
import { MTML_VARIANTS, checkMtmlParity, checkTowerParity, buildOneUserMtml, measureMtmlVariants, type MtmlVariant } from "./pipeline/export-models";

const USAGE = "usage: npm run pipeline -- [--data <dir>] [--train-end YYYYMMDD] [--out <bundle-dir>] [--seed N] [--quantization fp32|dynamic-int8|dynamic-int8-fp32-dense|qdq-int8]";

export const MODEL_FILES = {
  mtml: "models/mtml.onnx",
  mtmlFp32: "models/mtml.fp32.onnx",
  mtmlOneUser: "models/mtml.one-user.onnx",
  retrievalUserTower: "models/retrieval-user-tower.onnx",
  retrievalItemTower: "models/retrieval-item-tower.onnx",
  firstStageUserTower: "models/first-stage-user-tower.onnx",
  firstStageItemTower: "models/first-stage-item-tower.onnx",
  retrievalItemEmbeddings: "embeddings/retrieval-items.f32",
  firstStageItemEmbeddings: "embeddings/first-stage-items.f32",
  retrievalIndex: "index/retrieval.usearch",
  accountEmbeddings: "embeddings/accounts.f32",
  servingConfig: "config/serving.json",
} as const;

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      out: { type: "string", default: "bundles/default" },
      seed: { type: "string", default: "1" },
      quantization: { type: "string", default: "dynamic-int8-fp32-dense" },
    },
    strict: true,
  });
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError("--seed must be a non-negative integer");
  if (!(MTML_VARIANTS as readonly string[]).includes(values.quantization)) throw new UsageError(`--quantization must be one of ${MTML_VARIANTS.join(", ")}`);
  const started = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

  // a wrong --data is a usage mistake (exit 2 with one line), not a crash with a stack trace
  if (!(await stat(values.data).catch(() => undefined))?.isDirectory()) throw new UsageError(`--data ${values.data}: no such data directory`);
  await assertReplaceableBundleDirectory(values.out);
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const window = trainingWindow(dataset, values["train-end"]);
  const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
  log(`loaded ${values.data}: ${train.events.size} training events through ${values["train-end"]}, ${dataset.items.ids.size} items, ${dataset.users.ids.size} users`);

  // the data set says which surfaces count as Home (Suggested Posts' H seeds)
  const config = dataset.homeSurfaces.length > 0 ? { ...DEFAULT_SERVING_CONFIG, suggested: { ...DEFAULT_SERVING_CONFIG.suggested, homeSurfaces: [...dataset.homeSurfaces] } } : DEFAULT_SERVING_CONFIG;
  const trained = trainAll(train, { seed, config, log });
  const { spec, fitted, finalState } = trained;

  // --- export, check parity, quantize ---
  const metadata = { feature_spec_sha256: await hashBytes(new TextEncoder().encode(JSON.stringify(spec))), train_end: values["train-end"], seed: String(seed) };
  const files = new Map<string, Uint8Array>();
  const mtmlFp32 = trained.mtml.toOnnx(metadata);
  const runtime = createNodeOrtWebAdapter();
  const parityRows = takeMtmlRows(spec, trained.checkRows.inputs, Int32Array.from({ length: Math.min(1000, trained.checkRows.inputs.size) }, (_, i) => i));
  const mtmlParity = await checkMtmlParity(runtime, trained.mtml, mtmlFp32, parityRows);
  const denseInputNodes = trained.mtml.experts.map((expert) => `${expert.layers[0]?.name}.dense/MatMul`);
  const { chosen, fastest, candidates } = await measureMtmlVariants(runtime, spec, mtmlFp32, denseInputNodes, values.quantization as MtmlVariant, trained.checkRows, log);
  files.set(MODEL_FILES.mtmlFp32, mtmlFp32);
  files.set(MODEL_FILES.mtml, chosen.bytes);
  log(`mtml: fp32 parity ${mtmlParity.toExponential(2)}; serving ${chosen.name} (fastest accepted here: ${fastest.name})`);
  const oneUser = await buildOneUserMtml(runtime, trained.mtml, metadata, { variant: chosen.name, bytes: chosen.bytes }, denseInputNodes, trained.checkRows.inputs);
  if (oneUser) {
    files.set(MODEL_FILES.mtmlOneUser, oneUser.bytes);
    log(`mtml one-user variant: fp32 parity ${oneUser.parityMaxAbs.toExponential(2)}, max |Δp| vs served ${oneUser.maxAbsErrorVsServed.toExponential(2)}, ${oneUser.medianMs.toFixed(3)} vs ${oneUser.perRowMedianMs.toFixed(3)} ms per batch of 100`);
  }

  const context = featureContext(train, fitted, spec, finalState);
  const sampleUsers = [...finalState.activities.keys()].slice(0, 200);
  const userInputs = allocateUserTowerInputs(spec, sampleUsers.length);
  sampleUsers.forEach((user, r) => writeUserTowerRow(context, userContextFor(train, fitted, user, finalState.activity(user)), userInputs, r));
  const towerParity: Record<string, number> = {};
  for (const [model, userFile, itemFile] of [
    [trained.retrieval, MODEL_FILES.retrievalUserTower, MODEL_FILES.retrievalItemTower],
    [trained.firstStage, MODEL_FILES.firstStageUserTower, MODEL_FILES.firstStageItemTower],
  ] as const) {
    const userBytes = model.userTowerOnnx(metadata);
    const itemBytes = model.itemTowerOnnx(metadata);
    const items = takeItemRows(spec, trained.catalogueItemInputs, Int32Array.from({ length: Math.min(500, dataset.items.ids.size) }, (_, i) => i));
    towerParity[model.name] = await checkTowerParity(runtime, model, userBytes, itemBytes, userInputs, items);
    files.set(userFile, userBytes);
    files.set(itemFile, itemBytes);
  }
  log(`towers: fp32 parity ${Object.entries(towerParity).map(([name, diff]) => `${name} ${diff.toExponential(2)}`).join(", ")}`);

  // --- embeddings and the ANN index ---
  const dim = trained.retrieval.architecture.outputDim;
  files.set(MODEL_FILES.retrievalItemEmbeddings, bytesOf(trained.retrievalItemEmbeddings));
  files.set(MODEL_FILES.firstStageItemEmbeddings, bytesOf(trained.firstStageItemEmbeddings));
  files.set(MODEL_FILES.retrievalIndex, buildAnnIndexNative(trained.retrievalItemEmbeddings, dim, { metric: "ip", threads: 1 }));
  // account embeddings for account_nn: the engagement-weighted mean of each author's item embeddings (models/README.md)
  const accounts = trainAccountEmbeddings(train, { seed, itemEmbeddings: { vectors: trained.retrievalItemEmbeddings, dim } });
  files.set(MODEL_FILES.accountEmbeddings, bytesOf(accounts.vectors));

  // --- tables and lists ---
  files.set(ASSET_FILES.catalogue, encodeCatalogue({ items: dataset.items, itemEmbeddingRow: fitted.itemEmbeddingRow, authorEmbeddingRow: fitted.authorEmbeddingRow }));
  files.set(ASSET_FILES.users, encodeUsers({ users: dataset.users, userEmbeddingRow: fitted.userEmbeddingRow }));
  files.set(ASSET_FILES.history, encodeHistories(buildUserHistories(train.events, dataset.users.ids.size)));
  files.set(ASSET_FILES.counters, encodeCounters(finalState.itemCounters, finalState.authorCounters));
  files.set(ASSET_FILES.cooccurrence, encodeNeighbours(buildCooccurrenceNeighbours(clickHistories(train, 50), dataset.items.ids.size, 100)));
  const popularity = new DecayedPopularity(train);
  const popular = popularity.order.slice(0, 2000);
  files.set(ASSET_FILES.popular, encodeItemList(popular, Float32Array.from(popular, (item) => popularity.scores[item] as number)));
  const fallback = Array.from(popular.subarray(0, 300), (item) => ({ item_id: dataset.items.ids.id(item), author_id: dataset.items.authors.id(dataset.items.author[item] as number), score: round(popularity.scores[item] as number) }));
  files.set(FALLBACK_POPULAR_FILE, new TextEncoder().encode(`${JSON.stringify(fallback)}\n`));
  files.set(MODEL_FILES.servingConfig, new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));

  // --- manifest ---
  const fileEntries = await buildManifestFiles(files);
  const contentHash = await hashBytes(new TextEncoder().encode(JSON.stringify(fileEntries)));
  const version = `${values["train-end"]}-s${seed}-${contentHash.slice(0, 10)}`;
  const manifest = {
    format: BUNDLE_FORMAT,
    version,
    created_at: new Date().toISOString(),
    producer: `${packageJson.name} ${packageJson.version}`,
    data: { name: dataset.name, train_end: values["train-end"], train_end_ms: train.endMs, train_events: train.events.size, items: dataset.items.ids.size, users: dataset.users.ids.size },
    seed,
    feature_spec: spec,
    models: {
      mtml: { file: MODEL_FILES.mtml, fp32_file: MODEL_FILES.mtmlFp32, quantization: chosen.name, fastest_accepted: fastest.name, candidates: candidates.map((c) => ({ name: c.name, bytes: c.bytes.byteLength, median_ms_batch100: round(c.medianMs ?? Number.NaN), auc: c.auc, max_abs_error: c.maxAbsError, accepted: c.accepted })), parity_max_abs: mtmlParity, ...(oneUser ? { one_user_file: MODEL_FILES.mtmlOneUser, one_user: { bytes: oneUser.bytes.byteLength, parity_max_abs: oneUser.parityMaxAbs, max_abs_error_vs_served: oneUser.maxAbsErrorVsServed, median_ms_batch100: round(oneUser.medianMs), per_row_median_ms_batch100: round(oneUser.perRowMedianMs) } } : {}) },
      retrieval: { user_tower: MODEL_FILES.retrievalUserTower, item_tower: MODEL_FILES.retrievalItemTower, item_embeddings: MODEL_FILES.retrievalItemEmbeddings, index: MODEL_FILES.retrievalIndex, dim, metric: "ip", temperature: DEFAULT_RETRIEVAL_TRAINING.temperature, parity_max_abs: towerParity.retrieval },
      accounts: { embeddings: MODEL_FILES.accountEmbeddings, dim: accounts.dim, method: accounts.method },
      first_stage: { user_tower: MODEL_FILES.firstStageUserTower, item_tower: MODEL_FILES.firstStageItemTower, item_embeddings: MODEL_FILES.firstStageItemEmbeddings, dim: trained.firstStage.architecture.outputDim, parity_max_abs: towerParity.first_stage },
    },
    tables: ASSET_FILES,
    serving_config: MODEL_FILES.servingConfig,
    metrics: trained.metrics,
    files: fileEntries,
  };

  await rm(values.out, { recursive: true, force: true });
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(values.out, path)), { recursive: true });
    await writeFile(join(values.out, path), bytes);
  }
  await writeFile(join(values.out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const totalBytes = [...files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
  log(`wrote bundle ${version} to ${values.out}: ${files.size} files, ${(totalBytes / 1024 / 1024).toFixed(1)} MiB`);
});

/** The output directory is deleted and rewritten: refuse anything that is not empty or a previous bundle. */
async function assertReplaceableBundleDirectory(directory: string): Promise<void> {
  const entries = await readdir(directory).catch(() => undefined);
  if (entries === undefined || entries.length === 0 || entries.includes("manifest.json")) return;
  throw new UsageError(`--out ${directory} is neither empty nor a bundle (no manifest.json): refusing to replace it`);
}

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

function round(value: number): number {
  return Number(value.toFixed(4));
}
