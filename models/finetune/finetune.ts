/**
 * Fine-tuning: the three models of an active bundle, warm-started from the trainer weights it saved, trained for a
 * few steps on the events it has not seen, and judged beside it on the newest of those events.
 *
 * - Rows: the new events only, with features from the same replay of the whole history as the pipeline's rows, and
 *   the base bundle's vocabularies and dense statistics (models/finetune/rows.ts).
 * - Held out: the newest `holdoutShare` of the new events, by time. Neither model trains on them; the gate compares
 *   the MTML AUCs and the retrieval recall there. The candidate's models have trained through the cut, so the next
 *   fine-tune starts at the cut and the held-out events are trained on then: no event is skipped by the models.
 * - MTML: a pass over the new rows (optionally with older ones rehearsed), at a lower learning rate than training
 *   from scratch (Adam starts afresh).
 * - Retrieval: the new clicks with older ones rehearsed, in-batch softmax as in training; kept only if it retrieves
 *   every tenth user's new clicks (left out of its training) better than the base did.
 * - First stage: distilled again from the fine-tuned MTML and retrieval over pools of a sample of users, warm.
 */
import { z } from "zod";
import type { TrainingData } from "../../core/data/dataset";
import { LABELS } from "../../core/data/labels";
import type { ServingConfig } from "../../core/config/serving";
import type { FittedFeatures } from "../../core/features/fit-spec";
import type { FeatureSpec } from "../../core/features/spec";
import { allocateItemTowerInputs, writeItemTowerRow, type ItemTowerInputs } from "../../core/features/tower-features";
import { Rng } from "../autodiff";
import { DEFAULT_FIRST_STAGE_TRAINING, trainFirstStage } from "../first-stage/distill";
import { MtmlModel, type MtmlArchitecture } from "../mtml/model";
import { featureContext, takeMtmlRows } from "../mtml/rows";
import { DEFAULT_MTML_TRAINING, labelAucs, predictMtml, trainMtml } from "../mtml/train";
import { buildDistillation, type TrainedModels } from "../pipeline/train-all";
import { TwoTowerModel, type TowerArchitecture } from "../two-tower/model";
import { DEFAULT_RETRIEVAL_TRAINING, embedItems, heldOutRecall, trainRetrieval } from "../two-tower/train";
import { LapTimer } from "../../core/util/lap-timer";
import { DEFAULT_GATE_TOLERANCE, GATED_LABELS, MIN_GATED_EXAMPLES, judge, type GateMeasure, type GateVerdict } from "./gate";
import { buildFinetuneRows } from "./rows";
import { loadModelWeights, weightsArchitecture } from "./weights";
import { InsufficientDataError } from "../../core/data/errors";

/** The trainer weights a bundle saved (`models.warm_start`, models/finetune/weights.ts). */
export interface WarmStartWeights {
  readonly mtml: Uint8Array;
  readonly retrieval: Uint8Array;
  readonly firstStage: Uint8Array;
}

export interface WarmModels {
  readonly mtml: MtmlModel;
  readonly retrieval: TwoTowerModel;
  readonly firstStage: TwoTowerModel;
}

/** Builds the three models with the architectures their weights were saved with, and loads the weights. */
const positive = z.number().int().positive();
const mtmlArchitectureSchema = z.object({ idDim: positive, categoricalDim: positive, tagDim: positive, hidden: z.array(positive), experts: positive, userIdEmbedding: z.boolean() });
const towerArchitectureSchema = z.object({ outputDim: positive, idDim: positive, categoricalDim: positive, tagDim: positive, hidden: z.array(positive) });

