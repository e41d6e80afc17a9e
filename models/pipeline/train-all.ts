import type { TrainingData } from "../../core/eval/types";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import type { ServingConfig } from "../../core/funnel/config";
import { fitFeatures, type FittedFeatures } from "../../core/features/fit-spec";
import { allocateMtmlInputs, writeMtmlRow } from "../../core/features/mtml-features";
import type { DayByDayReplay } from "../../core/features/replay";
import type { FeatureSpec } from "../../core/features/spec";
import { allocateItemTowerInputs, allocateUserTowerInputs, writeItemTowerRow, writeUserTowerRow, type ItemTowerInputs } from "../../core/features/tower-features";
import { LABELS } from "../../core/data/labels";
import { exploreScore, retrievalAffinity } from "../../core/ranking/value-model";
import { topK } from "../../core/util/top-k";
import { Rng } from "../autodiff";
import { DEFAULT_FIRST_STAGE_TRAINING, fidelity, selectTopK, trainFirstStage, type DistillationRequest } from "../first-stage/distill";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel } from "../mtml/model";
import { buildMtmlRows, featureContext, takeMtmlRows, userContextFor, type MtmlRows } from "../mtml/rows";
import { DEFAULT_MTML_TRAINING, labelAucs, predictMtml, trainMtml, type EpochReport } from "../mtml/train";
import { DEFAULT_TOWER_ARCHITECTURE, TwoTowerModel } from "../two-tower/model";
import { buildRetrievalExamples } from "../two-tower/rows";
import { DEFAULT_RETRIEVAL_TRAINING, embedItems, embedUsers, inBatchLoss, trainRetrieval } from "../two-tower/train";

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
  /** Last-day MTML rows (features from the days before), for checking exported and quantized models. */
  readonly checkRows: { inputs: MtmlRows["inputs"]; labels: Float32Array };
  readonly metrics: Record<string, unknown>;
}

/**
 * Trains the three models on a training window. The MTML first trains on all days but the last and is
 * measured on the last day (the logged validation), then retrains on every day; the retrieval model likewise
 * reports its in-batch loss on the last day. The first stage distils the final MTML and value model.
 */
