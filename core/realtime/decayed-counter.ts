import { topK } from "../util/top-k";

/**
 * Weighted event counts per key with exponential time decay: an event of weight w at time ts contributes
 * w · 2^(−(t − ts)/halfLife) to its key's score at time t.
 *
 * Stored as forward decay (Cormode et al.): each key keeps Σ w · 2^((ts − landmark)/halfLife), a number
 * that never needs touching as time passes. Every key shares the same landmark, so ordering by the stored
 * value is ordering by score at any time, and adding an event is O(1) even when events arrive out of order.
 * When a new event would push the exponent past MAX_EXPONENT, everything is rescaled to a newer landmark
 * (rare: 128 half-lives is 32 days at a 6-hour half-life).
 *
 * Bounded: at most `maxKeys` keys (a new key arriving at the cap first compacts the counter to the best
 * `compactToFraction · maxKeys` keys), and `prune(now)` drops keys whose score fell below `minScore`.
 */
export interface DecayedCounterOptions {
  readonly halfLifeMs: number;
  readonly maxKeys: number;
  /** Scores below this are dropped by `prune` and never reported by `top`. */
  readonly minScore: number;
  /** Share of `maxKeys` kept when the cap is reached; the slack makes compaction amortised O(log n) per key. */
  readonly compactToFraction: number;
}

export const HOUR_MS = 3_600_000;

export const DEFAULT_DECAYED_COUNTER_OPTIONS: DecayedCounterOptions = {
  halfLifeMs: 6 * HOUR_MS,
  maxKeys: 10_000,
  minScore: 0.01,
  compactToFraction: 0.9,
};

/** Exponent (in half-lives) beyond which stored values are rescaled: 2^128 is far from float64 overflow. */
const MAX_EXPONENT = 128;

export interface ScoredKey {
  readonly key: string;
  readonly score: number;
}

/** Everything needed to rebuild a counter: what a store persists. */
export interface DecayedCounterState {
  readonly halfLifeMs: number;
  readonly landmarkMs: number;
  /** [key, forward-decayed value relative to landmarkMs] */
  readonly entries: ReadonlyArray<readonly [string, number]>;
}

/** What changed since the last `takeChanges()`: enough for a store to write only the difference. */
export interface DecayedCounterChanges {
  readonly halfLifeMs: number;
  readonly landmarkMs: number;
  readonly upserts: ReadonlyArray<readonly [string, number]>;
  readonly deletes: readonly string[];
}

export function validateDecayedCounterOptions(options: DecayedCounterOptions): DecayedCounterOptions {
  const { halfLifeMs, maxKeys, minScore, compactToFraction } = options;
  if (!(Number.isFinite(halfLifeMs) && halfLifeMs > 0)) throw new RangeError(`decayed counter: halfLifeMs must be a positive number, got ${halfLifeMs}`);
  if (!(Number.isSafeInteger(maxKeys) && maxKeys > 0)) throw new RangeError(`decayed counter: maxKeys must be a positive integer, got ${maxKeys}`);
  if (!(Number.isFinite(minScore) && minScore >= 0)) throw new RangeError(`decayed counter: minScore must be a non-negative number, got ${minScore}`);
  if (!(compactToFraction > 0 && compactToFraction < 1)) throw new RangeError(`decayed counter: compactToFraction must be in (0, 1), got ${compactToFraction}`);
  return options;
}

export class DecayedCounter {
  private readonly values = new Map<string, number>();
  private landmark: number;
  private readonly dirty = new Set<string>();
  private readonly deleted = new Set<string>();

  constructor(readonly options: DecayedCounterOptions = DEFAULT_DECAYED_COUNTER_OPTIONS, landmarkMs = 0) {
    validateDecayedCounterOptions(options);
    if (!Number.isFinite(landmarkMs)) throw new RangeError(`decayed counter: landmarkMs must be finite, got ${landmarkMs}`);
    this.landmark = landmarkMs;
  }

  /**
   * Rebuilds a counter from persisted state. If the half-life changed since the state was written, each
   * key's score at `nowMs` (under the old half-life) becomes its starting value under the new one, and
   * every key is marked changed so the store rewrites it.
   */
  static restore(options: DecayedCounterOptions, state: DecayedCounterState, nowMs: number): DecayedCounter {
    if (!(Number.isFinite(state.halfLifeMs) && state.halfLifeMs > 0)) throw new RangeError(`decayed counter: stored halfLifeMs ${state.halfLifeMs} is not a positive number`);
    const sameHalfLife = state.halfLifeMs === options.halfLifeMs;
    const counter = new DecayedCounter(options, sameHalfLife ? state.landmarkMs : nowMs);
    const factor = sameHalfLife ? 1 : 2 ** (-(nowMs - state.landmarkMs) / state.halfLifeMs);
    for (const [key, value] of state.entries) {
      if (typeof key !== "string" || key === "" || !(Number.isFinite(value) && value >= 0)) throw new TypeError(`decayed counter: bad stored entry ${JSON.stringify([key, value])}`);
      counter.values.set(key, value * factor);
      if (!sameHalfLife) counter.dirty.add(key);
    }
    // A lowered cap applies at once.
    if (counter.values.size > options.maxKeys) counter.compact();
    return counter;
  }

