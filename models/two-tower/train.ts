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
  /**
   * The clicks the logQ correction's item shares are counted over. By default the rows trained on; a fine-tune passes
   * the whole history's, so that one day's popularity is not read as the items' sampling probability.
   */
  readonly logQFrom?: { readonly item: Int32Array; readonly rows: Int32Array };
  readonly seed: number;
  readonly log?: (line: string) => void;
  /** Called after each epoch, e.g. to measure recall on a validation slice. */
  readonly afterEpoch?: (epoch: number) => string | undefined;
  /**
   * Early stopping: a held-out measure taken after each epoch (higher is better, e.g. `heldOutRecall`); the
   * parameters of the epoch where it was highest are kept. Without it, the last epoch's are.
   */
  readonly selectBy?: { readonly name: string; readonly measure: () => number };
}

/** What `trainRetrieval` did: the training loss and the held-out measure per epoch, and the epoch the model holds. */
export interface RetrievalTrainingResult {
  readonly losses: number[];
  readonly heldOut: number[];
  readonly keptEpoch: number;
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
export function trainRetrieval(model: TwoTowerModel, examples: RetrievalExamples, rows: Int32Array, options: RetrievalTrainingOptions): RetrievalTrainingResult {
  const rng = new Rng(options.seed);
  const optimizer = new Adam(model.parameters(), { lr: options.learningRate });
  const frequency = new Map<number, number>();
  const counted = options.logQFrom ?? { item: examples.item, rows };
  for (const r of counted.rows) frequency.set(counted.item[r] as number, (frequency.get(counted.item[r] as number) ?? 0) + 1);
  const countedTotal = counted.rows.length;
  const order = Int32Array.from(rows);
  const losses: number[] = [];
  const heldOut: number[] = [];
  // the in-batch softmax overfits a few days of clicks within a few epochs: keep the epoch the held-out clicks prefer
  const parameters = model.parameters();
  let best: { epoch: number; value: number; data: Float32Array[] } | undefined;
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
      const logitOffset = options.logQCorrection ? Float32Array.from(candidateIds, (item) => -Math.log((frequency.get(item) ?? 1) / countedTotal)) : undefined;
      const targets = Int32Array.from({ length: batchRows.length }, (_, i) => i);
      lossSum += optimizer.minimize(() => {
        const logits = matmulNT(model.userForward(users), model.itemForward(items));
        return softmaxCrossEntropy(logits, targets, { temperature: options.temperature, logitOffset, candidateIds });
      });
      batches++;
    }
    const loss = lossSum / Math.max(1, batches);
    losses.push(loss);
    let measured = "";
    if (options.selectBy) {
      const value = options.selectBy.measure();
      heldOut.push(value);
      measured = ` ${options.selectBy.name} ${value.toFixed(4)}`;
      if (!best || value > best.value) best = { epoch, value, data: parameters.map((p) => Float32Array.from(p.data)) };
    }
    const extra = options.afterEpoch?.(epoch);
    options.log?.(`${model.name} epoch ${epoch}: loss ${loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)${measured}${extra ? ` ${extra}` : ""}`);
  }
  if (best && options.selectBy && best.epoch < options.epochs) {
    parameters.forEach((p, i) => p.data.set(best.data[i] as Float32Array));
    options.log?.(`${model.name}: keeping epoch ${best.epoch} (the best ${options.selectBy.name})`);
  }
  return { losses, heldOut, keptEpoch: best?.epoch ?? options.epochs };
}

/**
 * Recall@k of held-out clicks over the whole catalogue: for each example in `rows`, whether its clicked item is among
 * the k catalogue items (embedded from `catalogue`) closest to the example's user embedding. What retrieval is for,
 * where the in-batch loss rewards only telling a click from a few hundred popular negatives.
 */
export function heldOutRecall(model: TwoTowerModel, examples: RetrievalExamples, rows: Int32Array, catalogue: ItemTowerInputs, k: number): number {
  if (rows.length === 0) return 0;
  const dim = model.architecture.outputDim;
  const items = embedItems(model, catalogue);
  const users = embedUsers(model, takeUserRows(model.spec, examples.users, rows));
  const count = catalogue.size;
  let hits = 0;
  for (let e = 0; e < rows.length; e++) {
    const target = examples.item[rows[e] as number] as number;
    const scores = new Float64Array(count);
    for (let item = 0; item < count; item++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += (users[e * dim + d] as number) * (items[item * dim + d] as number);
      scores[item] = dot;
    }
    const own = scores[target] as number;
    let above = 0;
    for (let item = 0; item < count && above < k; item++) if ((scores[item] as number) > own) above++;
    if (above < k) hits++;
  }
  return hits / rows.length;
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
