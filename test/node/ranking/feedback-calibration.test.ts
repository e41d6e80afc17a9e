import { describe, expect, it } from "vitest";
import { calibrate, fitPlattOnBins, logit } from "../../../core/ranking/calibration";
import { DEFAULT_FEEDBACK_CALIBRATION, FeedbackCalibration } from "../../../core/ranking/feedback-calibration";
import { reliability } from "../../../core/eval/calibration";
import { fitPlatt } from "../../../models/calibration/fit";
import { Rng } from "../../../models/autodiff";

const HOUR = 3_600_000;
const DAY_START = Date.UTC(2022, 4, 4);

/** Impressions spread over `hours` hours from `fromMs`, whose true probability is σ(a·logit(score) + b). */
function stream(n: number, fromMs: number, hours: number, a: number, b: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const p = 0.02 + 0.9 * rng.uniform();
    const outcome = rng.uniform() < 1 / (1 + Math.exp(-(a * logit(p) + b)));
    return { atMs: fromMs + Math.floor((i / n) * hours * HOUR), p, outcome };
  });
}

describe("fitPlattOnBins", () => {
  it("with one row per bin is ordinary Platt scaling: the log loss's minimum, as plain gradient descent finds it", () => {
    const rows = stream(5000, DAY_START, 1, 0.7, 0.3, 3);
    const z = rows.map((row) => logit(row.p));
    const y = rows.map((row) => (row.outcome ? 1 : 0));
    const binned = fitPlattOnBins(z, y, z.map(() => 1), 0);
    // an independent reference: many small gradient steps on the mean log loss of σ(a·z + b)
    let a = 1;
    let b = 0;
    for (let step = 0; step < 2_000; step++) {
      let ga = 0;
      let gb = 0;
      z.forEach((value, i) => {
        const residual = 1 / (1 + Math.exp(-(a * value + b))) - (y[i] as number);
        ga += (residual * value) / z.length;
        gb += residual / z.length;
      });
      a -= 0.5 * ga;
      b -= 0.5 * gb;
    }
    if (binned.method !== "platt") throw new Error("not platt");
    expect(binned.a).toBeCloseTo(a, 4);
    expect(binned.b).toBeCloseTo(b, 4);
    // and the offline fitPlatt is this fit on the rows' logits
    const offline = fitPlatt(rows.map((row) => row.p), y, 0);
    if (offline.method !== "platt") throw new Error("not platt");
    expect(offline.a).toBeCloseTo(binned.a, 6);
    expect(offline.b).toBeCloseTo(binned.b, 6);
  });

  it("fits the same map from counts per bin as from the rows in them", () => {
    const logits = [-2, -1, 0, 1, 2];
    const counts = [100, 300, 500, 300, 100];
    const positives = [10, 60, 230, 200, 85];
    const rows = logits.flatMap((z, j) => Array.from({ length: counts[j] as number }, (_, k) => ({ z, y: k < (positives[j] as number) ? 1 : 0 })));
    const fromBins = fitPlattOnBins(logits, positives, counts);
    const fromRows = fitPlattOnBins(rows.map((row) => row.z), rows.map((row) => row.y), rows.map(() => 1));
    if (fromBins.method !== "platt" || fromRows.method !== "platt") throw new Error("not platt");
    expect(fromBins.a).toBeCloseTo(fromRows.a, 9);
    expect(fromBins.b).toBeCloseTo(fromRows.b, 9);
  });
});

describe("FeedbackCalibration", () => {
  it("applies nothing before it has seen enough closed impressions", () => {
    const calibration = new FeedbackCalibration();
    expect(calibration.mapAt(DAY_START)).toEqual({ method: "none" });
    for (const row of stream(DEFAULT_FEEDBACK_CALIBRATION.minImpressions - 1, DAY_START, 2, 0.5, 1, 4)) calibration.observe(row.atMs, row.p, row.outcome);
    expect(calibration.mapAt(DAY_START + 3 * HOUR)).toEqual({ method: "none" });
  });

  it("learns from the last hours how the model is off and removes the calibration error", () => {
    const calibration = new FeedbackCalibration();
    for (const row of stream(30_000, DAY_START, 20, 0.6, -0.5, 5)) calibration.observe(row.atMs, row.p, row.outcome);
    const map = calibration.mapAt(DAY_START + 21 * HOUR);
    if (map.method !== "platt") throw new Error(`expected a Platt map, got ${map.method}`);
    expect(map.a).toBeCloseTo(0.6, 1);
    expect(map.b).toBeCloseTo(-0.5, 1);
    const next = stream(30_000, DAY_START + 21 * HOUR, 1, 0.6, -0.5, 6);
    const y = next.map((row) => (row.outcome ? 1 : 0));
    const before = reliability(next.map((row) => row.p), y)?.ece ?? 1;
    const after = reliability(next.map((row) => calibrate(map, row.p)), y)?.ece ?? 1;
    expect(before).toBeGreaterThan(0.05);
    expect(after).toBeLessThan(0.01);
  });

  it("reads only the hours before the current one, within its window, and follows a model that drifts", () => {
    const calibration = new FeedbackCalibration();
    // a day of a model that predicts too high, then a day of one that predicts too low
    for (const row of stream(20_000, DAY_START, 24, 1, -0.6, 7)) calibration.observe(row.atMs, row.p, row.outcome);
    const afterFirstDay = calibration.mapAt(DAY_START + 24 * HOUR);
    for (const row of stream(20_000, DAY_START + 24 * HOUR, 24, 1, 0.6, 8)) calibration.observe(row.atMs, row.p, row.outcome);
    // within the hour the first day's map is fitted in, impressions of that hour do not change it
    expect(calibration.mapAt(DAY_START + 24 * HOUR + 30 * 60_000)).toBe(afterFirstDay);
    // and a calibration first asked then, having observed both days, fits on the first day only
    const late = new FeedbackCalibration();
    for (const row of [...stream(20_000, DAY_START, 24, 1, -0.6, 7), ...stream(20_000, DAY_START + 24 * HOUR, 24, 1, 0.6, 8)]) late.observe(row.atMs, row.p, row.outcome);
    expect(late.mapAt(DAY_START + 24 * HOUR + 30 * 60_000)).toEqual(afterFirstDay);
    const afterSecondDay = calibration.mapAt(DAY_START + 48 * HOUR);
    if (afterFirstDay.method !== "platt" || afterSecondDay.method !== "platt") throw new Error("expected Platt maps");
    expect(afterFirstDay.b).toBeCloseTo(-0.6, 1);
    // the first day is out of the 24-hour window by then
    expect(afterSecondDay.b).toBeCloseTo(0.6, 1);
  });

  it("applies nothing to a task with too few positives to fit hour after hour", () => {
    const calibration = new FeedbackCalibration();
    const rare = stream(20_000, DAY_START, 20, 1, -6.5, 9);
    const positives = rare.filter((row) => row.outcome).length;
    expect(positives).toBeGreaterThan(0);
    expect(positives).toBeLessThan(DEFAULT_FEEDBACK_CALIBRATION.minPositives);
    for (const row of rare) calibration.observe(row.atMs, row.p, row.outcome);
    expect(calibration.mapAt(DAY_START + 21 * HOUR)).toEqual({ method: "none" });
  });

  it("refuses options that cannot work", () => {
    expect(() => new FeedbackCalibration({ ...DEFAULT_FEEDBACK_CALIBRATION, bins: 1 })).toThrow(/bins/);
    expect(() => new FeedbackCalibration({ ...DEFAULT_FEEDBACK_CALIBRATION, windowMs: 0 })).toThrow(/windowMs/);
  });
});
