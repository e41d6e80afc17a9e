import type { TrainingData } from "../../core/data/dataset";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import type { ServingConfig } from "../../core/config/serving";
import { fitFeatures, type FittedFeatures } from "../../core/features/fit-spec";
import { allocateMtmlInputs, writeMtmlRow } from "../../core/features/mtml-features";
import type { DayByDayReplay } from "../../core/features/replay";
import type { FeatureSpec } from "../../core/features/spec";
import { allocateItemTowerInputs, allocateUserTowerInputs, writeItemTowerRow, writeUserTowerRow, type ItemTowerInputs } from "../../core/features/tower-features";
import { LABELS } from "../../core/data/labels";
import { exploreLogPrior, impressionValue, relativeExposure, retrievalAffinity } from "../../core/ranking/value-model";
import { topK } from "../../core/util/top-k";
import { Rng } from "../autodiff";
import { DEFAULT_FIRST_STAGE_TRAINING, fidelity, trainFirstStage, type DistillationRequest } from "../first-stage/distill";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel } from "../mtml/model";
import { buildMtmlRows, featureContext, takeMtmlRows, userContextFor, type MtmlRows } from "../mtml/rows";
import { DEFAULT_MTML_TRAINING, labelAucs, predictMtml, trainMtml, type EpochReport } from "../mtml/train";
import { DEFAULT_TOWER_ARCHITECTURE, TwoTowerModel } from "../two-tower/model";
import { buildRetrievalExamples, type RetrievalExamples } from "../two-tower/rows";
import { DEFAULT_RETRIEVAL_TRAINING, embedItems, embedUsers, heldOutRecall, trainRetrieval } from "../two-tower/train";
import { DEFAULT_HOLDOUT, chooseHoldout } from "../tuning/holdout";
import { LapTimer } from "../../core/util/lap-timer";

/** Retrieval's epochs are judged by held-out recall at this share of the catalogue (~1,000 of KuaiRand's 7,583 items: the quota). */
const HELD_OUT_RECALL_SHARE = 0.13;

/** The MTML's validation slice needs this many impressions on each side (smaller data sets get a clear error). */
const MIN_VALIDATION_EVENTS = 50;

/** The MTML's validation slice of a training window: a suffix of its events, the rows before it being the fit. */
export function mtmlValidationHoldout(train: TrainingData): ReturnType<typeof chooseHoldout> {
  return chooseHoldout(train.events, { ...DEFAULT_HOLDOUT, timezoneOffsetMinutes: train.timezoneOffsetMinutes, minEvents: MIN_VALIDATION_EVENTS });
}

export interface TrainAllOptions {
  readonly seed: number;
  readonly config: ServingConfig;
  readonly log: (line: string) => void;
  readonly mtmlEpochs?: number;
  readonly retrievalEpochs?: number;
  readonly firstStageEpochs?: number;
  /** Users whose pools teach the first stage (a deterministic sample). */
  readonly distillationUsers?: number;
  /** Pool = retrieval top N ∪ popularity top N. */
  readonly distillationPool?: number;
  /**
   * Skip the MTML's validation run (a model trained on the window before the validation slice and measured on it):
   * the tuner's throwaway models need no validation of their own.
   */
  readonly skipValidation?: boolean;
}

export interface TrainedModels {
  readonly fitted: FittedFeatures;
  readonly spec: FeatureSpec;
  readonly mtml: MtmlModel;
  readonly retrieval: TwoTowerModel;
  readonly firstStage: TwoTowerModel;
  /** Counters and user activity at the end of the training window. */
  readonly finalState: DayByDayReplay;
  readonly retrievalItemEmbeddings: Float32Array;
  readonly firstStageItemEmbeddings: Float32Array;
  /** Item tower inputs of every catalogue item as of the end of training (what the embeddings came from). */
  readonly catalogueItemInputs: ItemTowerInputs;
  /** The validation slice's MTML rows (features from the days before), for checking exported and quantized models. */
  readonly checkRows: { inputs: MtmlRows["inputs"]; labels: Float32Array };
  readonly metrics: Record<string, unknown>;
}

/**
 * What every model of a window is trained on: the fitted features, the MTML rows with the validation slice, the
 * retrieval examples and the catalogue's item inputs as of the window's end. Deterministic, so a worker thread that
 * trains the stage models and the thread that distils the first stage derive the same (scripts/pipeline).
 */
export interface WindowRows {
  readonly fitted: FittedFeatures;
  readonly rows: MtmlRows;
  readonly validation: ReturnType<typeof chooseHoldout>;
  readonly checkRows: TrainedModels["checkRows"];
  readonly examples: RetrievalExamples;
  readonly catalogueItemInputs: ItemTowerInputs;
  readonly seconds: number;
}