function savedArchitecture<T>(schema: z.ZodType<T>, bytes: Uint8Array, source: string): T {
  const parsed = schema.safeParse(weightsArchitecture(bytes, source));
  if (!parsed.success) throw new Error(`${source}: the saved architecture does not describe this model: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function warmStart(spec: FeatureSpec, weights: WarmStartWeights): WarmModels {
  // the initial values are overwritten; the generator only has to exist
  const rng = new Rng(0);
  const mtml = new MtmlModel(spec, savedArchitecture<MtmlArchitecture>(mtmlArchitectureSchema, weights.mtml, "mtml weights"), rng);
  loadModelWeights(mtml, weights.mtml, "mtml weights");
  const retrieval = new TwoTowerModel("retrieval", spec, savedArchitecture<TowerArchitecture>(towerArchitectureSchema, weights.retrieval, "retrieval weights"), rng);
  loadModelWeights(retrieval, weights.retrieval, "retrieval weights");
  const firstStage = new TwoTowerModel("first_stage", spec, savedArchitecture<TowerArchitecture>(towerArchitectureSchema, weights.firstStage, "first-stage weights"), rng);
  loadModelWeights(firstStage, weights.firstStage, "first-stage weights");
  return { mtml, retrieval, firstStage };
}

export interface FinetuneOptions {
  readonly seed: number;
  /** Share of the new events, newest first by time, held out for the gate. */
  readonly holdoutShare: number;
  /** Passes over the new rows; 0 leaves the models as they were (the warm start's own check). */
  readonly mtmlEpochs: number;
  readonly retrievalEpochs: number;
  readonly firstStageEpochs: number;
  readonly mtmlLearningRate: number;
  /**
   * Retrieval's fine-tune is tried at each of these learning rates, each from the base weights; the selection clicks
   * keep the best of them (the earlier one on a tie: list the smaller steps first), or the base when none retrieves
   * them better.
   */
  readonly retrievalLearningRates: readonly number[];
  readonly firstStageLearningRate: number;
  /**
   * Older impressions (of the whole history) mixed into the MTML's fine-tune, per new impression. Off by default: in the
   * replay (models/README.md) two per new one cost the click and long-view AUCs 0.002 and moved the rare labels' by
   * less than their noise.
   */
  readonly mtmlRehearsal: number;
  /**
   * Older clicks (of the whole history) mixed into retrieval's fine-tune, per new click: a pass over one day's clicks
   * alone moves the towers toward that day.
   */
  readonly retrievalRehearsal: number;
  readonly distillationUsers: number;
  readonly distillationPool: number;
  readonly tolerance: { readonly auc: number; readonly recall: number };
  readonly log: (line: string) => void;
}

/**
 * A third of the from-scratch learning rates and one pass: enough to take in a day's shift without forgetting the
 * weeks before it (the replay in models/README.md measured these). Retrieval tries a thirtieth, a tenth and a third
 * and lets its selection clicks choose.
 */
export const DEFAULT_FINETUNE: Omit<FinetuneOptions, "log"> = {
  seed: 1,
  holdoutShare: 0.2,
  mtmlEpochs: 1,
  retrievalEpochs: 1,
  firstStageEpochs: 1,
  mtmlLearningRate: DEFAULT_MTML_TRAINING.learningRate / 3,
  retrievalLearningRates: [30, 10, 3].map((divisor) => DEFAULT_RETRIEVAL_TRAINING.learningRate / divisor),
  firstStageLearningRate: DEFAULT_FIRST_STAGE_TRAINING.learningRate / 3,
  mtmlRehearsal: 0,
  retrievalRehearsal: 2,
  distillationUsers: 300,
  distillationPool: 300,
  tolerance: DEFAULT_GATE_TOLERANCE,
};

export interface FinetuneInput {
  /** Everything the features may read: the base data's events, then the log's impressions; `endMs` is "now". */
  readonly history: TrainingData;
  /** The base bundle's vocabularies, with its feature spec (dense statistics included). */
  readonly fitted: FittedFeatures;
  readonly weights: WarmStartWeights;
  /** The first event time the base models have not trained on. */
  readonly trainFromMs: number;
  readonly config: ServingConfig;
}

export interface FinetuneResult {
  /** The candidate, in the shape the pipeline's bundle builder takes. */
  readonly trained: TrainedModels;
  readonly verdict: GateVerdict;
  /** The candidate's models trained on the new events before this time; the held-out slice starts here. */
  readonly trainedThroughMs: number;
  readonly counts: { readonly newEvents: number; readonly trainEvents: number; readonly rehearsedEvents: number; readonly heldOutEvents: number; readonly trainClicks: number; readonly selectionClicks: number; readonly heldOutClicks: number; readonly distillationRequests: number };
  readonly seconds: Record<string, number>;
}

/** Retrieval recall is judged at this share of the catalogue, as in the pipeline (~1,000 of KuaiRand's 7,583 items). */
const HELD_OUT_RECALL_SHARE = 0.13;

export function fineTune(input: FinetuneInput, options: FinetuneOptions): FinetuneResult {
  const { history, fitted } = input;
  const { log } = options;
  const timer = new LapTimer();
  const { seconds } = timer;
  const split = (name: string) => timer.split(name);

  const spec = fitted.spec;
  const reachBack = (rehearsal: number) => (rehearsal > 0 ? Number.NEGATIVE_INFINITY : input.trainFromMs);
  const rows = buildFinetuneRows(history, fitted, spec, reachBack(options.mtmlRehearsal), reachBack(options.retrievalRehearsal));
  const newImpressions = indicesWhere(rows.mtml.ts, (ts) => ts >= input.trainFromMs);
  const newEvents = newImpressions.length;
  if (newEvents === 0) throw new InsufficientDataError("fine-tuning", `impressions after ${new Date(input.trainFromMs).toISOString()} (what the bundle's models have not trained on)`, "none");
  const cutMs = rows.mtml.ts[newImpressions[Math.min(newEvents - 1, Math.floor(newEvents * (1 - options.holdoutShare)))] as number] as number;
  const newTrainRows = indicesWhere(rows.mtml.ts, (ts) => ts >= input.trainFromMs && ts < cutMs);
  const trainRows = withRehearsal(newTrainRows, indicesWhere(rows.mtml.ts, (ts) => ts < input.trainFromMs), options.mtmlRehearsal, options.seed + 7);
  const heldOutRows = indicesWhere(rows.mtml.ts, (ts) => ts >= cutMs);
  const newClicks = indicesWhere(rows.retrieval.ts, (ts) => ts >= input.trainFromMs && ts < cutMs);
  const trainClicks = withRehearsal(newClicks, indicesWhere(rows.retrieval.ts, (ts) => ts < input.trainFromMs), options.retrievalRehearsal, options.seed);
  const heldOutClicks = indicesWhere(rows.retrieval.ts, (ts) => ts >= cutMs);
  log(`rows: ${newEvents} new impressions (${newTrainRows.length} to train on with ${trainRows.length - newTrainRows.length} older ones rehearsed, ${heldOutRows.length} held out from ${new Date(cutMs).toISOString()}), ${trainClicks.length} + ${heldOutClicks.length} clicks`);
  split("features");

  const base = warmStart(spec, input.weights);
  const candidate = warmStart(spec, input.weights);
  split("warm_start");

  trainMtml(candidate.mtml, rows.mtml, trainRows, { ...DEFAULT_MTML_TRAINING, epochs: options.mtmlEpochs, learningRate: options.mtmlLearningRate, seed: options.seed, log: (line) => log(`  ${line}`) });
  split("mtml");
  // every tenth user's new clicks choose between the fine-tuned retrieval and its base (early stopping that may stop at
  // epoch 0): more passes of the in-batch softmax overfit quickly (the pipeline keeps its best epoch for the same
  // reason), and on KuaiRand a day's clicks lowered held-out recall at every learning rate tried (models/README.md)
  const selectionClicks = newClicks.filter((e) => (rows.retrieval.user[e] as number) % 10 === 0);
  const retrievalClicks = trainClicks.filter((e) => !((rows.retrieval.ts[e] as number) >= input.trainFromMs && (rows.retrieval.user[e] as number) % 10 === 0));
  const selectionCatalogue = catalogueInputs(history, fitted, spec, rows.finalState);
  const selectionDepth = Math.max(1, Math.round(selectionCatalogue.size * HELD_OUT_RECALL_SHARE));
  let retrievalKept = "base (not trained)";
  if (options.retrievalEpochs > 0 && retrievalClicks.length >= 2 && options.retrievalLearningRates.length > 0) {
    const parameters = candidate.retrieval.parameters();
    const snapshot = () => parameters.map((p) => Float32Array.from(p.data));
    const restore = (weights: readonly Float32Array[]) => parameters.forEach((p, i) => p.data.set(weights[i] as Float32Array));
    const recall = () => (selectionClicks.length > 0 ? heldOutRecall(candidate.retrieval, rows.retrieval, selectionClicks, selectionCatalogue, selectionDepth) : 0);
    const baseWeights = snapshot();
    const baseRecall = recall();
    // the logQ correction reads item shares over everything before the held-out slice, as the base was trained: the
    // rows here over-sample the new day, and counting shares over them alone lowered every selection recall measured
    const logQFrom = { item: rows.retrieval.item, rows: indicesWhere(rows.retrieval.ts, (ts) => ts < cutMs) };
    let best: { learningRate: number; recall: number; weights: Float32Array[] } | undefined;
    const tried: string[] = [];
    for (const learningRate of options.retrievalLearningRates) {
      restore(baseWeights);
      trainRetrieval(candidate.retrieval, rows.retrieval, retrievalClicks, { ...DEFAULT_RETRIEVAL_TRAINING, epochs: options.retrievalEpochs, learningRate, logQFrom, seed: options.seed + 1, log: (line) => log(`  ${line}`) });
      const value = recall();
      tried.push(`${learningRate.toExponential(1)}: ${value.toFixed(4)}`);
      if (!best || value > best.recall) best = { learningRate, recall: value, weights: snapshot() };
    }
    const measured = `recall@${selectionDepth} on ${selectionClicks.length} selection clicks: base ${baseRecall.toFixed(4)}; fine-tuned at ${tried.join(", ")}`;
    if (best && (selectionClicks.length === 0 || best.recall >= baseRecall)) {
      restore(best.weights);
      retrievalKept = `fine-tuned at ${best.learningRate.toExponential(1)} (${measured})`;
    } else {
      restore(baseWeights);
      retrievalKept = `base (${measured})`;
    }
  }
  log(`retrieval: keeping the ${retrievalKept}`);
  split("retrieval");

  // the catalogue as of "now", for the shipped item embeddings and the held-out recall of both models
  const itemInputs = selectionCatalogue;
  const retrievalItemEmbeddings = embedItems(candidate.retrieval, itemInputs);
  let distillationRequests = 0;
  if (options.firstStageEpochs > 0) {
    const distillation = buildDistillation(history, fitted, spec, candidate.mtml, candidate.retrieval, retrievalItemEmbeddings, itemInputs, rows.finalState, { seed: options.seed, config: input.config, log, distillationUsers: options.distillationUsers, distillationPool: options.distillationPool });
    distillationRequests = distillation.requests.length;
    trainFirstStage(candidate.firstStage, distillation, Int32Array.from({ length: distillationRequests }, (_, i) => i), { ...DEFAULT_FIRST_STAGE_TRAINING, epochs: options.firstStageEpochs, learningRate: options.firstStageLearningRate, seed: options.seed + 2, log: (line) => log(`  ${line}`) });
  }
  const firstStageItemEmbeddings = embedItems(candidate.firstStage, itemInputs);
  split("first_stage");

  const checkRows = { inputs: takeMtmlRows(spec, rows.mtml.inputs, heldOutRows), labels: gatherLabels(rows.mtml.labels, heldOutRows) };
  const verdict = judge(gateMeasures(base, candidate, checkRows, rows.retrieval, heldOutClicks, itemInputs, options.tolerance));
  split("gate");

  const trained: TrainedModels = {
    fitted,
    spec: { ...spec, asOfMs: history.endMs },
    mtml: candidate.mtml,
    retrieval: candidate.retrieval,
    firstStage: candidate.firstStage,
    finalState: rows.finalState,
    retrievalItemEmbeddings,
    firstStageItemEmbeddings,
    catalogueItemInputs: itemInputs,
    checkRows,
    metrics: { finetune_retrieval: retrievalKept, finetune_gate: verdict.rows.map((row) => ({ name: row.name, base: row.base, candidate: row.candidate, verdict: row.verdict })), finetune_seconds: { ...seconds } },
  };
  return {
    trained,
    verdict,
    trainedThroughMs: cutMs,
    counts: { newEvents, trainEvents: newTrainRows.length, rehearsedEvents: trainRows.length - newTrainRows.length, heldOutEvents: heldOutRows.length, trainClicks: retrievalClicks.length, selectionClicks: selectionClicks.length, heldOutClicks: heldOutClicks.length, distillationRequests },
    seconds,
  };
}

/** Base and candidate on the same held-out rows: every label's MTML AUC (three gated) and retrieval recall. */
export function gateMeasures(
  base: WarmModels,
  candidate: WarmModels,
  heldOut: { readonly inputs: Parameters<typeof predictMtml>[1]; readonly labels: Float32Array },
  examples: Parameters<typeof heldOutRecall>[1],
  heldOutClicks: Int32Array,
  catalogue: ItemTowerInputs,
  tolerance: FinetuneOptions["tolerance"],
): GateMeasure[] {
  const baseAucs = labelAucs(predictMtml(base.mtml, heldOut.inputs), heldOut.labels);
  const candidateAucs = labelAucs(predictMtml(candidate.mtml, heldOut.inputs), heldOut.labels);
  const rows = heldOut.labels.length / LABELS.length;
  const measures: GateMeasure[] = LABELS.map((label, l) => {
    let positives = 0;
    for (let r = 0; r < rows; r++) positives += heldOut.labels[r * LABELS.length + l] as number;
    return {
      name: `mtml_auc_${label}`,
      base: baseAucs[label] ?? null,
      candidate: candidateAucs[label] ?? null,
      tolerance: tolerance.auc,
      gated: (GATED_LABELS as readonly string[]).includes(label) && Math.min(positives, rows - positives) >= MIN_GATED_EXAMPLES,
      note: `${positives} positives`,
    };
  });
  const k = Math.max(1, Math.round(catalogue.size * HELD_OUT_RECALL_SHARE));
  const clicks = heldOutClicks.length > 0;
  measures.push({
    name: `retrieval_recall@${k}`,
    base: clicks ? heldOutRecall(base.retrieval, examples, heldOutClicks, catalogue, k) : null,
    candidate: clicks ? heldOutRecall(candidate.retrieval, examples, heldOutClicks, catalogue, k) : null,
    tolerance: tolerance.recall,
    gated: heldOutClicks.length >= MIN_GATED_EXAMPLES,
    note: `${heldOutClicks.length} clicks`,
  });
  return measures;
}

/** The new rows and a deterministic sample of `perNew` old rows for each of them (all old rows when there are fewer). */
function withRehearsal(newRows: Int32Array, oldRows: Int32Array, perNew: number, seed: number): Int32Array {
  const wanted = Math.min(oldRows.length, Math.round(newRows.length * perNew));
  if (wanted === 0) return newRows;
  const pool = Int32Array.from(oldRows);
  const rng = new Rng(seed + 5);
  for (let i = 0; i < wanted; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  const out = new Int32Array(newRows.length + wanted);
  out.set(newRows, 0);
  out.set(pool.subarray(0, wanted), newRows.length);
  return out;
}

/** Item tower inputs of the whole catalogue as of the history's end (what the bundle's item embeddings come from). */
function catalogueInputs(history: TrainingData, fitted: FittedFeatures, spec: FeatureSpec, state: Parameters<typeof featureContext>[3]): ItemTowerInputs {
  const context = featureContext(history, fitted, spec, state);
  const inputs = allocateItemTowerInputs(spec, history.items.ids.size);
  for (let item = 0; item < history.items.ids.size; item++) writeItemTowerRow(context, item, history.endMs, inputs, item);
  return inputs;
}

function indicesWhere(values: Float64Array, keep: (value: number) => boolean): Int32Array {
  const out: number[] = [];
  values.forEach((value, i) => {
    if (keep(value)) out.push(i);
  });
  return Int32Array.from(out);
}

function gatherLabels(labels: Float32Array, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * LABELS.length);
  rows.forEach((r, i) => out.set(labels.subarray(r * LABELS.length, (r + 1) * LABELS.length), i * LABELS.length));
  return out;
}
