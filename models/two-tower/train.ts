import { Adam, Rng, matmulNT, noGrad, softmaxCrossEntropy, tidy } from "../autodiff";
import type { ItemTowerInputs, UserTowerInputs } from "../../core/features/tower-features";
import { shuffle } from "../mtml/train";
import type { TwoTowerModel } from "./model";
import { takeItemRows, takeUserRows, type RetrievalExamples } from "./rows";

export interface RetrievalTrainingOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Softmax temperature over cosine similarities. */
  readonly temperature: number;
  /** Subtract log Q(item) from in-batch logits (sampled-softmax correction for popular items). */
  readonly logQCorrection: boolean;
  readonly seed: number;
  readonly log?: (line: string) => void;
  /** Called after each epoch, e.g. to measure recall on a validation slice. */
  readonly afterEpoch?: (epoch: number) => string | undefined;
}

export const DEFAULT_RETRIEVAL_TRAINING: Omit<RetrievalTrainingOptions, "seed"> = {
  epochs: 6,
  batchSize: 1024,
  learningRate: 2e-3,
  temperature: 0.05,
  logQCorrection: true,
};

/**
 * In-batch sampled softmax: each example's item is the target among the batch's items. With logQ
 * correction, logits subtract log of each item's sampling probability (its share of positives), so the
 * model estimates the full softmax instead of penalising popular items for showing up as negatives.
 */
export function trainRetrieval(model: TwoTowerModel, examples: RetrievalExamples, rows: Int32Array, options: RetrievalTrainingOptions): number[] {
  const rng = new Rng(options.seed);
  const optimizer = new Adam(model.parameters(), { lr: options.learningRate });
  const frequency = new Map<number, number>();
  for (const r of rows) frequency.set(examples.item[r] as number, (frequency.get(examples.item[r] as number) ?? 0) + 1);
  const order = Int32Array.from(rows);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    shuffle(order, rng);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start + 1 < order.length; start += options.batchSize) {
      const batchRows = order.subarray(start, Math.min(order.length, start + options.batchSize));
      const users = takeUserRows(model.spec, examples.users, batchRows);
      const items = takeItemRows(model.spec, examples.items, batchRows);
      const candidateIds = Int32Array.from(batchRows, (r) => examples.item[r] as number);
      const logitOffset = options.logQCorrection ? Float32Array.from(candidateIds, (item) => -Math.log((frequency.get(item) ?? 1) / rows.length)) : undefined;
      const targets = Int32Array.from({ length: batchRows.length }, (_, i) => i);
      lossSum += optimizer.minimize(() => {
        const logits = matmulNT(model.userForward(users), model.itemForward(items));
        return softmaxCrossEntropy(logits, targets, { temperature: options.temperature, logitOffset, candidateIds });
      });
      batches++;
    }
    const loss = lossSum / Math.max(1, batches);
    losses.push(loss);
    const extra = options.afterEpoch?.(epoch);
    options.log?.(`${model.name} epoch ${epoch}: loss ${loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)${extra ? ` ${extra}` : ""}`);
  }
  return losses;
}

/** The in-batch softmax loss (no logQ correction) over `rows`, in batches of `batchSize`: a validation measure. */
export function inBatchLoss(model: TwoTowerModel, examples: RetrievalExamples, rows: Int32Array, temperature: number, batchSize = 1024): number {
  let sum = 0;
  let batches = 0;
  for (let start = 0; start + 1 < rows.length; start += batchSize) {
    const batchRows = rows.subarray(start, Math.min(rows.length, start + batchSize));
    const users = takeUserRows(model.spec, examples.users, batchRows);
    const items = takeItemRows(model.spec, examples.items, batchRows);
    const candidateIds = Int32Array.from(batchRows, (r) => examples.item[r] as number);
    const targets = Int32Array.from({ length: batchRows.length }, (_, i) => i);
    sum += tidy(() => noGrad(() => softmaxCrossEntropy(matmulNT(model.userForward(users), model.itemForward(items)), targets, { temperature, candidateIds }).item()));
    batches++;
  }
  return batches === 0 ? Number.NaN : sum / batches;
}

/** Embeddings [rows × outputDim] of a batch of users. */
export function embedUsers(model: TwoTowerModel, inputs: UserTowerInputs, batchSize = 4096): Float32Array {
  const dim = model.architecture.outputDim;
  const out = new Float32Array(inputs.size * dim);
  for (let start = 0; start < inputs.size; start += batchSize) {
    const rows = Int32Array.from({ length: Math.min(batchSize, inputs.size - start) }, (_, i) => start + i);
    const batch = takeUserRows(model.spec, inputs, rows);
    tidy(() => noGrad(() => out.set(model.userForward(batch).data, start * dim)));
  }
  return out;
}

/** Embeddings [rows × outputDim] of a batch of items. */
export function embedItems(model: TwoTowerModel, inputs: ItemTowerInputs, batchSize = 4096): Float32Array {
  const dim = model.architecture.outputDim;
  const out = new Float32Array(inputs.size * dim);
  for (let start = 0; start < inputs.size; start += batchSize) {
    const rows = Int32Array.from({ length: Math.min(batchSize, inputs.size - start) }, (_, i) => start + i);
    const batch = takeItemRows(model.spec, inputs, rows);
    tidy(() => noGrad(() => out.set(model.itemForward(batch).data, start * dim)));
  }
  return out;
}
