/**
 * Trained models → a model bundle in memory (files and manifest): ONNX export with parity checks, int8 quantization,
 * the ANN index, account embeddings, tables, lists and the serving config. The pipeline writes it to a directory;
 * the tuner loads a quick one (trained on the part of the window before the held-out slice) straight from memory.
 */
import { FALLBACK_POPULAR_FILE } from "../../core/bundle/kv-layout";
import { BUNDLE_FORMAT, buildManifestFiles, hashBytes } from "../../core/bundle/manifest";
import type { Dataset, TrainingData } from "../../core/data/dataset";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import { buildCooccurrenceNeighbours, clickHistories } from "../../core/eval/baselines/cooccurrence";
import type { ServingConfig } from "../../core/config/serving";
import { allocateUserTowerInputs, writeUserTowerRow } from "../../core/features/tower-features";
import { encodeEmbeddings, storedEmbeddings, type EmbeddingFormat } from "../../core/serving/embedding-codec";
import { ASSET_FILES, encodeCatalogue, encodeCounters, encodeHistories, encodeItemList, encodeNeighbours, encodeUsers } from "../../core/serving/assets";
import { trainAccountEmbeddings } from "../../models/account-embeddings";
import { buildUserHistories } from "../../models/pipeline/bundle-tables";
import type { TrainedModels } from "../../models/pipeline/train-all";
import { featureContext, takeMtmlRows, userContextFor } from "../../models/mtml/rows";
import { takeItemRows } from "../../models/two-tower/rows";
import { DEFAULT_FIRST_STAGE_TRAINING } from "../../models/first-stage/distill";
import { DEFAULT_RETRIEVAL_TRAINING } from "../../models/two-tower/train";
import packageJson from "../../package.json";
import { buildAnnIndexNative } from "../ann/native";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
import { buildItemShardFiles } from "./item-shards";
import { LABELS, type Label } from "../../core/data/labels";
import type { MtmlInputs } from "../../core/features/mtml-features";
import type { OnnxRuntimeAdapter } from "../../core/inference/types";
import type { Calibrator, MtmlCalibration } from "../../core/ranking/calibration";
import { runMtml } from "../../core/serving/model-runs";
import { chooseCalibrator, type CalibratorChoice } from "../../models/calibration/fit";
import { encodeTrainerModel } from "../../models/finetune/weights";
import { MTML_VARIANTS, buildOneUserMtml, checkMtmlParity, checkTowerParity, measureMtmlVariants, quantizeMtml, type MtmlVariant } from "./export-models";

export const MODEL_FILES = {
  mtml: "models/mtml.onnx",
  mtmlFp32: "models/mtml.fp32.onnx",
  mtmlOneUser: "models/mtml.one-user.onnx",
  retrievalUserTower: "models/retrieval-user-tower.onnx",
  retrievalItemTower: "models/retrieval-item-tower.onnx",
  firstStageUserTower: "models/first-stage-user-tower.onnx",
  firstStageItemTower: "models/first-stage-item-tower.onnx",
  retrievalItemEmbeddings: "embeddings/retrieval-items.i8",
  firstStageItemEmbeddings: "embeddings/first-stage-items.i8",
  retrievalIndex: "index/retrieval.usearch",
  accountEmbeddings: "embeddings/accounts.i8",
  servingConfig: "config/serving.json",
} as const;

/** The trainer's weights of each model, for a later fine-tune's warm start (models/finetune/weights.ts); offline only. */
export const WARM_START_FILES = {
  mtml: "models/weights/mtml.epak",
  retrieval: "models/weights/retrieval.epak",
  first_stage: "models/weights/first-stage.epak",
} as const;

export { MTML_VARIANTS, type MtmlVariant };

export interface BuildBundleOptions {
  readonly dataset: Dataset;
  readonly train: TrainingData;
  readonly trained: TrainedModels;
  readonly config: ServingConfig;
  readonly seed: number;
  /** The training window's last day as the manifest names it (YYYYMMDD), or a description of the cut. */
  readonly trainEnd: string;
  readonly quantization: MtmlVariant;
  /** How the item and account embeddings are stored (core/serving/embedding-codec.ts); "i8-row" unless told. */
  readonly embeddingFormat?: EmbeddingFormat;
  /** Item shards to write besides the whole index (core/shards/layout.ts); none unless asked. */
  readonly itemShards?: number;
  /** "fit" fits a calibrator per MTML task on the held-out check rows; "none" (the default) ships none. */
  readonly calibration?: "fit" | "none";
  /**
   * "full" measures every quantized MTML variant on the check rows and serves the preferred one only if it passes;
   * "quick" quantizes the preferred variant without measuring (the tuner's throwaway bundle).
   */
  readonly checks: "full" | "quick";
  /** Extra manifest sections (the tuning report, say). */
  readonly manifestExtras?: Record<string, unknown>;
  readonly log: (line: string) => void;
}