export function buildWindowRows(train: TrainingData): WindowRows {
  const started = performance.now();
  const fitted = fitFeatures(train);
  const rows = buildMtmlRows(train, fitted);
  // rows are the training events in time order, so the validation slice is a suffix of them
  const validation = mtmlValidationHoldout(train);
  const validationRows = Int32Array.from({ length: rows.inputs.size - validation.fit.size }, (_, i) => validation.fit.size + i);
  const checkRows = { inputs: takeMtmlRows(rows.spec, rows.inputs, validationRows), labels: gatherLabels(rows.labels, validationRows) };
  const examples = buildRetrievalExamples(train, fitted, rows.spec);
  // the catalogue as of the end of the window, for the held-out recall and then the shipped item embeddings
  const context = featureContext(train, fitted, examples.spec, rows.finalState);
  const catalogueSize = train.items.ids.size;
  const catalogueItemInputs = allocateItemTowerInputs(examples.spec, catalogueSize);
  for (let item = 0; item < catalogueSize; item++) writeItemTowerRow(context, item, train.endMs, catalogueItemInputs, item);
  return { fitted, rows, validation, checkRows, examples, catalogueItemInputs, seconds: (performance.now() - started) / 1000 };
}

/** The models that do not depend on the serving config: the MTML and the retrieval two-tower. */
export interface StageModels {
  readonly mtml: MtmlModel;
  readonly retrieval: TwoTowerModel;
  readonly metrics: Record<string, unknown>;
}

export type StageTrainingOptions = Pick<TrainAllOptions, "seed" | "log" | "mtmlEpochs" | "retrievalEpochs" | "skipValidation">;

/**
 * The MTML first trains on the window before its validation slice (the last share of events, `chooseHoldout`) and
 * is measured on that slice (the logged validation), then retrains on everything; the retrieval model keeps the
 * epoch that best retrieves the slice's held-out clicks.
 */
export function trainStageModels(train: TrainingData, window: WindowRows, options: StageTrainingOptions): StageModels {
  const { log, seed } = options;
  const { rows, validation, checkRows, examples, catalogueItemInputs: itemInputs } = window;
  const metrics: Record<string, unknown> = { seconds_features: Number(window.seconds.toFixed(2)) };
  const timer = new LapTimer();
  const lap = (name: string) => {
    timer.split(name);
    metrics[`seconds_${name}`] = timer.seconds[name];
    return (timer.seconds[name] as number).toFixed(1);
  };
  log(`features: ${rows.inputs.size} impressions, ${rows.spec.dense.names.length} dense + ${rows.spec.categorical.length} categorical slots (${window.seconds.toFixed(1)} s)`);

  // --- second stage: MTML ---
  const everyRow = Int32Array.from({ length: rows.inputs.size }, (_, i) => i);
  const earlierRows = everyRow.subarray(0, validation.fit.size);
  const mtmlTraining = { ...DEFAULT_MTML_TRAINING, epochs: options.mtmlEpochs ?? DEFAULT_MTML_TRAINING.epochs, seed };
  if (!options.skipValidation) {
    log(`mtml: validating on the last ${rows.inputs.size - earlierRows.length} impressions (${validation.describe}), training on the ${earlierRows.length} before`);
    const probe = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(seed));
    const reports = trainMtml(probe, rows, earlierRows, { ...mtmlTraining, log: (line) => log(`  ${line}`) }, checkRows);
    metrics.mtml_validation = reports.map((report: EpochReport) => ({ epoch: report.epoch, loss: round(report.loss), auc: roundRecord(report.validationAuc ?? {}) }));
  }
  log(`mtml: final training on all ${rows.inputs.size} impressions`);
  const mtml = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(seed));
  const final = trainMtml(mtml, rows, everyRow, { ...mtmlTraining, log: (line) => log(`  ${line}`) });
  metrics.mtml_train_loss = final.map((report) => round(report.loss));
  metrics.mtml_architecture = { ...DEFAULT_MTML_ARCHITECTURE };
  log(`mtml done (${lap("mtml")} s)`);

  // --- retrieval two-tower ---
  // the validation slice's clicks of every tenth user are held out: the epoch they are best retrieved at is kept
  const heldOutExample = (e: number) => (examples.ts[e] as number) >= validation.cutMs && (examples.user[e] as number) % 10 === 0;
  const exampleRows = Int32Array.from({ length: examples.item.length }, (_, i) => i).filter((e) => !heldOutExample(e));
  const validationExamples = Int32Array.from({ length: examples.item.length }, (_, i) => i).filter(heldOutExample);
  const retrievalTraining = { ...DEFAULT_RETRIEVAL_TRAINING, epochs: options.retrievalEpochs ?? DEFAULT_RETRIEVAL_TRAINING.epochs, seed: seed + 1 };
  const retrieval = new TwoTowerModel("retrieval", examples.spec, DEFAULT_TOWER_ARCHITECTURE, new Rng(seed + 1));
  const recallDepth = Math.max(1, Math.round(train.items.ids.size * HELD_OUT_RECALL_SHARE));
  const retrievalTrained = trainRetrieval(retrieval, examples, exampleRows, {
    ...retrievalTraining,
    log: (line) => log(`  ${line}`),
    ...(validationExamples.length > 0 ? { selectBy: { name: `held-out recall@${recallDepth} (${validationExamples.length} clicks)`, measure: () => heldOutRecall(retrieval, examples, validationExamples, itemInputs, recallDepth) } } : {}),
  });
  metrics.retrieval_train_loss = retrievalTrained.losses.map(round);
  metrics.retrieval_held_out_recall = retrievalTrained.heldOut.map(round);
  metrics.retrieval_kept_epoch = retrievalTrained.keptEpoch;
  metrics.retrieval_examples = examples.item.length;
  metrics.retrieval_validation_examples = Array.from(examples.ts).filter((ts) => ts >= validation.cutMs).length;
  log(`retrieval done: ${examples.item.length} click examples (${lap("retrieval")} s)`);
  return { mtml, retrieval, metrics };
}

