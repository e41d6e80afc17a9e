import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LABELS } from "../../../core/data/labels";
import { calibrate, calibrateMtmlRows, calibratorSchema, logit, type Calibrator } from "../../../core/ranking/calibration";
import { reliability } from "../../../core/eval/calibration";
import { chooseCalibrator, fitIsotonic, fitPlatt, logLoss } from "../../../models/calibration/fit";
import { Rng } from "../../../models/autodiff";
import { mtmlProbabilities } from "../../../core/funnel/scoring";
import { BundleTables } from "../../../core/serving/bundle-tables";
import { fixtureServingBundle } from "../funnel/serving-bundle-fixture";

/** Scores whose true probability is σ(a·logit(score) + b): miscalibrated by a known Platt map. */
function miscalibrated(n: number, a: number, b: number, seed: number): { p: Float64Array; y: Uint8Array } {
  const rng = new Rng(seed);
  const p = Float64Array.from({ length: n }, () => 0.02 + 0.9 * rng.uniform());
  const y = Uint8Array.from(p, (score) => (rng.uniform() < 1 / (1 + Math.exp(-(a * logit(score) + b))) ? 1 : 0));
  return { p, y };
}

describe("MTML calibrators", () => {
  it("Platt recovers the map that miscalibrated the scores, and removes the calibration error", () => {
    const { p, y } = miscalibrated(100_000, 0.6, -0.8, 1);
    const fitted = fitPlatt(p, y);
    if (fitted.method !== "platt") throw new Error("not platt");
    expect(fitted.a).toBeCloseTo(0.6, 1);
    expect(fitted.b).toBeCloseTo(-0.8, 1);
    const before = reliability(p, y)?.ece ?? 1;
    const after = reliability(p.map((score) => calibrate(fitted, score)), y)?.ece ?? 1;
    expect(before).toBeGreaterThan(0.05);
    expect(after).toBeLessThan(0.01);
  });

  it("isotonic fits a monotone map that lowers the log loss, with at most its knot budget", () => {
    const { p, y } = miscalibrated(50_000, 1.8, 0.5, 2);
    const fitted = fitIsotonic(p, y, 32);
    expect(calibratorSchema.safeParse(fitted).success).toBe(true);
    if (fitted.method !== "isotonic") throw new Error("not isotonic");
    expect(fitted.x.length).toBeLessThanOrEqual(32);
    expect(logLoss(p.map((score) => calibrate(fitted, score)), y)).toBeLessThan(logLoss(p, y) - 0.005);
  });

  it("every calibrator keeps distinct probabilities in order (so AUC cannot move)", () => {
    const { p, y } = miscalibrated(5_000, 1.3, 0.2, 3);
    const calibrators: Calibrator[] = [fitPlatt(p, y), fitIsotonic(p, y), { method: "none" }];
    fc.assert(
      fc.property(fc.float({ min: 0, max: 1, noNaN: true }), fc.float({ min: 0, max: 1, noNaN: true }), (u, v) => {
        const [low, high] = u < v ? [u, v] : [v, u];
        for (const calibrator of calibrators) {
          const [cl, ch] = [calibrate(calibrator, low), calibrate(calibrator, high)];
          expect(cl).toBeLessThanOrEqual(ch);
          if (high - low > 1e-4 && calibrator.method !== "platt") expect(cl).toBeLessThan(ch);
          expect(cl).toBeGreaterThanOrEqual(0);
          expect(ch).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it("chooses no calibration for calibrated scores and for a label too rare to fit, and a fit for miscalibrated ones", () => {
    const rng = new Rng(4);
    const p = Float64Array.from({ length: 40_000 }, () => rng.uniform());
    const y = Uint8Array.from(p, (score) => (rng.uniform() < score ? 1 : 0));
    const calibrated = chooseCalibrator(p, y);
    // on calibrated scores a fit can only win on noise: whatever wins, it is within noise of none
    expect(calibrated.heldOutLogLoss.none - Math.min(calibrated.heldOutLogLoss.platt, calibrated.heldOutLogLoss.isotonic)).toBeLessThan(0.001);
    expect(chooseCalibrator(p, Uint8Array.from(p, (_, i) => (i < 5 ? 1 : 0))).calibrator).toEqual({ method: "none" });
    const off = miscalibrated(40_000, 0.5, -1, 5);
    expect(chooseCalibrator(off.p, off.y).calibrator.method).not.toBe("none");
  });

  it("calibrates a [rows × labels] matrix column by column, leaving labels without a calibrator as they are", () => {
    const rows = Float32Array.from({ length: 2 * LABELS.length }, (_, i) => 0.1 + 0.01 * i);
    const out = calibrateMtmlRows({ like: { method: "platt", a: 1, b: Math.log(2) } }, rows.slice());
    LABELS.forEach((label, l) => {
      for (let r = 0; r < 2; r++) {
        const before = rows[r * LABELS.length + l] as number;
        const after = out[r * LABELS.length + l] as number;
        if (label === "like") expect(after).toBeCloseTo((2 * before) / (1 - before + 2 * before), 5);
        else expect(after).toBe(before);
      }
    });
    expect(calibrateMtmlRows(undefined, rows)).toBe(rows);
  });

  it("refuses calibrators a manifest must not carry", () => {
    expect(calibratorSchema.safeParse({ method: "isotonic", x: [0.2, 0.1], y: [0.1, 0.2] }).success).toBe(false);
    expect(calibratorSchema.safeParse({ method: "isotonic", x: [0.1], y: [0.1, 0.2] }).success).toBe(false);
    expect(calibratorSchema.safeParse({ method: "platt", a: Number.NaN, b: 0 }).success).toBe(false);
    expect(calibratorSchema.safeParse({ method: "beta" }).success).toBe(false);
  });
});

describe("a bundle's MTML calibration at serving", () => {
  it("is applied to the probabilities every stage reads, per task, and a bundle without it serves them raw", async () => {
    const bundle = await fixtureServingBundle();
    const { tables, models } = bundle;
    if (!models.mtml) throw new Error("the fixture lacks its MTML");
    const calibration = { click: { method: "platt", a: 0.5, b: -0.3 }, hate: { method: "none" } } as const;
    const manifest = tables.manifest as unknown as { models: { mtml: Record<string, unknown> } } & Record<string, unknown>;
    const calibrated = BundleTables.decode({ ...manifest, models: { ...manifest.models, mtml: { ...manifest.models.mtml, calibration } } }, tables.files);
    const user = tables.userContext(0);
    const items = [0, 1, 2, 3];
    const sessions = { mtml: models.mtml, mtmlOneUser: models.mtmlOneUser };
    const raw = await mtmlProbabilities(tables, sessions, user, items, tables.config.defaultSurface, tables.asOfMs);
    const served = await mtmlProbabilities(calibrated, sessions, user, items, tables.config.defaultSurface, tables.asOfMs);
    LABELS.forEach((label, l) => {
      for (let r = 0; r < items.length; r++) {
        const before = raw[r * LABELS.length + l] as number;
        const after = served[r * LABELS.length + l] as number;
        if (label === "click") expect(after).toBeCloseTo(calibrate(calibration.click, before), 6);
        else expect(after).toBe(before);
      }
    });
  });

  it("refuses a bundle whose calibration is malformed", async () => {
    const { tables } = await fixtureServingBundle();
    const manifest = tables.manifest as unknown as { models: { mtml: Record<string, unknown> } } & Record<string, unknown>;
    expect(() => BundleTables.decode({ ...manifest, models: { ...manifest.models, mtml: { ...manifest.models.mtml, calibration: { click: { method: "platt", a: "x" } } } } }, tables.files)).toThrow(/models\.mtml\.calibration\.click/);
  });
});