export interface BuiltBundle {
  readonly version: string;
  readonly manifest: Record<string, unknown>;
  readonly files: Map<string, Uint8Array>;
}

export async function buildBundle(options: BuildBundleOptions): Promise<BuiltBundle> {
  const { dataset, train, trained, config, seed, log } = options;
  const { spec, fitted, finalState } = trained;

  // --- export, check parity, quantize ---
  const metadata = { feature_spec_sha256: await hashBytes(new TextEncoder().encode(JSON.stringify(spec))), train_end: options.trainEnd, seed: String(seed) };
  const files = new Map<string, Uint8Array>();
  const mtmlFp32 = trained.mtml.toOnnx(metadata);
  const runtime = createNodeOrtWebAdapter();
  const parityRows = takeMtmlRows(spec, trained.checkRows.inputs, Int32Array.from({ length: Math.min(1000, trained.checkRows.inputs.size) }, (_, i) => i));
  const mtmlParity = await checkMtmlParity(runtime, trained.mtml, mtmlFp32, parityRows);
  const denseInputNodes = trained.mtml.experts.map((expert) => `${expert.layers[0]?.name}.dense/MatMul`);
  let mtmlSection: Record<string, unknown>;
  let served: { name: MtmlVariant; bytes: Uint8Array };
  if (options.checks === "full") {
    const { chosen, fastest, candidates } = await measureMtmlVariants(runtime, spec, mtmlFp32, denseInputNodes, options.quantization, trained.checkRows, log);
    served = chosen;
    mtmlSection = { quantization: chosen.name, fastest_accepted: fastest.name, candidates: candidates.map((c) => ({ name: c.name, bytes: c.bytes.byteLength, median_ms_batch100: round(c.medianMs ?? Number.NaN), auc: c.auc, max_abs_error: c.maxAbsError, accepted: c.accepted })) };
    log(`mtml: fp32 parity ${mtmlParity.toExponential(2)}; serving ${chosen.name} (fastest accepted here: ${fastest.name})`);
  } else {
    served = { name: options.quantization, bytes: quantizeMtml(options.quantization, mtmlFp32, denseInputNodes) };
    mtmlSection = { quantization: served.name };
  }
  files.set(MODEL_FILES.mtmlFp32, mtmlFp32);
  files.set(MODEL_FILES.mtml, served.bytes);
  const oneUser = await buildOneUserMtml(runtime, trained.mtml, metadata, { variant: served.name, bytes: served.bytes }, denseInputNodes, trained.checkRows.inputs, options.checks === "full" ? 150 : 3);
  if (oneUser) {
    files.set(MODEL_FILES.mtmlOneUser, oneUser.bytes);
    if (options.checks === "full") log(`mtml one-user variant: fp32 parity ${oneUser.parityMaxAbs.toExponential(2)}, max |Δp| vs served ${oneUser.maxAbsErrorVsServed.toExponential(2)}, ${oneUser.medianMs.toFixed(3)} vs ${oneUser.perRowMedianMs.toFixed(3)} ms per batch of 100`);
  }

  const calibration = options.calibration === "fit" ? await fitMtmlCalibration(runtime, served.bytes, trained.checkRows) : undefined;
  if (calibration && options.checks === "full") log(`mtml calibration (held-out log loss none / platt / isotonic → kept): ${LABELS.map((label) => { const c = calibration.choices[label]; return c ? `${label} ${c.heldOutLogLoss.none.toFixed(4)}/${c.heldOutLogLoss.platt.toFixed(4)}/${c.heldOutLogLoss.isotonic.toFixed(4)} → ${c.calibrator.method}` : `${label} —`; }).join(", ")}`);

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
  files.set(WARM_START_FILES.mtml, encodeTrainerModel("mtml", trained.mtml));
  files.set(WARM_START_FILES.retrieval, encodeTrainerModel("retrieval", trained.retrieval));
  files.set(WARM_START_FILES.first_stage, encodeTrainerModel("first_stage", trained.firstStage));
  if (options.checks === "full") log(`towers: fp32 parity ${Object.entries(towerParity).map(([name, diff]) => `${name} ${diff.toExponential(2)}`).join(", ")}`);

  // --- embeddings and the ANN index ---
  // the index and the account embeddings are built from the vectors as stored, so every reader sees one set
  const dim = trained.retrieval.architecture.outputDim;
  const embeddingFormat = options.embeddingFormat ?? "i8-row";
  const paths = embeddingPaths(embeddingFormat);
  const retrievalItems = storedEmbeddings(trained.retrievalItemEmbeddings, dim, embeddingFormat);
  files.set(paths.retrievalItems, encodeEmbeddings(retrievalItems, dim, embeddingFormat));
  files.set(paths.firstStageItems, encodeEmbeddings(trained.firstStageItemEmbeddings, trained.firstStage.architecture.outputDim, embeddingFormat));
  files.set(MODEL_FILES.retrievalIndex, buildAnnIndexNative(retrievalItems, dim, { metric: "ip", threads: 1 }));
  const itemShards = options.itemShards ? buildItemShardFiles(retrievalItems, dim, options.itemShards) : undefined;
  for (const [path, bytes] of itemShards?.files ?? []) files.set(path, bytes);
  // account embeddings for account_nn: the engagement-weighted mean of each author's item embeddings (models/README.md)
  const accounts = trainAccountEmbeddings(train, { seed, itemEmbeddings: { vectors: retrievalItems, dim } });
  files.set(paths.accounts, encodeEmbeddings(accounts.vectors, accounts.dim, embeddingFormat));

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
  const version = `${options.trainEnd}-s${seed}-${contentHash.slice(0, 10)}`;
  const manifest = {
    format: BUNDLE_FORMAT,
    version,
    created_at: new Date().toISOString(),
    producer: `${packageJson.name} ${packageJson.version}`,
    data: { name: dataset.name, train_end: options.trainEnd, train_end_ms: train.endMs, train_events: train.events.size, items: dataset.items.ids.size, users: dataset.users.ids.size },
    seed,
    feature_spec: spec,
    models: {
      mtml: { file: MODEL_FILES.mtml, fp32_file: MODEL_FILES.mtmlFp32, ...mtmlSection, ...(calibration ? { calibration: calibration.calibrators } : {}), parity_max_abs: mtmlParity, ...(oneUser ? { one_user_file: MODEL_FILES.mtmlOneUser, one_user: { bytes: oneUser.bytes.byteLength, parity_max_abs: oneUser.parityMaxAbs, max_abs_error_vs_served: oneUser.maxAbsErrorVsServed, median_ms_batch100: round(oneUser.medianMs), per_row_median_ms_batch100: round(oneUser.perRowMedianMs) } } : {}) },
      retrieval: { user_tower: MODEL_FILES.retrievalUserTower, item_tower: MODEL_FILES.retrievalItemTower, item_embeddings: paths.retrievalItems, item_embeddings_format: embeddingFormat, index: MODEL_FILES.retrievalIndex, ...(itemShards ? { shards: itemShards.section } : {}), dim, metric: "ip", temperature: DEFAULT_RETRIEVAL_TRAINING.temperature, parity_max_abs: towerParity.retrieval },
      accounts: { embeddings: paths.accounts, embeddings_format: embeddingFormat, dim: accounts.dim, method: accounts.method },
      warm_start: WARM_START_FILES,
      first_stage: { user_tower: MODEL_FILES.firstStageUserTower, item_tower: MODEL_FILES.firstStageItemTower, item_embeddings: paths.firstStageItems, item_embeddings_format: embeddingFormat, dim: trained.firstStage.architecture.outputDim, temperature: DEFAULT_FIRST_STAGE_TRAINING.temperature, target: "log expected value (the prior is added at serving)", parity_max_abs: towerParity.first_stage },
    },
    tables: ASSET_FILES,
    serving_config: MODEL_FILES.servingConfig,
    metrics: trained.metrics,
    ...options.manifestExtras,
    files: fileEntries,
  };
  return { version, manifest, files };
}

