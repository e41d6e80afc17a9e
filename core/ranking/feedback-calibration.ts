/**
 * Calibration from feedback: a Platt map per task, refitted every hour on the impressions of the last day whose
 * outcomes are in, so the MTML's probabilities follow the days after its window (issue 18). A map fitted once on
 * the window's own last slice cannot know whether the next days click more or less than the model predicts
 * (models/README.md: it helped one window and hurt the next); the outcomes of the last hours can.
 *
 * What it keeps is small and mergeable: per hour, per bin of logit(p), the impressions, the positives and the sum of
 * their logits, so the fit is Platt's on binned data (each bin at its mean logit) and never needs the rows. Runtime-
 * agnostic: the evaluation replays it over the test days (core/eval/systems/feedback-scorer.ts).
 */
import { fitPlattOnBins, type Calibrator } from "./calibration";

export interface FeedbackCalibrationOptions {
  /** How far back the fit reads closed impressions. */
  readonly windowMs: number;
  /** The map is refitted at each multiple of this (UTC), on what was observed before it. */
  readonly refitEveryMs: number;
  /** Fewer closed impressions than this in the window, and no map is applied (p as the model says). */
  readonly minImpressions: number;
  /**
   * Nor with fewer positives (or negatives) than this: a map refitted every hour on a few dozen outcomes would follow
   * their noise, and maps that differ from hour to hour reorder impressions of different hours (the AUC moves).
   */
  readonly minPositives: number;
  /** Bins of logit(p) over [−logitRange, logitRange] (the ends take everything beyond). */
  readonly bins: number;
  readonly logitRange: number;
}

export const DEFAULT_FEEDBACK_CALIBRATION: FeedbackCalibrationOptions = { windowMs: 24 * 3_600_000, refitEveryMs: 3_600_000, minImpressions: 2000, minPositives: 100, bins: 64, logitRange: 10 };

interface HourStats {
  readonly count: Float64Array;
  readonly positives: Float64Array;
  readonly logitSum: Float64Array;
}

/** One task's feedback: `observe` closed impressions, `mapAt` a time to read the map in force then. */
export class FeedbackCalibration {
  private readonly hours = new Map<number, HourStats>();
  private fittedFor = Number.NaN;
  private map: Calibrator = { method: "none" };

  constructor(readonly options: FeedbackCalibrationOptions = DEFAULT_FEEDBACK_CALIBRATION) {
    if (!(options.windowMs > 0 && options.refitEveryMs > 0 && options.minImpressions >= 1 && options.minPositives >= 0 && Number.isInteger(options.bins) && options.bins >= 2 && options.logitRange > 0)) {
      throw new Error("feedback calibration: windowMs, refitEveryMs and logitRange must be positive, minImpressions ≥ 1, minPositives ≥ 0 and bins an integer ≥ 2");
    }
  }

  /** An impression whose outcome is known: the model's probability for it and whether the task happened. */
  observe(atMs: number, probability: number, outcome: boolean): void {
    if (!Number.isFinite(atMs) || !Number.isFinite(probability)) return;
    const hour = Math.floor(atMs / this.options.refitEveryMs) * this.options.refitEveryMs;
    let stats = this.hours.get(hour);
    if (!stats) this.hours.set(hour, (stats = { count: new Float64Array(this.options.bins), positives: new Float64Array(this.options.bins), logitSum: new Float64Array(this.options.bins) }));
    const z = clampedLogit(probability, this.options.logitRange);
    const bin = Math.min(this.options.bins - 1, Math.floor(((z + this.options.logitRange) / (2 * this.options.logitRange)) * this.options.bins));
    stats.count[bin] = (stats.count[bin] as number) + 1;
    if (outcome) stats.positives[bin] = (stats.positives[bin] as number) + 1;
    stats.logitSum[bin] = (stats.logitSum[bin] as number) + z;
  }

  /**
   * The map in force at `nowMs`: fitted at the start of its refit period on the impressions observed in the window
   * before that instant (observed later, they count from the next period). Periods older than the window are dropped.
   */
  mapAt(nowMs: number): Calibrator {
    const period = Math.floor(nowMs / this.options.refitEveryMs) * this.options.refitEveryMs;
    if (period === this.fittedFor) return this.map;
    this.fittedFor = period;
    const from = period - this.options.windowMs;
    const { bins } = this.options;
    const count = new Float64Array(bins);
    const positives = new Float64Array(bins);
    const logitSum = new Float64Array(bins);
    let total = 0;
    let totalPositives = 0;
    for (const [hour, stats] of this.hours) {
      if (hour < from) {
        this.hours.delete(hour);
        continue;
      }
      if (hour >= period) continue;
      for (let b = 0; b < bins; b++) {
        count[b] = (count[b] as number) + (stats.count[b] as number);
        positives[b] = (positives[b] as number) + (stats.positives[b] as number);
        logitSum[b] = (logitSum[b] as number) + (stats.logitSum[b] as number);
        total += stats.count[b] as number;
        totalPositives += stats.positives[b] as number;
      }
    }
    if (total < this.options.minImpressions || totalPositives < this.options.minPositives || total - totalPositives < this.options.minPositives) {
      this.map = { method: "none" };
      return this.map;
    }
    const used = Array.from({ length: bins }, (_, b) => b).filter((b) => (count[b] as number) > 0);
    this.map = fitPlattOnBins(
      Float64Array.from(used, (b) => (logitSum[b] as number) / (count[b] as number)),
      Float64Array.from(used, (b) => positives[b] as number),
      Float64Array.from(used, (b) => count[b] as number),
    );
    return this.map;
  }
}

function clampedLogit(p: number, range: number): number {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.max(-range, Math.min(range, Math.log(q / (1 - q))));
}
