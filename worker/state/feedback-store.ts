import { LABEL_BIT } from "../../core/features/engagement";
import { LABELS, type Label } from "../../core/data/labels";
import type { MtmlCalibration } from "../../core/ranking/calibration";
import { closedPeriods, DEFAULT_FEEDBACK_CALIBRATION, FeedbackCalibration, feedbackMaps, isPredictionVector, refitPeriod, type FeedbackCalibrationOptions } from "../../core/ranking/feedback-calibration";
import { ENGAGEMENT_ROW_RETENTION_MS } from "./engagement-counts";

/** What an isolate reads: the maps in force for the period that holds `nowMs`, and what they were fitted on. */
export interface FeedbackMapsAnswer {
  /** The start of the refit period the maps are for: an isolate keeps them until the next one starts. */
  readonly periodMs: number;
  readonly maps: MtmlCalibration;
  /** Closed impressions with a served prediction in the window the maps read. */
  readonly impressions: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS feedback_hours (
    hour INTEGER NOT NULL, label TEXT NOT NULL, count TEXT NOT NULL, positives TEXT NOT NULL, logit_sum TEXT NOT NULL,
    PRIMARY KEY (hour, label)
  );
  CREATE TABLE IF NOT EXISTS feedback_meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
`;

/** Maps answered per object: one per period isolates are asking about (the current one, and a replay's). */
const CACHED_PERIODS = 4;

/**
 * Calibration from feedback, served (core/ranking/feedback-calibration.ts; issue 18): the trending object's impression
 * rows that carry what the MTML predicted when a feed served their item (engagement-counts.ts) are folded, once their
 * period is closed (all of it an impression window old, so no label can still join it), into per-period binned counts
 * per task, kept in SQLite; the maps of a period are Platt fits over the closed periods of the window before it, the
 * same fit the evaluation replays. A period is folded once: an event that arrives after its period was folded (a
 * replay of old events) does not count.
 */
export class FeedbackStore {
  private readonly answers = new Map<number, FeedbackMapsAnswer>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly options: FeedbackCalibrationOptions = DEFAULT_FEEDBACK_CALIBRATION,
  ) {
    sql.exec(SCHEMA);
  }

  /** The maps in force at `nowMs` (folding the periods closed since the last call first). */
  mapsAt(nowMs: number): FeedbackMapsAnswer {
    if (!Number.isFinite(nowMs)) throw new RangeError(`feedback: nowMs must be a finite number, got ${nowMs}`);
    const periodMs = refitPeriod(nowMs, this.options);
    const cached = this.answers.get(periodMs);
    if (cached) return cached;
    const { from, before } = closedPeriods(periodMs, this.options);
    this.foldUntil(from, before);
    const calibrations = this.perTask();
    let impressions = 0;
    const rows = this.sql
      .exec<{ hour: number; label: string; count: string; positives: string; logit_sum: string }>("SELECT hour, label, count, positives, logit_sum FROM feedback_hours WHERE hour >= ? AND hour < ?", from, before)
      .toArray();
    for (const row of rows) {
      const calibration = calibrations.get(row.label as Label);
      if (!calibration) continue;
      const count = Float64Array.from(JSON.parse(row.count) as number[]);
      calibration.addHour({ hour: row.hour, count, positives: Float64Array.from(JSON.parse(row.positives) as number[]), logitSum: Float64Array.from(JSON.parse(row.logit_sum) as number[]) });
      if (row.label === LABELS[0]) impressions += count.reduce((sum, n) => sum + n, 0);
    }
    const answer: FeedbackMapsAnswer = { periodMs, maps: feedbackMaps(calibrations, periodMs), impressions };
    this.answers.set(periodMs, answer);
    if (this.answers.size > CACHED_PERIODS) this.answers.delete(this.answers.keys().next().value as number);
    return answer;
  }

  private perTask(): Map<Label, FeedbackCalibration> {
    return new Map(LABELS.map((label) => [label, new FeedbackCalibration(this.options)]));
  }

  /** Folds the closed periods in [max(from, folded so far), before) into feedback_hours, each period once. */
  private foldUntil(from: number, before: number): void {
    const foldedBefore = this.sql.exec<{ value: number }>("SELECT value FROM feedback_meta WHERE key = 'folded_before'").toArray()[0]?.value ?? -Infinity;
    const start = Math.max(from, foldedBefore);
    if (start >= before) return;
    const calibrations = this.perTask();
    const rows = this.sql.exec<{ ts: number; labels: number; predicted: string }>(
      `SELECT r.ts, r.labels, p.predicted FROM impression_rows r JOIN impression_predictions p ON p.seq = r.seq
       WHERE r.ts >= ? AND r.ts < ? AND r.has_impression = 1`,
      start, before,
    );
    for (const row of rows) {
      const predicted: unknown = JSON.parse(row.predicted);
      if (!isPredictionVector(predicted)) continue;
      LABELS.forEach((label, l) => calibrations.get(label)?.observe(row.ts, predicted[l] as number, (row.labels & LABEL_BIT[label]) !== 0));
    }
    for (const [label, calibration] of calibrations) {
      for (const hour of calibration.observedHours()) {
        this.sql.exec(
          "INSERT INTO feedback_hours (hour, label, count, positives, logit_sum) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hour, label) DO UPDATE SET count = excluded.count, positives = excluded.positives, logit_sum = excluded.logit_sum",
          hour.hour, label, JSON.stringify([...hour.count]), JSON.stringify([...hour.positives]), JSON.stringify([...hour.logitSum]),
        );
      }
    }
    this.sql.exec("INSERT INTO feedback_meta (key, value) VALUES ('folded_before', ?) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)", before);
    this.sql.exec("DELETE FROM feedback_hours WHERE hour < ?", before - ENGAGEMENT_ROW_RETENTION_MS);
  }
}
