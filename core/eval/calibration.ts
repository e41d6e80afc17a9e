import { createRandom } from "../util/random";

/** One bin of a reliability table: the scores' mean beside the rate at which the label happened. */
export interface ReliabilityBin {
  readonly meanPredicted: number;
  readonly observedRate: number;
  readonly count: number;
}

/** How well probabilities mean what they say: expected calibration error and the table it is computed from. */
export interface Reliability {
  /** Σ over bins of (bin share) × |mean predicted − observed rate|: 0 when every bin's probabilities come true at their own rate. */
  readonly ece: number;
  /**
   * The ECE that perfectly calibrated probabilities would still show on these impressions and bins: the mean ECE
   * over `FLOOR_DRAWS` label columns drawn from the scores themselves (seeded). A finite sample's observed rates scatter
   * around the truth, so a measured ECE near its floor is sampling noise, not miscalibration.
   */
  readonly eceFloor: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
  /** Equal-count bins in order of the predicted probability (deciles by default). */
  readonly bins: readonly ReliabilityBin[];
}

/** Label columns drawn from the scores for the ECE floor: its own sampling error is ~1/√20 of the floor's spread. */
const FLOOR_DRAWS = 20;
const FLOOR_SEED = 0x5eed;

/**
 * The reliability of probabilities `scores` for a 0/1 `labels` column, over `binCount` equal-count bins of the
 * sorted scores. Equal-count bins (rather than equal-width ones) keep every bin's observed rate on the same number of
 * impressions, which matters for rare labels whose probabilities crowd near 0. Null without impressions.
 */
export function reliability(scores: ArrayLike<number>, labels: ArrayLike<number>, binCount = 10): Reliability | null {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`reliability: ${n} scores for ${labels.length} labels`);
  if (!Number.isInteger(binCount) || binCount < 1) throw new RangeError(`reliability: bin count ${binCount} is not a positive integer`);
  if (n === 0) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let predictedTotal = 0;
  let observedTotal = 0;
  const count = Math.min(binCount, n);
  const random = createRandom(FLOOR_SEED);
  let floorTotal = 0;
  for (let bin = 0; bin < count; bin++) {
    const start = Math.floor((bin * n) / count);
    const end = Math.floor(((bin + 1) * n) / count);
    let predicted = 0;
    let observed = 0;
    for (let k = start; k < end; k++) {
      const i = order[k] as number;
      predicted += scores[i] as number;
      observed += (labels[i] as number) > 0 ? 1 : 0;
    }
    const size = end - start;
    bins.push({ meanPredicted: predicted / size, observedRate: observed / size, count: size });
    ece += (size / n) * Math.abs(predicted / size - observed / size);
    for (let draw = 0; draw < FLOOR_DRAWS; draw++) {
      let drawn = 0;
      for (let k = start; k < end; k++) if (random() < (scores[order[k] as number] as number)) drawn++;
      floorTotal += (size / n) * Math.abs(predicted / size - drawn / size);
    }
    predictedTotal += predicted;
    observedTotal += observed;
  }
  return { ece, eceFloor: floorTotal / FLOOR_DRAWS, meanPredicted: predictedTotal / n, observedRate: observedTotal / n, bins };
}
