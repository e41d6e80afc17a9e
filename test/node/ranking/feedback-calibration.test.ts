import { describe, expect, it } from "vitest";
import { calibrate, fitPlattOnBins, logit, uncalibrate } from "../../../core/ranking/calibration";
import { closedPeriods, DEFAULT_FEEDBACK_CALIBRATION, FeedbackCalibration, feedbackMaps } from "../../../core/ranking/feedback-calibration";
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

  it("reads only the hours closed an impression window before the current one, within its window, and follows a model that drifts", () => {
    const calibration = new FeedbackCalibration();
    // a day of a model that predicts too high, then a day of one that predicts too low
    const firstDay = stream(20_000, DAY_START, 24, 1, -0.6, 7);
    const secondDay = stream(20_000, DAY_START + 24 * HOUR, 24, 1, 0.6, 8);
    for (const row of firstDay) calibration.observe(row.atMs, row.p, row.outcome);
    // at 01:00 on the second day the first day's last hour is closed (its outcomes are an hour old): the map reads the whole first day
    const afterFirstDay = calibration.mapAt(DAY_START + 25 * HOUR);
    for (const row of secondDay) calibration.observe(row.atMs, row.p, row.outcome);
    // within the hour the first day's map is fitted in, impressions observed since do not change it
    expect(calibration.mapAt(DAY_START + 25 * HOUR + 30 * 60_000)).toBe(afterFirstDay);
    // and a calibration first asked then, having observed both days, reads the first day only: the second day's
    // first hour is not closed before 02:00
    const late = new FeedbackCalibration();
    for (const row of [...firstDay, ...secondDay]) late.observe(row.atMs, row.p, row.outcome);
    expect(late.mapAt(DAY_START + 25 * HOUR + 30 * 60_000)).toEqual(afterFirstDay);
    const afterSecondDay = calibration.mapAt(DAY_START + 49 * HOUR);
    if (afterFirstDay.method !== "platt" || afterSecondDay.method !== "platt") throw new Error("expected Platt maps");
    expect(afterFirstDay.b).toBeCloseTo(-0.6, 1);
    // the first day is out of the 24-hour window by then
    expect(afterSecondDay.b).toBeCloseTo(0.6, 1);
  });

  it("counts an hour only once all of it is an impression window old", () => {
    const options = DEFAULT_FEEDBACK_CALIBRATION;
    // at 10:00 the hour 08:00–09:00 is the last closed one (its last impression's outcome is in by 10:00); 09:00–10:00 is not
    expect(closedPeriods(DAY_START + 10 * HOUR, options)).toEqual({ from: DAY_START - 15 * HOUR, before: DAY_START + 9 * HOUR });
    const calibration = new FeedbackCalibration({ ...options, minImpressions: 1_000 });
    for (const row of stream(5_000, DAY_START + 9 * HOUR, 1, 1, 1, 11)) calibration.observe(row.atMs, row.p, row.outcome);
    expect(calibration.mapAt(DAY_START + 10 * HOUR + 59 * 60_000)).toEqual({ method: "none" });
    expect(calibration.mapAt(DAY_START + 11 * HOUR).method).toBe("platt");
  });

  it("adds stored hours as if it had observed their impressions, and hands them back", () => {
    const rows = stream(8_000, DAY_START, 6, 0.8, 0.4, 12);
    const observed = new FeedbackCalibration();
    for (const row of rows) observed.observe(row.atMs, row.p, row.outcome);
    const restored = new FeedbackCalibration();
    // stored hour by hour, in two halves of the same hour too: stats of one hour add up
    for (const hour of observed.observedHours()) {
      const half = (values: Float64Array) => values.map((v) => v / 2);
      restored.addHour({ hour: hour.hour, count: half(hour.count), positives: half(hour.positives), logitSum: half(hour.logitSum) });
      restored.addHour({ hour: hour.hour, count: half(hour.count), positives: half(hour.positives), logitSum: half(hour.logitSum) });
    }
    expect(restored.observedHours().map((hour) => hour.hour)).toEqual(Array.from({ length: 6 }, (_, h) => DAY_START + h * HOUR));
    expect(restored.mapAt(DAY_START + 8 * HOUR)).toEqual(observed.mapAt(DAY_START + 8 * HOUR));
    expect(() => restored.addHour({ hour: DAY_START, count: new Float64Array(3), positives: new Float64Array(3), logitSum: new Float64Array(3) })).toThrow(/64 bins/);
  });

  it("applies no map that flattens the model's order below the minimum slope", () => {
    // outcomes that barely depend on the model's probability: the fitted slope is near 0
    const calibration = new FeedbackCalibration();
    for (const row of stream(20_000, DAY_START, 10, 0.05, -1, 13)) calibration.observe(row.atMs, row.p, row.outcome);
    expect(calibration.mapAt(DAY_START + 12 * HOUR)).toEqual({ method: "none" });
    const lenient = new FeedbackCalibration({ ...DEFAULT_FEEDBACK_CALIBRATION, minSlope: 0 });
    for (const row of stream(20_000, DAY_START, 10, 0.05, -1, 13)) lenient.observe(row.atMs, row.p, row.outcome);
    const map = lenient.mapAt(DAY_START + 12 * HOUR);
    if (map.method !== "platt") throw new Error("expected a Platt map without the minimum");
    expect(map.a).toBeLessThan(DEFAULT_FEEDBACK_CALIBRATION.minSlope);
  });

  it("feedbackMaps gathers the tasks that have a map", () => {
    const click = new FeedbackCalibration();
    const like = new FeedbackCalibration();
    for (const row of stream(10_000, DAY_START, 6, 0.9, -0.3, 14)) click.observe(row.atMs, row.p, row.outcome);
    const maps = feedbackMaps(new Map([["click", click], ["like", like]]), DAY_START + 8 * HOUR);
    expect(Object.keys(maps)).toEqual(["click"]);
    expect(maps.click).toEqual(click.mapAt(DAY_START + 8 * HOUR));
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

describe("uncalibrate", () => {
  it("inverts a Platt map with a positive slope, and the identity", () => {
    const map = { method: "platt", a: 0.7, b: -0.4 } as const;
    for (const p of [1e-5, 0.003, 0.2, 0.5, 0.93]) {
      expect(uncalibrate(map, calibrate(map, p))).toBeCloseTo(p, 9);
      expect(uncalibrate({ method: "none" }, p)).toBe(p);
    }
    expect(() => uncalibrate({ method: "platt", a: 0, b: 1 }, 0.3)).toThrow(/positive slope/);
    expect(() => uncalibrate({ method: "isotonic", x: [0, 1], y: [0, 1] }, 0.3)).toThrow(/no inverse/);
  });
});
