const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/**
 * Least-squares line through the points: its slope, its intercept (y at x = 0) and the slope's standard error (NaN
 * below three points). Memory slopes (scripts/reliability) and the runtimes' per-call and per-row costs
 * (scripts/bench/side-by-side.ts) are fitted with it.
 */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number; standardError: number } {
  if (points.length < 2) return { slope: Number.NaN, intercept: Number.NaN, standardError: Number.NaN };
  const mx = sum(points.map(([x]) => x)) / points.length;
  const my = sum(points.map(([, y]) => y)) / points.length;
  const sxx = sum(points.map(([x]) => (x - mx) ** 2));
  if (sxx === 0) return { slope: Number.NaN, intercept: Number.NaN, standardError: Number.NaN };
  const fitted = sum(points.map(([x, y]) => (x - mx) * (y - my))) / sxx;
  const residuals = sum(points.map(([x, y]) => (y - my - fitted * (x - mx)) ** 2));
  return { slope: fitted, intercept: my - fitted * mx, standardError: points.length < 3 ? Number.NaN : Math.sqrt(residuals / (points.length - 2) / sxx) };
}
