import { LABELS } from "../data/labels";
import { LABEL_BIT, type LabelBits } from "./engagement";

const LABEL_COUNT = LABELS.length;

/**
 * What a count made at `fromMs` weighs at `toMs` under a half-life: 2^(−(to − from)/halfLife), as e^(−ln2/halfLife · Δ).
 * The one decay of the feature counters: training's replay and serving's advanced counters both go through it.
 */
export function decayWeight(halfLifeMs: number, fromMs: number, toMs: number): number {
  return Math.exp(-(Math.LN2 / halfLifeMs) * (toMs - fromMs));
}

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

  constructor(readonly size: number, readonly halfLifeMs: number, public asOfMs: number) {
    this.impressions = new Float64Array(size);
    this.positives = new Float64Array(size * LABEL_COUNT);
    this.decayedImpressions = new Float64Array(size);
    this.decayedClicks = new Float64Array(size);
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
    const weight = decayWeight(this.halfLifeMs, ts, this.asOfMs);
    this.decayedImpressions[key] = (this.decayedImpressions[key] as number) + weight;
    if (labels & LABEL_BIT.click) this.decayedClicks[key] = (this.decayedClicks[key] as number) + weight;
  }

  /** Moves the snapshot time forward, decaying what was counted so far. */
  advanceTo(ms: number): void {
    if (ms < this.asOfMs) throw new Error(`counters: cannot move the snapshot back from ${this.asOfMs} to ${ms}`);
    const factor = decayWeight(this.halfLifeMs, this.asOfMs, ms);
    for (let i = 0; i < this.size; i++) {
      this.decayedImpressions[i] = (this.decayedImpressions[i] as number) * factor;
      this.decayedClicks[i] = (this.decayedClicks[i] as number) * factor;
    }
    this.asOfMs = ms;
  }

  /** An independent copy: serving advances a copy of the bundle's counters and leaves the bundle's own as they were. */
  clone(): EngagementCounters {
    return EngagementCounters.restore(this);
  }

  /**
   * Adds key `fromKey` of `other` (counters of other events, as of the same instant and half-life) to `key`: how
   * counts of events kept elsewhere (the real-time ones) join these without being replayed one by one.
   */
  addFrom(key: number, other: EngagementCounters, fromKey: number): void {
    if (other.asOfMs !== this.asOfMs || other.halfLifeMs !== this.halfLifeMs) {
      throw new Error(`counters: cannot add counters as of ${other.asOfMs} (half-life ${other.halfLifeMs}) to counters as of ${this.asOfMs} (half-life ${this.halfLifeMs})`);
    }
    this.impressions[key] = (this.impressions[key] as number) + (other.impressions[fromKey] as number);
    for (let l = 0; l < LABEL_COUNT; l++) this.positives[key * LABEL_COUNT + l] = (this.positives[key * LABEL_COUNT + l] as number) + (other.positives[fromKey * LABEL_COUNT + l] as number);
    this.decayedImpressions[key] = (this.decayedImpressions[key] as number) + (other.decayedImpressions[fromKey] as number);
    this.decayedClicks[key] = (this.decayedClicks[key] as number) + (other.decayedClicks[fromKey] as number);
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