  get size(): number {
    return this.values.size;
  }

  get landmarkMs(): number {
    return this.landmark;
  }

  /** Counts one event of `weight` (≥ 0) for `key` at `ts`; weight 0 is a no-op. */
  add(key: string, ts: number, weight = 1): void {
    if (typeof key !== "string" || key === "") throw new TypeError("decayed counter: key must be a non-empty string");
    if (!Number.isFinite(ts)) throw new RangeError(`decayed counter: ts must be finite, got ${ts}`);
    if (!(Number.isFinite(weight) && weight >= 0)) throw new RangeError(`decayed counter: weight must be a non-negative number, got ${weight}`);
    if (weight === 0) return;
    if (this.values.size === 0) this.landmark = ts;
    else if ((ts - this.landmark) / this.options.halfLifeMs > MAX_EXPONENT) this.rebase(ts);

    const previous = this.values.get(key);
    if (previous === undefined && this.values.size >= this.options.maxKeys) this.compact();
    this.values.set(key, (previous ?? 0) + weight * 2 ** ((ts - this.landmark) / this.options.halfLifeMs));
    this.dirty.add(key);
    this.deleted.delete(key);
  }

  /** The decayed score of `key` at `nowMs` (0 for an untracked key). */
  score(key: string, nowMs: number): number {
    const value = this.values.get(key);
    return value === undefined ? 0 : this.toScore(value, nowMs);
  }

  /** The `n` best keys at `nowMs`, best first (ties: insertion order), leaving out scores below `minScore`. */
  top(n: number, nowMs: number): ScoredKey[] {
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`decayed counter: n must be a non-negative integer, got ${n}`);
    const keys = [...this.values.keys()];
    const values = Float64Array.from(this.values.values());
    const result: ScoredKey[] = [];
    for (const row of topK(values, n)) {
      const score = this.toScore(values[row] as number, nowMs);
      // Same landmark for every key: once one score is too small, all the following ones are.
      if (!(score >= this.options.minScore && score > 0)) break;
      result.push({ key: keys[row] as string, score });
    }
    return result;
  }

  /** Drops keys whose score at `nowMs` is below `minScore`; returns how many were dropped. */
  prune(nowMs: number): number {
    const cutoff = this.options.minScore * 2 ** ((nowMs - this.landmark) / this.options.halfLifeMs);
    let dropped = 0;
    for (const [key, value] of this.values) {
      if (value < cutoff || value === 0) {
        this.remove(key);
        dropped++;
      }
    }
    return dropped;
  }

  state(): DecayedCounterState {
    return { halfLifeMs: this.options.halfLifeMs, landmarkMs: this.landmark, entries: [...this.values] };
  }

  /** Changes since the previous call (the first call after construction reports what `restore` rewrote). */
  takeChanges(): DecayedCounterChanges {
    const upserts: Array<readonly [string, number]> = [];
    for (const key of this.dirty) {
      const value = this.values.get(key);
      if (value !== undefined) upserts.push([key, value]);
    }
    const changes = { halfLifeMs: this.options.halfLifeMs, landmarkMs: this.landmark, upserts, deletes: [...this.deleted] };
    this.dirty.clear();
    this.deleted.clear();
    return changes;
  }

  private toScore(value: number, nowMs: number): number {
    return value * 2 ** (-(nowMs - this.landmark) / this.options.halfLifeMs);
  }

  private rebase(landmarkMs: number): void {
    const factor = 2 ** (-(landmarkMs - this.landmark) / this.options.halfLifeMs);
    for (const [key, value] of this.values) {
      this.values.set(key, value * factor);
      this.dirty.add(key);
    }
    this.landmark = landmarkMs;
  }

  /** Keeps the best `compactToFraction · maxKeys` keys, so the next new keys fit under the cap. */
  private compact(): void {
    const keep = Math.floor(this.options.maxKeys * this.options.compactToFraction);
    const keys = [...this.values.keys()];
    const kept = new Set(topK(Float64Array.from(this.values.values()), keep));
    for (let row = 0; row < keys.length; row++) if (!kept.has(row)) this.remove(keys[row] as string);
  }

  private remove(key: string): void {
    this.values.delete(key);
    this.dirty.delete(key);
    this.deleted.add(key);
  }
}
