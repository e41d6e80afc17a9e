import { z } from "zod";
import { LABELS } from "../data/labels";

/**
 * A per-task map from the MTML's probability to a calibrated one, fitted by the pipeline on its held-out slice
 * (models/calibration/fit.ts) and applied wherever serving, tuning and the evaluation read the MTML's probabilities
 * (`mtmlProbabilities`), so the value models combine probabilities that mean what they say.
 * - `platt`: σ(a · logit(p) + b);
 * - `isotonic`: the non-decreasing fit, as knots interpolated linearly, and beyond them lines to (0, 0) and (1, 1);
 * - `none`: p as it is (the fit found nothing to correct).
 */
export const calibratorSchema = z.discriminatedUnion("method", [
  z.object({ method: z.literal("none") }),
  z.object({ method: z.literal("platt"), a: z.number().finite(), b: z.number().finite() }),
  z
    .object({ method: z.literal("isotonic"), x: z.array(z.number().min(0).max(1)).min(1), y: z.array(z.number().min(0).max(1)).min(1) })
    .refine((c) => c.x.length === c.y.length, "x and y must have one value per knot")
    .refine((c) => c.x.every((v, i) => i === 0 || v >= (c.x[i - 1] as number)) && c.y.every((v, i) => i === 0 || v >= (c.y[i - 1] as number)), "knots must be non-decreasing"),
]);
export type Calibrator = z.infer<typeof calibratorSchema>;

/** The manifest's `models.mtml.calibration`: a calibrator per label (labels without one are left as they are). */
export const mtmlCalibrationSchema = z.partialRecord(z.enum(LABELS), calibratorSchema);
export type MtmlCalibration = z.infer<typeof mtmlCalibrationSchema>;

const EPSILON = 1e-6;

export function logit(p: number): number {
  const q = Math.min(1 - EPSILON, Math.max(EPSILON, p));
  return Math.log(q / (1 - q));
}

export function calibrate(calibrator: Calibrator, p: number): number {
  switch (calibrator.method) {
    case "none":
      return p;
    case "platt":
      return 1 / (1 + Math.exp(-(calibrator.a * logit(p) + calibrator.b)));
    case "isotonic": {
      const { x, y } = calibrator;
      // beyond the knots, straight to (0, 0) and (1, 1): strictly increasing everywhere, so no two probabilities
      // that were ordered become a tie (which would cost AUC)
      const first = x[0] as number;
      if (p <= first) return first > 0 ? ((y[0] as number) * p) / first : (y[0] as number);
      const last = x.length - 1;
      const top = x[last] as number;
      if (p >= top) return top < 1 ? (y[last] as number) + ((p - top) / (1 - top)) * (1 - (y[last] as number)) : (y[last] as number);
      // the first knot at or above p: binary search, knots are sorted
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((x[mid] as number) < p) lo = mid + 1;
        else hi = mid;
      }
      const x1 = x[lo] as number;
      const x0 = x[lo - 1] as number;
      const y1 = y[lo] as number;
      const y0 = y[lo - 1] as number;
      return x1 === x0 ? y1 : y0 + ((p - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
}

/**
 * The probability `calibrate` mapped to `calibrated`, for the maps that have one: `none`, and `platt` with a positive
 * slope (serving records what the model said under the feedback map it applied; core/ranking/feedback-calibration.ts).
 */
export function uncalibrate(calibrator: Calibrator, calibrated: number): number {
  switch (calibrator.method) {
    case "none":
      return calibrated;
    case "platt":
      if (!(calibrator.a > 0)) throw new RangeError("uncalibrate: a Platt map needs a positive slope to be inverted");
      return 1 / (1 + Math.exp(-((logit(calibrated) - calibrator.b) / calibrator.a)));
    case "isotonic":
      throw new RangeError("uncalibrate: an isotonic map has flat steps and no inverse");
  }
}

/** Calibrates a [rows × LABELS] probability matrix in place, each label's column by its calibrator. */
export function calibrateMtmlRows(calibration: MtmlCalibration | undefined, probabilities: Float32Array): Float32Array {
  if (calibration === undefined) return probabilities;
  LABELS.forEach((label, l) => {
    const calibrator = calibration[label];
    if (calibrator === undefined || calibrator.method === "none") return;
    for (let i = l; i < probabilities.length; i += LABELS.length) probabilities[i] = calibrate(calibrator, probabilities[i] as number);
  });
  return probabilities;
}

/**
 * Platt scaling on binned data: the (a, b) of σ(a·z + b) that minimise the log loss of `positives[j]` of `counts[j]`
 * outcomes at logit `logits[j]`, by Newton's method (two parameters, a convex loss: it converges in a few steps). One
 * row per bin of count 1 is ordinary Platt scaling. A small ridge keeps (a, b) finite when one class is absent or
 * perfectly separated.
 */
export function fitPlattOnBins(logits: ArrayLike<number>, positives: ArrayLike<number>, counts: ArrayLike<number>, ridge = 1e-3): Calibrator {
  let a = 1;
  let b = 0;
  let n = 0;
  for (let j = 0; j < counts.length; j++) n += counts[j] as number;
  if (!(n > 0)) return { method: "none" };
  for (let iteration = 0; iteration < 50; iteration++) {
    let ga = ridge * (a - 1);
    let gb = ridge * b;
    let haa = ridge;
    let hab = 0;
    let hbb = ridge;
    for (let j = 0; j < logits.length; j++) {
      const z = logits[j] as number;
      const c = counts[j] as number;
      const q = 1 / (1 + Math.exp(-(a * z + b)));
      const r = c * q - (positives[j] as number);
      const w = c * q * (1 - q);
      ga += (r * z) / n;
      gb += r / n;
      haa += (w * z * z) / n;
      hab += (w * z) / n;
      hbb += w / n;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { method: "platt", a, b };
}
