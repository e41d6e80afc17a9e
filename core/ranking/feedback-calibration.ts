/**
 * Calibration from feedback: a Platt map per task, refitted every hour on the impressions of the last day's closed
 * hours (whose outcomes are all in), so the MTML's probabilities follow the days after its window (issue 18). A map fitted once on
 * the window's own last slice cannot know whether the next days click more or less than the model predicts
 * (models/README.md: it helped one window and hurt the next); the outcomes of the last hours can.
 *
 * What it keeps is small and mergeable: per hour, per bin of logit(p), the impressions, the positives and the sum of
 * their logits, so the fit is Platt's on binned data (each bin at its mean logit) and never needs the rows. Runtime-
 * agnostic: the evaluation replays it over the test days (core/eval/systems/feedback-scorer.ts) and the Worker's
 * trending object fits the served maps with it (worker/state/feedback-store.ts).
 */
import { LABELS, type Label } from "../data/labels";
import { fitPlattOnBins, type Calibrator, type MtmlCalibration } from "./calibration";

export interface FeedbackCalibrationOptions {
  /** How far back the fit reads closed impressions. */
  readonly windowMs: number;
  /** The map is refitted at each multiple of this (UTC), on what was observed before it. */
  readonly refitEveryMs: number;
  /**
   * An impression's outcome is known this long after it (labels join an impression within its window): a period of
   * `refitEveryMs` counts once all of it is that old, so a map never reads an impression whose outcome could still change.
   */
  readonly delayMs: number;
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
  /**
   * A fitted slope below this is not applied: a map that flattens the model's order that much says the feedback is not
   * the model's (impressions matched to the wrong predictions), and serving must be able to invert the map it applied.
   */
  readonly minSlope: number;
}

const HOUR_MS = 3_600_000;

export const DEFAULT_FEEDBACK_CALIBRATION: FeedbackCalibrationOptions = { windowMs: 24 * HOUR_MS, refitEveryMs: HOUR_MS, delayMs: HOUR_MS, minImpressions: 2000, minPositives: 100, bins: 64, logitRange: 10, minSlope: 0.2 };

/** One period's closed impressions of one task, per bin of logit(p): what a server persists and merges. */
export interface FeedbackHour {
  /** The period's start (a multiple of `refitEveryMs`). */
  readonly hour: number;
  readonly count: Float64Array;
  readonly positives: Float64Array;
  readonly logitSum: Float64Array;
}

/** One task's feedback: `observe` closed impressions, `mapAt` a time to read the map in force then. */
export class FeedbackCalibration {
  private readonly hours = new Map<number, FeedbackHour>();
  private fittedFor = Number.NaN;
  private map: Calibrator = { method: "none" };

  constructor(readonly options: FeedbackCalibrationOptions = DEFAULT_FEEDBACK_CALIBRATION) {
    if (!(options.windowMs > 0 && options.refitEveryMs > 0 && options.delayMs >= 0 && options.minImpressions >= 1 && options.minPositives >= 0 && Number.isInteger(options.bins) && options.bins >= 2 && options.logitRange > 0 && options.minSlope >= 0)) {
      throw new Error("feedback calibration: windowMs, refitEveryMs and logitRange must be positive, delayMs and minSlope ≥ 0, minImpressions ≥ 1, minPositives ≥ 0 and bins an integer ≥ 2");
    }
  }

  /** An impression whose outcome is known: the model's probability for it and whether the task happened. */
  observe(atMs: number, probability: number, outcome: boolean): void {
    if (!Number.isFinite(atMs) || !Number.isFinite(probability)) return;
    const hour = refitPeriod(atMs, this.options);
    let stats = this.hours.get(hour);
    if (!stats) this.hours.set(hour, (stats = this.emptyHour(hour)));
    const z = clampedLogit(probability, this.options.logitRange);
    const bin = Math.min(this.options.bins - 1, Math.floor(((z + this.options.logitRange) / (2 * this.options.logitRange)) * this.options.bins));
    stats.count[bin] = (stats.count[bin] as number) + 1;
    if (outcome) stats.positives[bin] = (stats.positives[bin] as number) + 1;
    stats.logitSum[bin] = (stats.logitSum[bin] as number) + z;
  }

  /** A period's stats from elsewhere (a server's storage), added to what this calibration holds for it. */
  addHour(stats: FeedbackHour): void {
    const { bins } = this.options;
    if (stats.count.length !== bins || stats.positives.length !== bins || stats.logitSum.length !== bins) throw new RangeError(`feedback calibration: an hour's stats need ${bins} bins`);
    let into = this.hours.get(stats.hour);
    if (!into) this.hours.set(stats.hour, (into = this.emptyHour(stats.hour)));
    addBins(into, stats);
  }