/** The embeddings' file names say their format (`.i8` by default, `.f32` when stored as float32). */
function embeddingPaths(format: EmbeddingFormat): { retrievalItems: string; firstStageItems: string; accounts: string } {
  const named = (path: string) => (format === "i8-row" ? path : path.replace(/\.i8$/, ".f32"));
  return { retrievalItems: named(MODEL_FILES.retrievalItemEmbeddings), firstStageItems: named(MODEL_FILES.firstStageItemEmbeddings), accounts: named(MODEL_FILES.accountEmbeddings) };
}

function round(value: number): number {
  return Number(value.toFixed(4));
}

/** A calibrator per task, fitted on the served MTML's probabilities for the check rows (models/calibration/fit.ts). */
async function fitMtmlCalibration(runtime: OnnxRuntimeAdapter, servedBytes: Uint8Array, check: { inputs: MtmlInputs; labels: Float32Array }): Promise<{ calibrators: MtmlCalibration; choices: Partial<Record<Label, CalibratorChoice>> }> {
  const session = await runtime.createSession(servedBytes);
  try {
    const probabilities = await runMtml(session, check.inputs);
    const calibrators: Partial<Record<Label, Calibrator>> = {};
    const choices: Partial<Record<Label, CalibratorChoice>> = {};
    LABELS.forEach((label, l) => {
      const column = (matrix: Float32Array) => Float32Array.from({ length: check.inputs.size }, (_, r) => matrix[r * LABELS.length + l] as number);
      const choice = chooseCalibrator(column(probabilities), column(check.labels));
      choices[label] = choice;
      calibrators[label] = choice.calibrator;
    });
    return { calibrators, choices };
  } finally {
    await session.release();
  }
}
