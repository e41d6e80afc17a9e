import type { ItemTowerInputs, UserTowerInputs } from "../../core/features/tower-features";
import { topKOverlap } from "../../core/ranking/fidelity";
import { topK } from "../../core/util/top-k";
import { Adam, Rng, bceWithLogits, embedding, rowDot, scale } from "../autodiff";
import { shuffle } from "../mtml/train";
import type { TwoTowerModel } from "../two-tower/model";
import { takeItemRows, takeUserRows } from "../two-tower/rows";

/**
 * One distillation request: a user's candidate pool and which candidates the second stage (MTML plus the
 * value model) puts in its top K — the first stage's PSelect label.
 */
export interface DistillationRequest {
  readonly user: number;
  readonly pool: Int32Array;
  /** 1 where the pool item is in the second stage's top K. */
  readonly selected: Uint8Array;
}

/** Marks the top `k` of `values` (second-stage scores of a pool) as selected. */
export function selectTopK(values: Float64Array, k: number): Uint8Array {
  const selected = new Uint8Array(values.length);
  for (const i of topK(values, k)) selected[i] = 1;
  return selected;
}

export interface DistillationData {
  readonly requests: readonly DistillationRequest[];
  /** User tower inputs, one row per request (row r = requests[r]). */
  readonly users: UserTowerInputs;
  /** Item tower inputs for the whole catalogue (row = item), as of the serving snapshot. */
  readonly items: ItemTowerInputs;
}

export interface FirstStageTrainingOptions {
  readonly epochs: number;
  readonly requestsPerBatch: number;
  /** Pool items sampled per request and step: half selected, half not (fewer when a pool is short). */
  readonly itemsPerRequest: number;
  readonly learningRate: number;
  /** Dot products of unit vectors are divided by this before the sigmoid. */
  readonly temperature: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
  readonly afterEpoch?: (epoch: number) => string | undefined;
}

export const DEFAULT_FIRST_STAGE_TRAINING: Omit<FirstStageTrainingOptions, "seed"> = {
  epochs: 6,
  requestsPerBatch: 32,
  itemsPerRequest: 64,
  learningRate: 2e-3,
  temperature: 0.1,
};

/**
 * Trains the first-stage two-tower on PSelect: a pointwise BCE on (user, pool item) pairs with the
 * second stage's top-K membership as the label, balanced per request so every request teaches the
 * boundary between what the second stage keeps and what it drops.
 */
export function trainFirstStage(model: TwoTowerModel, data: DistillationData, requestRows: Int32Array, options: FirstStageTrainingOptions): number[] {
  const rng = new Rng(options.seed);
  const optimizer = new Adam(model.parameters(), { lr: options.learningRate });
  const order = Int32Array.from(requestRows);
  const losses: number[] = [];
  const half = Math.max(1, Math.floor(options.itemsPerRequest / 2));
  const positivesOf = data.requests.map((request) => request.pool.filter((_, i) => request.selected[i] === 1));
  const negativesOf = data.requests.map((request) => request.pool.filter((_, i) => request.selected[i] === 0));
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    shuffle(order, rng);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += options.requestsPerBatch) {
      const batch = order.subarray(start, Math.min(order.length, start + options.requestsPerBatch));
      const owner: number[] = [];
      const items: number[] = [];
      const labels: number[] = [];
      batch.forEach((request, b) => {
        const positives = positivesOf[request] as Int32Array;
        const negatives = negativesOf[request] as Int32Array;
        for (const [pool, label] of [[positives, 1], [negatives, 0]] as const) {
          const draws = Math.min(half, pool.length);
          for (let d = 0; d < draws; d++) {
            owner.push(b);
            items.push(pool[rng.int(pool.length)] as number);
            labels.push(label);
          }
        }
      });
      if (items.length === 0) continue;
      const users = takeUserRows(model.spec, data.users, batch);
      const itemInputs = takeItemRows(model.spec, data.items, items);
      const ownerIds = Int32Array.from(owner);
      const labelValues = Float32Array.from(labels);
      lossSum += optimizer.minimize(() => {
        const userEmbeddings = embedding(model.userForward(users), ownerIds);
        const logits = scale(rowDot(userEmbeddings, model.itemForward(itemInputs)), 1 / options.temperature);
        return bceWithLogits(logits, labelValues);
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

/** Mean top-k overlap between each request's second-stage and first-stage scores of its pool. */
export function fidelity(requests: readonly { secondStage: ArrayLike<number>; firstStage: ArrayLike<number>; keep: number }[]): number {
  if (requests.length === 0) return 0;
  return requests.reduce((sum, request) => sum + topKOverlap(request.secondStage, request.firstStage, request.keep), 0) / requests.length;
}