  /** The periods observed so far, oldest first. */
  observedHours(): FeedbackHour[] {
    return [...this.hours.values()].sort((x, y) => x.hour - y.hour);
  }

  /**
   * The map in force at `nowMs`: fitted at the start of its refit period on the periods of the window before it whose
   * impressions are all at least `delayMs` old by then (`closedPeriods`). Periods older than the window are dropped.
   */
  mapAt(nowMs: number): Calibrator {
    const period = refitPeriod(nowMs, this.options);
    if (period === this.fittedFor) return this.map;
    this.fittedFor = period;
    const { from, before } = closedPeriods(period, this.options);
    const { bins } = this.options;
    const inWindow = this.emptyHour(period);
    for (const [hour, stats] of this.hours) {
      if (hour < from) {
        this.hours.delete(hour);
        continue;
      }
      if (hour < before) addBins(inWindow, stats);
    }
    const { count, positives, logitSum } = inWindow;
    const total = count.reduce((sum, n) => sum + n, 0);
    const totalPositives = positives.reduce((sum, n) => sum + n, 0);
    if (total < this.options.minImpressions || totalPositives < this.options.minPositives || total - totalPositives < this.options.minPositives) {
      this.map = { method: "none" };
      return this.map;
    }
    const used = Array.from({ length: bins }, (_, b) => b).filter((b) => (count[b] as number) > 0);
    const fitted = fitPlattOnBins(
      Float64Array.from(used, (b) => (logitSum[b] as number) / (count[b] as number)),
      Float64Array.from(used, (b) => positives[b] as number),
      Float64Array.from(used, (b) => count[b] as number),
    );
    this.map = fitted.method === "platt" && fitted.a < this.options.minSlope ? { method: "none" } : fitted;
    return this.map;
  }

  private emptyHour(hour: number): FeedbackHour {
    const { bins } = this.options;
    return { hour, count: new Float64Array(bins), positives: new Float64Array(bins), logitSum: new Float64Array(bins) };
  }
}

/** Adds `from`'s counts, positives and logit sums to `into`, bin by bin. */
function addBins(into: FeedbackHour, from: FeedbackHour): void {
  for (let b = 0; b < into.count.length; b++) {
    into.count[b] = (into.count[b] as number) + (from.count[b] as number);
    into.positives[b] = (into.positives[b] as number) + (from.positives[b] as number);
    into.logitSum[b] = (into.logitSum[b] as number) + (from.logitSum[b] as number);
  }
}

/** The start of the refit period that holds `nowMs`: one map is in force through it. */
export function refitPeriod(nowMs: number, options: Pick<FeedbackCalibrationOptions, "refitEveryMs"> = DEFAULT_FEEDBACK_CALIBRATION): number {
  return Math.floor(nowMs / options.refitEveryMs) * options.refitEveryMs;
}

/**
 * The periods the map of `period` reads: those starting in [from, before), i.e. wholly older than `delayMs` at the
 * period's start, and within `windowMs` of that instant. A server folds a period once it is closed.
 */
export function closedPeriods(period: number, options: FeedbackCalibrationOptions): { from: number; before: number } {
  const closedAt = period - options.delayMs;
  const before = Math.floor((closedAt - options.refitEveryMs) / options.refitEveryMs) * options.refitEveryMs + options.refitEveryMs;
  return { from: before - options.windowMs, before };
}

/** The feedback maps of every task at `nowMs`, as one MtmlCalibration (tasks without a map left out). */
export function feedbackMaps(calibrations: ReadonlyMap<Label, FeedbackCalibration>, nowMs: number): MtmlCalibration {
  const maps: MtmlCalibration = {};
  for (const label of LABELS) {
    const map = calibrations.get(label)?.mapAt(nowMs);
    if (map && map.method !== "none") maps[label] = map;
  }
  return maps;
}

function clampedLogit(p: number, range: number): number {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.max(-range, Math.min(range, Math.log(q / (1 - q))));
}

/** A served prediction as serving records and forwards it: one probability per task, in LABELS order. */
export function isPredictionVector(value: unknown): value is readonly number[] {
  return Array.isArray(value) && value.length === LABELS.length && value.every((p) => typeof p === "number" && p >= 0 && p <= 1);
}
