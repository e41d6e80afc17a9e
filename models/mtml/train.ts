import { LABELS } from "../../core/data/labels";
import type { MtmlInputs } from "../../core/features/mtml-features";
import { auc } from "../../core/eval/metrics";
import { Adam, Rng, bceWithLogits, noGrad, sigmoid, tidy } from "../autodiff";
import type { MtmlModel } from "./model";
import { takeMtmlRows } from "./rows";

export interface MtmlTrainingOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Decay the learning rate linearly to this fraction of itself by the last step (1 = constant). */
  readonly finalLearningRateFraction?: number;
  /** Weight of each label's mean BCE in the loss, LABELS order. */
  readonly taskWeights: readonly number[];
  readonly embeddingWeightDecay: number;
  /** L2 penalty on dense weights. */
  readonly weightDecay?: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
}

export const DEFAULT_MTML_TRAINING: Omit<MtmlTrainingOptions, "seed"> = {
  epochs: 2,
  batchSize: 512,
  learningRate: 3e-3,
  finalLearningRateFraction: 0.05,
  // Rare labels get larger weights so their heads still learn from a few hundred positives.
  taskWeights: [1, 1, 1, 0.5, 0.5, 0.5, 0.5],
  embeddingWeightDecay: 1e-6,
};

export interface LabelledRows {
  readonly inputs: MtmlInputs;
  /** [rows × LABELS.length] */
  readonly labels: Float32Array;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  seconds: number;
  validationAuc?: Record<string, number | null>;
}

/** Trains on `rows` (indices into `data`), reporting validation AUC per label after each epoch. */
export function trainMtml(model: MtmlModel, data: LabelledRows, rows: Int32Array, options: MtmlTrainingOptions, validation?: LabelledRows): EpochReport[] {
  const rng = new Rng(options.seed);
  const optimizer = new Adam(model.parameters(), { lr: options.learningRate, embeddingWeightDecay: options.embeddingWeightDecay, weightDecay: options.weightDecay ?? 0 });
  const taskWeights = Float32Array.from(options.taskWeights);
  if (taskWeights.length !== LABELS.length) throw new Error(`trainMtml: ${taskWeights.length} task weights for ${LABELS.length} labels`);
  const order = Int32Array.from(rows);
  const reports: EpochReport[] = [];
  const totalSteps = options.epochs * Math.ceil(order.length / options.batchSize);
  const finalFraction = options.finalLearningRateFraction ?? 1;
  let step = 0;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    shuffle(order, rng);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batchRows = order.subarray(start, Math.min(order.length, start + options.batchSize));
      const batch = takeMtmlRows(model.spec, data.inputs, batchRows);
      const labels = new Float32Array(batchRows.length * LABELS.length);
      for (let i = 0; i < batchRows.length; i++) labels.set(data.labels.subarray((batchRows[i] as number) * LABELS.length, ((batchRows[i] as number) + 1) * LABELS.length), i * LABELS.length);
      optimizer.lr = options.learningRate * (1 - (1 - finalFraction) * (step++ / totalSteps));
      lossSum += optimizer.minimize(() => bceWithLogits(model.forward(batch), labels, { weights: taskWeights, perColumnMean: true }));
      batches++;
    }
    const report: EpochReport = { epoch, loss: lossSum / Math.max(1, batches), seconds: (performance.now() - started) / 1000 };
    if (validation) report.validationAuc = labelAucs(predictMtml(model, validation.inputs), validation.labels);
    options.log?.(formatEpoch(report));
    reports.push(report);
  }
  return reports;
}

/** Probabilities [rows × LABELS.length] from the TypeScript forward pass. */
export function predictMtml(model: MtmlModel, inputs: MtmlInputs, batchSize = 2048): Float32Array {
  const out = new Float32Array(inputs.size * LABELS.length);
  for (let start = 0; start < inputs.size; start += batchSize) {
    const rows = Int32Array.from({ length: Math.min(batchSize, inputs.size - start) }, (_, i) => start + i);
    const batch = takeMtmlRows(model.spec, inputs, rows);
    tidy(() => noGrad(() => out.set(sigmoid(model.forward(batch)).data, start * LABELS.length)));
  }
  return out;
}

export function labelAucs(probabilities: Float32Array, labels: Float32Array): Record<string, number | null> {
  const rows = labels.length / LABELS.length;
  return Object.fromEntries(LABELS.map((label, l) => {
    const scores = new Float32Array(rows);
    const truth = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      scores[r] = probabilities[r * LABELS.length + l] as number;
      truth[r] = labels[r * LABELS.length + l] as number;
    }
    return [label, auc(scores, truth)];
  }));
}

function formatEpoch(report: EpochReport): string {
  const aucs = report.validationAuc ? ` val AUC ${Object.entries(report.validationAuc).map(([label, value]) => `${label} ${value === null ? "—" : value.toFixed(3)}`).join(" ")}` : "";
  return `mtml epoch ${report.epoch}: loss ${report.loss.toFixed(4)} (${report.seconds.toFixed(1)} s)${aucs}`;
}

export function shuffle(values: Int32Array, rng: Rng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = values[i] as number;
    values[i] = values[j] as number;
    values[j] = t;
  }
}