/**
 * The first stage distils the final MTML and the value model's expected value (with `options.config`'s weights)
 * over candidate pools; with the stage models it makes the window's trained models.
 */
export function distilFirstStage(train: TrainingData, window: WindowRows, stage: StageModels, options: TrainAllOptions): TrainedModels {
  const { log, seed } = options;
  const { fitted, rows, checkRows, examples, catalogueItemInputs: itemInputs } = window;
  const { mtml, retrieval } = stage;
  const spec = examples.spec;
  const finalState = rows.finalState;
  const metrics: Record<string, unknown> = { ...stage.metrics };
  const timer = new LapTimer();

  // --- serving-time item embeddings ---
  const retrievalItemEmbeddings = embedItems(retrieval, itemInputs);

  // --- first stage: distil MTML + value model over candidate pools ---
  const distillation = buildDistillation(train, fitted, spec, mtml, retrieval, retrievalItemEmbeddings, itemInputs, finalState, options);
  const firstStage = new TwoTowerModel("first_stage", spec, DEFAULT_TOWER_ARCHITECTURE, new Rng(seed + 2));
  const requestRows = Int32Array.from({ length: distillation.requests.length }, (_, i) => i);
  const heldOut = requestRows.filter((r) => r % 10 === 0);
  const trainingRequests = requestRows.filter((r) => r % 10 !== 0);
  // held out: does the first stage's estimate plus the exact prior keep what the second stage keeps?
  const keepShare = options.config.firstStage.keep / 1500;
  const heldOutFidelity = () => {
    const items = embedItems(firstStage, itemInputs);
    const users = embedUsers(firstStage, distillation.users);
    const dim = firstStage.architecture.outputDim;
    return fidelity(Array.from(heldOut, (r) => {
      const request = distillation.requests[r] as DistillationRequest & { logPrior: Float64Array };
      const secondStage = Float64Array.from(request.pool, (_, i) => (request.logValue[i] as number) + (request.logPrior[i] as number));
      const firstStageScores = Float64Array.from(request.pool, (item, i) => dot(users, r, items, item, dim) / DEFAULT_FIRST_STAGE_TRAINING.temperature + (request.logPrior[i] as number));
      return { secondStage, firstStage: firstStageScores, keep: Math.max(1, Math.round(request.pool.length * keepShare)) };
    }));
  };
  const firstStageLosses = trainFirstStage(firstStage, distillation, trainingRequests, {
    ...DEFAULT_FIRST_STAGE_TRAINING,
    epochs: options.firstStageEpochs ?? DEFAULT_FIRST_STAGE_TRAINING.epochs,
    seed: seed + 2,
    log: (line) => log(`  ${line}`),
    afterEpoch: () => `held-out fidelity ${heldOutFidelity().toFixed(3)}`,
  });
  metrics.first_stage_train_loss = firstStageLosses.map(round);
  metrics.first_stage_held_out_fidelity = round(heldOutFidelity());
  metrics.distillation_requests = distillation.requests.length;
  const firstStageItemEmbeddings = embedItems(firstStage, itemInputs);
  timer.split("first_stage");
  metrics.seconds_first_stage = timer.seconds.first_stage;
  log(`first stage done: ${distillation.requests.length} requests (${(timer.seconds.first_stage as number).toFixed(1)} s)`);

  return { fitted, spec, mtml, retrieval, firstStage, finalState, retrievalItemEmbeddings, firstStageItemEmbeddings, catalogueItemInputs: itemInputs, checkRows, metrics };
}

