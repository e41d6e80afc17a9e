/** The normal quantile of a two-sided 95% interval. */
const Z_95 = 1.959963984540054;

/**
 * Wilson's score interval for a proportion of `successes` in `trials`. Unlike the normal approximation it stays
 * inside [0, 1] and keeps a sensible width at rates near 0, where likes and hates live. Null without trials, or when
 * the counts are not a proportion (more engagements than impressions: a client that sends engagements without their
 * impressions).
 */
export function wilsonInterval(successes: number, trials: number, z = Z_95): readonly [number, number] | null {
  if (!(trials > 0) || successes < 0 || successes > trials) return null;
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // exact at the ends, where rounding would leave the bound a hair inside [0, 1]
  return [successes === 0 ? 0 : Math.max(0, centre - halfWidth), successes === trials ? 1 : Math.min(1, centre + halfWidth)];
}

/** An engagement's rate per impression, with its interval. */
export interface RateEstimate {
  readonly count: number;
  /** count / impressions; null without impressions. */
  readonly rate: number | null;
  /** Wilson 95%; null where `wilsonInterval` gives none. */
  readonly ci95: readonly [number, number] | null;
}

export function rateEstimate(count: number, impressions: number): RateEstimate {
  return { count, rate: impressions > 0 ? count / impressions : null, ci95: wilsonInterval(count, impressions) };
}
