import { calibrate, fitPlattOnBins, logit, type Calibrator } from "../../core/ranking/calibration";

/** Mean log loss of probabilities `p` (clamped) against 0/1 `y`. */
export function logLoss(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i] as number));
    total -= (y[i] as number) > 0 ? Math.log(q) : Math.log(1 - q);
  }
  return p.length === 0 ? 0 : total / p.length;
}

/** Platt scaling on the logit of p: `fitPlattOnBins` with every row a bin of its own. */
export function fitPlatt(p: ArrayLike<number>, y: ArrayLike<number>, ridge = 1e-3): Calibrator {
  const n = p.length;
  const logits = Float64Array.from({ length: n }, (_, i) => logit(p[i] as number));
  const positives = Float64Array.from({ length: n }, (_, i) => ((y[i] as number) > 0 ? 1 : 0));
  return fitPlattOnBins(logits, positives, new Float64Array(n).fill(1), ridge);
}

/**
 * Isotonic regression by pool-adjacent-violators over p sorted: blocks of equal fitted rate, each a knot at its
 * mean p. At most `maxKnots` knots are kept (adjacent blocks merged by weight), so the bundle stays small.
 */
export function fitIsotonic(p: ArrayLike<number>, y: ArrayLike<number>, maxKnots = 64): Calibrator {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((i, j) => (p[i] as number) - (p[j] as number));
  const blocks: { x: number; y: number; w: number }[] = [];
  for (const i of order) {
    blocks.push({ x: p[i] as number, y: (y[i] as number) > 0 ? 1 : 0, w: 1 });
    while (blocks.length > 1 && (blocks[blocks.length - 2] as { y: number }).y >= (blocks[blocks.length - 1] as { y: number }).y) {
      const last = blocks.pop() as { x: number; y: number; w: number };
      const previous = blocks[blocks.length - 1] as { x: number; y: number; w: number };
      const w = previous.w + last.w;
      previous.x = (previous.x * previous.w + last.x * last.w) / w;
      previous.y = (previous.y * previous.w + last.y * last.w) / w;
      previous.w = w;
    }
  }
  while (blocks.length > maxKnots) {
    // merge the lightest adjacent pair: fewer knots where the data is thinnest
    let best = 0;
    for (let k = 1; k < blocks.length - 1; k++) if ((blocks[k] as { w: number }).w + (blocks[k + 1] as { w: number }).w < (blocks[best] as { w: number }).w + (blocks[best + 1] as { w: number }).w) best = k;
    const left = blocks[best] as { x: number; y: number; w: number };
    const right = blocks.splice(best + 1, 1)[0] as { x: number; y: number; w: number };
    const w = left.w + right.w;
    left.x = (left.x * left.w + right.x * right.w) / w;
    left.y = (left.y * left.w + right.y * right.w) / w;
    left.w = w;
  }
  // no knot at exactly 0 or 1, and strictly rising: a block without positives would otherwise map every p below it
  // to 0, tying probabilities that were ordered (and costing log loss infinity on a positive)
  const rates = blocks.map((block) => Math.min(1 - 1e-6, Math.max(1e-6, block.y)));
  for (let k = 1; k < rates.length; k++) rates[k] = Math.max(rates[k] as number, (rates[k - 1] as number) + 1e-9);
  return { method: "isotonic", x: blocks.map((block) => block.x), y: rates };
}

export interface CalibratorChoice {
  readonly calibrator: Calibrator;
  /** Each method's log loss on held-out folds (2-fold cross-fitting over the rows). */
  readonly heldOutLogLoss: Readonly<Record<Calibrator["method"], number>>;
}

/**
 * Fits Platt and isotonic on each half of the rows and scores them on the other half, beside no calibration; keeps
 * the method with the lowest held-out log loss, refitted on all rows. `none` wins ties, and with fewer than
 * `minPositives` positives (a rare label on a short slice) nothing is fitted at all.
 */
export function chooseCalibrator(p: ArrayLike<number>, y: ArrayLike<number>, options: { minPositives?: number } = {}): CalibratorChoice {
  const n = p.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if ((y[i] as number) > 0) positives++;
  const none = logLoss(p, y);
  if (positives < (options.minPositives ?? 30) || n - positives < (options.minPositives ?? 30)) return { calibrator: { method: "none" }, heldOutLogLoss: { none, platt: Number.NaN, isotonic: Number.NaN } };
  const folds = [0, 1].map((fold) => Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === fold));
  const pick = (rows: number[], column: ArrayLike<number>) => Float64Array.from(rows, (i) => column[i] as number);
  const heldOut = (fit: (p: ArrayLike<number>, y: ArrayLike<number>) => Calibrator) => {
    let total = 0;
    for (const [train, test] of [[folds[0], folds[1]], [folds[1], folds[0]]] as [number[], number[]][]) {
      const calibrator = fit(pick(train, p), pick(train, y));
      const testP = pick(test, p).map((value) => calibrate(calibrator, value));
      total += logLoss(testP, pick(test, y)) * test.length;
    }
    return total / n;
  };
  const losses = { none, platt: heldOut(fitPlatt), isotonic: heldOut(fitIsotonic) };
  const best = (["none", "platt", "isotonic"] as const).reduce((a, b) => (losses[b] < losses[a] ? b : a));
  const calibrator: Calibrator = best === "platt" ? fitPlatt(p, y) : best === "isotonic" ? fitIsotonic(p, y) : { method: "none" };
  return { calibrator, heldOutLogLoss: losses };
}
