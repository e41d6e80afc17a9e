import { SOURCE_NAMES, type ServingConfig } from "../../core/config/serving";
import type { ExploreValueModel } from "../../core/config/value-model";
import { createRandom } from "../../core/util/random";
import { retrievalScores } from "./objective";
import type { Replay } from "./replay";

/** What the learned exposure model sets in the value model: the prior's weights. */
export type LearnedPrior = Pick<ExploreValueModel, "exposureExponent" | "retrievalExponent" | "sourceWeights">;

export interface ExposureFit {
  readonly prior: LearnedPrior;
  /** The fitted intercept and mean log-loss on the training pairs, for the report. */
  readonly intercept: number;
  readonly logLoss: number;
  readonly positives: number;
  readonly negatives: number;
}

/**
 * The alternative to searching the prior for the feed's NDCG: learn it as a model of P(shown | user, item), a
 * logistic regression over the same signals the prior reads (log(E_i/Ē + π), the two-tower affinity and each
 * source's rank-normalised score), trained on the held-out slice: among each replayed user's retrieved candidates
 * (after the filters), those the user was shown in the slice are positives, the others sampled negatives. The fitted
 * coefficients are the prior's weights (clamped at 0, as the value model takes no negative weight), so the feed ranks
 * by EV · P(shown). Seeded and deterministic.
 */
export function fitExposurePrior(replay: Replay, config: ServingConfig, options: { readonly seed: number; readonly negativesPerPositive?: number; readonly epochs?: number } = { seed: 1 }): ExposureFit {
  const shown = new Map<number, Set<number>>();
  const { impressions } = replay;
  for (let i = 0; i < impressions.size; i++) {
    const key = impressions.user[i] as number;
    let items = shown.get(key);
    if (!items) shown.set(key, (items = new Set()));
    items.add(impressions.item[i] as number);
  }
  const next = createRandom(options.seed);
  const features: number[][] = [];
  const labels: number[] = [];
  const width = 2 + SOURCE_NAMES.length;
  const share = config.valueModel.exposurePriorShare;
  const negativesPerPositive = options.negativesPerPositive ?? 20;
  for (const user of replay.users) {
    const seen = shown.get(user.datasetUser) ?? new Set<number>();
    const retrieval = retrievalScores(user, config);
    const sourceScores = SOURCE_NAMES.map((name, s) => {
      const scores = new Float64Array(user.items.length);
      const { quota } = config.retrieval.sources[name];
      const list = user.sourceLists[s] as Int32Array;
      for (let rank = 0; rank < Math.min(list.length, quota); rank++) scores[list[rank] as number] = 1 - rank / quota;
      return scores;
    });
    const row = (i: number) => [Math.log((user.relativeExposure[i] as number) + share), user.affinity[i] as number, ...sourceScores.map((scores) => scores[i] as number)];
    const candidates: number[] = [];
    for (let i = 0; i < user.items.length; i++) if (retrieval[i] !== Number.NEGATIVE_INFINITY && user.passesFilters[i]) candidates.push(i);
    const positives = candidates.filter((i) => seen.has(user.items[i] as number));
    if (positives.length === 0) continue;
    const negatives = candidates.filter((i) => !seen.has(user.items[i] as number));
    for (const i of positives) {
      features.push(row(i));
      labels.push(1);
    }
    for (let n = 0; n < Math.min(negatives.length, positives.length * negativesPerPositive); n++) {
      features.push(row(negatives[Math.floor(next() * negatives.length)] as number));
      labels.push(0);
    }
  }
  const { weights, intercept, logLoss } = logisticRegression(features, labels, width, options.epochs ?? 200);
  const positive = (value: number) => Math.max(0, Math.min(value, 4));
  return {
    prior: {
      exposureExponent: positive(weights[0] as number),
      retrievalExponent: positive(weights[1] as number),
      sourceWeights: Object.fromEntries(SOURCE_NAMES.map((name, s) => [name, Math.max(0, Math.min(weights[2 + s] as number, 10))])) as LearnedPrior["sourceWeights"],
    },
    intercept,
    logLoss,
    positives: labels.filter((label) => label === 1).length,
    negatives: labels.filter((label) => label === 0).length,
  };
}

/**
 * Full-batch gradient descent with Adam on the mean log-loss, features standardised internally and the weights
 * mapped back to the raw features' scale. A handful of features and ~10⁵ rows: no package needed.
 */
export function logisticRegression(features: readonly number[][], labels: readonly number[], width: number, epochs: number): { weights: Float64Array; intercept: number; logLoss: number } {
  const n = features.length;
  if (n === 0) return { weights: new Float64Array(width), intercept: 0, logLoss: Number.NaN };
  const mean = new Float64Array(width);
  const std = new Float64Array(width);
  for (const row of features) for (let d = 0; d < width; d++) mean[d] = (mean[d] as number) + (row[d] as number) / n;
  for (const row of features) for (let d = 0; d < width; d++) std[d] = (std[d] as number) + ((row[d] as number) - (mean[d] as number)) ** 2 / n;
  for (let d = 0; d < width; d++) std[d] = Math.sqrt(std[d] as number) || 1;
  const w = new Float64Array(width + 1);
  const m = new Float64Array(width + 1);
  const v = new Float64Array(width + 1);
  const rate = 0.05;
  let loss = 0;
  for (let step = 1; step <= epochs; step++) {
    const grad = new Float64Array(width + 1);
    loss = 0;
    for (let r = 0; r < n; r++) {
      const row = features[r] as number[];
      let z = w[width] as number;
      for (let d = 0; d < width; d++) z += (w[d] as number) * (((row[d] as number) - (mean[d] as number)) / (std[d] as number));
      const p = 1 / (1 + Math.exp(-z));
      const y = labels[r] as number;
      loss += -(y * Math.log(Math.max(p, 1e-12)) + (1 - y) * Math.log(Math.max(1 - p, 1e-12)));
      const g = p - y;
      for (let d = 0; d < width; d++) grad[d] = (grad[d] as number) + (g * ((row[d] as number) - (mean[d] as number))) / (std[d] as number) / n;
      grad[width] = (grad[width] as number) + g / n;
    }
    for (let d = 0; d <= width; d++) {
      m[d] = 0.9 * (m[d] as number) + 0.1 * (grad[d] as number);
      v[d] = 0.999 * (v[d] as number) + 0.001 * (grad[d] as number) ** 2;
      const mHat = (m[d] as number) / (1 - 0.9 ** step);
      const vHat = (v[d] as number) / (1 - 0.999 ** step);
      w[d] = (w[d] as number) - (rate * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
  }
  const weights = new Float64Array(width);
  let intercept = w[width] as number;
  for (let d = 0; d < width; d++) {
    weights[d] = (w[d] as number) / (std[d] as number);
    intercept -= ((w[d] as number) * (mean[d] as number)) / (std[d] as number);
  }
  return { weights, intercept, logLoss: loss / n };
}
