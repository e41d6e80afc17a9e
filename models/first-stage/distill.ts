import type { ItemTowerInputs, UserTowerInputs } from "../../core/features/tower-features";
import { topKOverlap } from "../../core/ranking/fidelity";
import { Adam, Rng, embedding, mse, reshape, rowDot, scale, sliceColumns, sub } from "../autodiff";
import { shuffle } from "../mtml/train";
import type { TwoTowerModel } from "../two-tower/model";
import { takeItemRows, takeUserRows } from "../two-tower/rows";

/**
 * One distillation request: a user's candidate pool and the log of the second stage's expected value (the MTML's
 * probabilities through the value model's weights) for each pool item. The first stage learns that part only: the
 * value model's prior (exposure, affinity, retrieval score) is exact and cheap at serving time, so it is added to
 * the first stage's estimate there rather than learned, and tuning the prior never stales the first stage.
 */
export interface DistillationRequest {
  readonly user: number;
  readonly pool: Int32Array;
  /** log EV per pool item. */
  readonly logValue: Float32Array;
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
  /** Item pairs drawn per request and step. */
  readonly pairsPerRequest: number;
  readonly learningRate: number;
  /** Dot products of unit vectors are divided by this: the quotient estimates log EV (up to a per-user constant). */
  readonly temperature: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
  readonly afterEpoch?: (epoch: number) => string | undefined;
}

export const DEFAULT_FIRST_STAGE_TRAINING: Omit<FirstStageTrainingOptions, "seed"> = {
  epochs: 6,
  requestsPerBatch: 32,
  pairsPerRequest: 32,
  learningRate: 2e-3,
  temperature: 0.1,
};

/**
 * Trains the first-stage two-tower to estimate log EV within each request: for pairs of pool items of one user,
 * the difference of their scores (dot/τ) regresses on the difference of their log EV. Differences, because only
 * the order within a user's candidates matters, and a per-user constant is something a dot product of unit
 * vectors cannot represent anyway.
 */
export function trainFirstStage(model: TwoTowerModel, data: DistillationData, requestRows: Int32Array, options: FirstStageTrainingOptions): number[] {
  const rng = new Rng(options.seed);
  const optimizer = new Adam(model.parameters(), { lr: options.learningRate });
  const order = Int32Array.from(requestRows);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    shuffle(order, rng);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += options.requestsPerBatch) {
      const batch = order.subarray(start, Math.min(order.length, start + options.requestsPerBatch));
      const owner: number[] = [];
      const items: number[] = [];
      const differences: number[] = [];
      batch.forEach((request, b) => {
        const { pool, logValue } = data.requests[request] as DistillationRequest;
        if (pool.length < 2) return;
        for (let p = 0; p < options.pairsPerRequest; p++) {
          const first = rng.int(pool.length);
          const second = rng.int(pool.length);
          // interleaved: the pair's two items are rows 2k and 2k + 1, so a reshape to [pairs, 2] lines them up
          owner.push(b, b);
          items.push(pool[first] as number, pool[second] as number);
          differences.push((logValue[first] as number) - (logValue[second] as number));
        }
      });
      if (items.length === 0) continue;
      const users = takeUserRows(model.spec, data.users, batch);
      const itemInputs = takeItemRows(model.spec, data.items, items);
      const ownerIds = Int32Array.from(owner);
      const target = Float32Array.from(differences);
      lossSum += optimizer.minimize(() => {
        const userEmbeddings = embedding(model.userForward(users), ownerIds);
        const scores = reshape(scale(rowDot(userEmbeddings, model.itemForward(itemInputs)), 1 / options.temperature), [differences.length, 2]);
        return mse(sub(sliceColumns(scores, 0, 1), sliceColumns(scores, 1, 2)), target);
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
