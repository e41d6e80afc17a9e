import { LABELS } from "../data/labels";
import { LABEL_BIT, type LabelBits } from "./engagement";

const LABEL_COUNT = LABELS.length;

/**
 * Impressions and per-label positives for a set of keys (items, or authors), plus click and impression
 * counts decayed with a half-life as of `asOfMs`. Serving and training build these with the same `add`,
 * so a counter means the same thing in both.
 */
export class EngagementCounters {
  readonly impressions: Float64Array;
  /** positives[key * LABELS.length + labelIndex] */
  readonly positives: Float64Array;
  readonly decayedImpressions: Float64Array;
  readonly decayedClicks: Float64Array;
  private readonly decayRate: number;

  constructor(readonly size: number, readonly halfLifeMs: number, public asOfMs: number) {
    this.impressions = new Float64Array(size);
    this.positives = new Float64Array(size * LABEL_COUNT);
    this.decayedImpressions = new Float64Array(size);
    this.decayedClicks = new Float64Array(size);
    this.decayRate = Math.LN2 / halfLifeMs;
  }

  static restore(parts: { size: number; halfLifeMs: number; asOfMs: number; impressions: Float64Array; positives: Float64Array; decayedImpressions: Float64Array; decayedClicks: Float64Array }): EngagementCounters {
    const counters = new EngagementCounters(parts.size, parts.halfLifeMs, parts.asOfMs);
    for (const [name, expected] of [["impressions", parts.size], ["positives", parts.size * LABEL_COUNT], ["decayedImpressions", parts.size], ["decayedClicks", parts.size]] as const) {
      if (parts[name].length !== expected) throw new Error(`counters: ${name} has ${parts[name].length} values, expected ${expected}`);
    }
    counters.impressions.set(parts.impressions);
    counters.positives.set(parts.positives);
    counters.decayedImpressions.set(parts.decayedImpressions);
    counters.decayedClicks.set(parts.decayedClicks);
    return counters;
  }

  /** Counts one impression with its labels; events after `asOfMs` are a caller bug. */
  add(key: number, ts: number, labels: LabelBits): void {
    if (ts > this.asOfMs) throw new Error(`counters: an event at ${ts} is after the snapshot time ${this.asOfMs}`);
    this.impressions[key] = (this.impressions[key] as number) + 1;
    const base = key * LABEL_COUNT;
    for (let l = 0; l < LABEL_COUNT; l++) {
      if (labels & (1 << l)) this.positives[base + l] = (this.positives[base + l] as number) + 1;
    }
    const weight = Math.exp(-this.decayRate * (this.asOfMs - ts));
    this.decayedImpressions[key] = (this.decayedImpressions[key] as number) + weight;
    if (labels & LABEL_BIT.click) this.decayedClicks[key] = (this.decayedClicks[key] as number) + weight;
  }

  /** Moves the snapshot time forward, decaying what was counted so far. */
  advanceTo(ms: number): void {
    if (ms < this.asOfMs) throw new Error(`counters: cannot move the snapshot back from ${this.asOfMs} to ${ms}`);
    const factor = Math.exp(-this.decayRate * (ms - this.asOfMs));
    for (let i = 0; i < this.size; i++) {
      this.decayedImpressions[i] = (this.decayedImpressions[i] as number) * factor;
      this.decayedClicks[i] = (this.decayedClicks[i] as number) * factor;
    }
    this.asOfMs = ms;
  }

  positive(key: number, labelIndex: number): number {
    return this.positives[key * LABEL_COUNT + labelIndex] as number;
  }

  /** Share of all impressions with this label: the prior that smoothed rates shrink toward. */
  globalRates(): Float64Array {
    const totals = new Float64Array(LABEL_COUNT);
    let impressions = 0;
    for (let key = 0; key < this.size; key++) {
      impressions += this.impressions[key] as number;
      for (let l = 0; l < LABEL_COUNT; l++) totals[l] = (totals[l] as number) + this.positive(key, l);
    }
    return totals.map((total) => (impressions > 0 ? total / impressions : 0));
  }
}