/**
 * Trains the three models on a training window: the stage models (`trainStageModels`), then the first stage
 * distilled from them (`distilFirstStage`).
 */
export function trainAll(train: TrainingData, options: TrainAllOptions): TrainedModels {
  const window = buildWindowRows(train);
  return distilFirstStage(train, window, trainStageModels(train, window, options), options);
}

export function buildDistillation(
  train: TrainingData,
  fitted: FittedFeatures,
  spec: FeatureSpec,
  mtml: MtmlModel,
  retrieval: TwoTowerModel,
  retrievalItemEmbeddings: Float32Array,
  itemInputs: ItemTowerInputs,
  state: DayByDayReplay,
  options: TrainAllOptions,
) {
  const rng = new Rng(options.seed + 3);
  const users = [...state.activities.keys()].sort((a, b) => a - b);
  for (let i = users.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [users[i], users[j]] = [users[j] as number, users[i] as number];
  }
  const sample = users.slice(0, options.distillationUsers ?? 1000);
  const poolSize = options.distillationPool ?? 300;
  const context = featureContext(train, fitted, spec, state);
  const userInputs = allocateUserTowerInputs(spec, sample.length);
  sample.forEach((user, r) => writeUserTowerRow(context, userContextFor(train, fitted, user, state.activity(user)), userInputs, r));
  const userEmbeddings = embedUsers(retrieval, userInputs);
  const popular = new DecayedPopularity(train).order.subarray(0, poolSize);
  const dim = retrieval.architecture.outputDim;
  const catalogueSize = train.items.ids.size;
  const { valueModel } = options.config;
  let totalExposure = 0;
  for (let item = 0; item < catalogueSize; item++) totalExposure += state.itemCounters.decayedImpressions[item] as number;
  const meanExposure = totalExposure / Math.max(1, catalogueSize);
  const requests: (DistillationRequest & { logPrior: Float64Array })[] = [];
  sample.forEach((user, r) => {
    const scores = new Float32Array(catalogueSize);
    for (let item = 0; item < catalogueSize; item++) scores[item] = dot(userEmbeddings, r, retrievalItemEmbeddings, item, dim);
    const pool = Int32Array.from(new Set([...topK(scores, poolSize), ...popular]));
    const inputs = allocateMtmlInputs(spec, pool.length);
    const userContext = userContextFor(train, fitted, user, state.activity(user));
    pool.forEach((item, i) => writeMtmlRow(context, userContext, item, options.config.defaultSurface, train.endMs, inputs, i));
    const probabilities = predictMtml(mtml, inputs);
    const userEmbedding = userEmbeddings.subarray(r * dim, (r + 1) * dim);
    const logValue = Float32Array.from(pool, (_, i) => Math.log(Math.max(impressionValue(valueModel, probabilities, i), MIN_DISTILLED_VALUE)));
    // the pools come from no retrieval stage, so the prior here has no retrieval score
    const logPrior = Float64Array.from(pool, (item) => exploreLogPrior(valueModel, {
      relativeExposure: relativeExposure(state.itemCounters.decayedImpressions[item] as number, meanExposure),
      affinity: retrievalAffinity(userEmbedding, retrievalItemEmbeddings, item, dim, DEFAULT_RETRIEVAL_TRAINING.temperature),
      sourceScore: 0,
    }));
    requests.push({ user, pool, logValue, logPrior });
  });
  return { requests, users: userInputs, items: itemInputs };
}

/** log EV is floored here for distillation: below it, items differ only in how unlikely they are to matter. */
const MIN_DISTILLED_VALUE = 1e-3;

function dot(a: Float32Array, row: number, b: Float32Array, column: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) sum += (a[row * dim + d] as number) * (b[column * dim + d] as number);
  return sum;
}

function gatherLabels(labels: Float32Array, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * LABELS.length);
  rows.forEach((r, i) => out.set(labels.subarray(r * LABELS.length, (r + 1) * LABELS.length), i * LABELS.length));
  return out;
}

const round = (value: number) => Number(value.toFixed(4));
function roundRecord(record: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, value === null ? null : round(value)]));
}

export { labelAucs };
