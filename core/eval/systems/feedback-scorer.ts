/**
 * A scorer of probabilities replayed with calibration from feedback (core/ranking/feedback-calibration.ts): each test
 * impression's probabilities pass through the map in force at its time, fitted on the earlier test impressions of the
 * hours closed by then (an hour after an hour ends: labels join an impression within its hour). It reads only the
 * past of each impression, as the Worker, which records what it predicted and what happened, does.
 */
import type { EventTable } from "../../data/dataset";
import type { Label } from "../../data/labels";
import { calibrate } from "../../ranking/calibration";
import { DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS } from "../../realtime/snapshot-engagements";
import { DEFAULT_FEEDBACK_CALIBRATION, FeedbackCalibration, type FeedbackCalibrationOptions } from "../../ranking/feedback-calibration";
import type { LabelScores, PairBatch, PairScorer } from "../types";

/** An impression's outcome counts once its impression window is over: labels join it within that window. */
export const FEEDBACK_DELAY_MS = DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS.impressionWindowMs;

export class FeedbackCalibratedScorer implements PairScorer {
  readonly name: string;
  readonly probabilities = true;
  private readonly calibrations = new Map<Label, FeedbackCalibration>();
  private readonly raw = new Map<Label, Float32Array>();
  /** Test rows scored so far (batches come in test order) and, of them, those observed. */
  private scored = 0;
  private observed = 0;

  constructor(
    private readonly inner: PairScorer,
    private readonly test: EventTable,
    private readonly labels: readonly Label[],
    options: FeedbackCalibrationOptions = DEFAULT_FEEDBACK_CALIBRATION,
  ) {
    this.name = `${inner.name}_feedback`;
    for (const label of labels) {
      this.calibrations.set(label, new FeedbackCalibration(options));
      this.raw.set(label, new Float32Array(test.size));
    }
  }

  async score(batch: PairBatch): Promise<LabelScores> {
    const first = this.scored;
    if (first + batch.size > this.test.size || batch.atMs[0] !== this.test.ts[first] || batch.user[0] !== this.test.user[first]) {
      throw new Error(`${this.name}: the impressions must be scored once, in the test table's order`);
    }
    const inner = await this.inner.score(batch);
    const out: Partial<Record<Label, Float32Array>> = {};
    for (const label of this.labels) if (inner[label]) out[label] = new Float32Array(batch.size);
    for (let i = 0; i < batch.size; i++) {
      const row = first + i;
      const now = this.test.ts[row] as number;
      for (; this.observed < row && (this.test.ts[this.observed] as number) <= now - FEEDBACK_DELAY_MS; this.observed++) {
        for (const label of this.labels) {
          if (!inner[label]) continue;
          const outcome = (this.test.labels[label]?.[this.observed] ?? 0) > 0;
          this.calibrations.get(label)?.observe(this.test.ts[this.observed] as number, this.raw.get(label)?.[this.observed] as number, outcome);
        }
      }
      for (const label of this.labels) {
        const column = inner[label];
        const calibrated = out[label];
        const calibration = this.calibrations.get(label);
        if (!column || !calibrated || !calibration) continue;
        const p = column[i] as number;
        (this.raw.get(label) as Float32Array)[row] = p;
        calibrated[i] = calibrate(calibration.mapAt(now), p);
      }
    }
    this.scored += batch.size;
    return out;
  }
}