export function trainAll(train: TrainingData, options: TrainAllOptions): TrainedModels {
  const { log, seed } = options;
  const metrics: Record<string, unknown> = {};
  let started = performance.now();
  const lap = (name: string) => {
    const seconds = (performance.now() - started) / 1000;
    metrics[`seconds_${name}`] = Number(seconds.toFixed(2));
    started = performance.now();
    return seconds.toFixed(1);
  };

  const fitted = fitFeatures(train);
  const rows = buildMtmlRows(train, fitted);
  log(`features: ${rows.inputs.size} impressions, ${rows.spec.dense.names.length} dense + ${rows.spec.categorical.length} categorical slots (${lap("features")} s)`);

  // --- second stage: MTML ---
  const lastDay = rows.day[rows.day.length - 1] as number;
  const everyRow = Int32Array.from({ length: rows.inputs.size }, (_, i) => i);
  const earlierRows = everyRow.filter((r) => rows.day[r] !== lastDay);
  const lastDayRows = everyRow.filter((r) => rows.day[r] === lastDay);
  const checkRows = { inputs: takeMtmlRows(rows.spec, rows.inputs, lastDayRows), labels: gatherLabels(rows.labels, lastDayRows) };
  const mtmlTraining = { ...DEFAULT_MTML_TRAINING, epochs: options.mtmlEpochs ?? DEFAULT_MTML_TRAINING.epochs, seed };
  log(`mtml: validating on the last training day (${lastDayRows.length} impressions), training on the ${lastDay} days before`);
  const probe = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(seed));
  const validation = trainMtml(probe, rows, earlierRows, { ...mtmlTraining, log: (line) => log(`  ${line}`) }, checkRows);
  metrics.mtml_validation = validation.map((report: EpochReport) => ({ epoch: report.epoch, loss: round(report.loss), auc: roundRecord(report.validationAuc ?? {}) }));
  log(`mtml: final training on all ${rows.inputs.size} impressions`);
  const mtml = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(seed));
  const final = trainMtml(mtml, rows, everyRow, { ...mtmlTraining, log: (line) => log(`  ${line}`) });
  metrics.mtml_train_loss = final.map((report) => round(report.loss));
  metrics.mtml_architecture = { ...DEFAULT_MTML_ARCHITECTURE };
  log(`mtml done (${lap("mtml")} s)`);

  // --- retrieval two-tower ---
  const examples = buildRetrievalExamples(train, fitted, rows.spec);
  const spec = examples.spec;
  const lastDayStart = rows.finalState.dayStart((train.events.ts[train.events.size - 1] as number));
  // the last day's clicks of every tenth user are held out to report a validation loss per epoch
  const heldOutExample = (e: number) => (examples.ts[e] as number) >= lastDayStart && (examples.user[e] as number) % 10 === 0;
  const exampleRows = Int32Array.from({ length: examples.item.length }, (_, i) => i).filter((e) => !heldOutExample(e));
  const validationRows = Int32Array.from({ length: examples.item.length }, (_, i) => i).filter(heldOutExample);
  const retrievalTraining = { ...DEFAULT_RETRIEVAL_TRAINING, epochs: options.retrievalEpochs ?? DEFAULT_RETRIEVAL_TRAINING.epochs, seed: seed + 1 };
  const retrieval = new TwoTowerModel("retrieval", spec, DEFAULT_TOWER_ARCHITECTURE, new Rng(seed + 1));
  const retrievalLosses = trainRetrieval(retrieval, examples, exampleRows, {
    ...retrievalTraining,
    log: (line) => log(`  ${line}`),
    afterEpoch: () => `held-out loss ${inBatchLoss(retrieval, examples, validationRows, retrievalTraining.temperature).toFixed(4)} (${validationRows.length} last-day clicks)`,
  });
  metrics.retrieval_train_loss = retrievalLosses.map(round);
  metrics.retrieval_examples = examples.item.length;
  metrics.retrieval_last_day_examples = Array.from(examples.ts).filter((ts) => ts >= lastDayStart).length;
  log(`retrieval done: ${examples.item.length} click examples (${lap("retrieval")} s)`);

  // --- serving-time state and item embeddings ---
  const finalState = rows.finalState;
  const context = featureContext(train, fitted, spec, finalState);
  const catalogueSize = train.items.ids.size;
  const itemInputs = allocateItemTowerInputs(spec, catalogueSize);
  for (let item = 0; item < catalogueSize; item++) writeItemTowerRow(context, item, train.endMs, itemInputs, item);
  const retrievalItemEmbeddings = embedItems(retrieval, itemInputs);

  // --- first stage: distil MTML + value model over candidate pools ---
  const distillation = buildDistillation(train, fitted, spec, mtml, retrieval, retrievalItemEmbeddings, itemInputs, finalState, options);
  const firstStage = new TwoTowerModel("first_stage", spec, DEFAULT_TOWER_ARCHITECTURE, new Rng(seed + 2));
  const requestRows = Int32Array.from({ length: distillation.requests.length }, (_, i) => i);
  const heldOut = requestRows.filter((r) => r % 10 === 0);
  const trainingRequests = requestRows.filter((r) => r % 10 !== 0);
  const heldOutFidelity = () => {
    const items = embedItems(firstStage, itemInputs);
    const users = embedUsers(firstStage, distillation.users);
    const dim = firstStage.architecture.outputDim;
    return fidelity(Array.from(heldOut, (r) => {
      const request = distillation.requests[r] as DistillationRequest & { secondStage: Float64Array };
      const firstStageScores = Float64Array.from(request.pool, (item) => dot(users, r, items, item, dim));
      return { secondStage: request.secondStage, firstStage: firstStageScores, keep: request.selected.reduce((sum, s) => sum + s, 0) };
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
  log(`first stage done: ${distillation.requests.length} requests (${lap("first_stage")} s)`);

  return { fitted, spec, mtml, retrieval, firstStage, finalState, retrievalItemEmbeddings, firstStageItemEmbeddings, catalogueItemInputs: itemInputs, checkRows, metrics };
}

function buildDistillation(
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
  // second stage keeps firstStage.keep of a production pool (~1,500); training pools are smaller, so keep the same share
  const keepShare = options.config.firstStage.keep / 1500;
  const requests: (DistillationRequest & { secondStage: Float64Array })[] = [];
  sample.forEach((user, r) => {
    const scores = new Float32Array(catalogueSize);
    for (let item = 0; item < catalogueSize; item++) scores[item] = dot(userEmbeddings, r, retrievalItemEmbeddings, item, dim);
    const pool = Int32Array.from(new Set([...topK(scores, poolSize), ...popular]));
    const inputs = allocateMtmlInputs(spec, pool.length);
    const userContext = userContextFor(train, fitted, user, state.activity(user));
    pool.forEach((item, i) => writeMtmlRow(context, userContext, item, options.config.defaultSurface, train.endMs, inputs, i));
    const probabilities = predictMtml(mtml, inputs);
    const userEmbedding = userEmbeddings.subarray(r * dim, (r + 1) * dim);
    const secondStage = Float64Array.from(pool, (item, i) => exploreScore(options.config.valueModel, probabilities, i, state.itemCounters.decayedImpressions[item] as number, retrievalAffinity(userEmbedding, retrievalItemEmbeddings, item, dim, DEFAULT_RETRIEVAL_TRAINING.temperature)));
    requests.push({ user, pool, selected: selectTopK(secondStage, Math.max(1, Math.round(pool.length * keepShare))), secondStage });
  });
  return { requests, users: userInputs, items: itemInputs };
}

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
