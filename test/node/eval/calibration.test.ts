import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reliability } from "../../../core/eval/calibration";
import { reliabilitySvg } from "../../../core/eval/reliability-svg";
import { Rng } from "../../../models/autodiff";

/** Labels drawn from the probabilities themselves: calibrated by construction. */
function drawn(probabilities: Float32Array, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from(probabilities, (p) => (rng.uniform() < p ? 1 : 0));
}

describe("reliability", () => {
  it("finds calibrated probabilities calibrated, and probabilities off by a factor off by that factor", () => {
    const rng = new Rng(3);
    const p = Float32Array.from({ length: 200_000 }, () => 0.3 * rng.uniform());
    const labels = drawn(p, 4);
    const calibrated = reliability(p, labels);
    expect(calibrated?.ece).toBeLessThan(0.004);
    expect(calibrated?.bins).toHaveLength(10);
    calibrated?.bins.forEach((bin) => expect(Math.abs(bin.observedRate - bin.meanPredicted)).toBeLessThan(0.01));
    // twice the true probability: every decile predicts twice what happens, and ECE is the mean excess
    const doubled = reliability(p.map((x) => 2 * x), labels);
    expect(doubled?.ece).toBeCloseTo(calibrated?.meanPredicted ?? 0, 2);
    doubled?.bins.forEach((bin) => expect(bin.meanPredicted / Math.max(bin.observedRate, 1e-9)).toBeGreaterThan(1.7));
  });

  it("puts the ECE floor where calibrated labels' ECE lands, shrinking with the sample, and below a miscalibration", () => {
    const rng = new Rng(5);
    const floors = [2_000, 50_000].map((n) => {
      const p = Float32Array.from({ length: n }, () => 0.6 * rng.uniform());
      const calibrated = reliability(p, drawn(p, 6)) as NonNullable<ReturnType<typeof reliability>>;
      // the floor is the ECE expected of calibrated labels: one calibrated draw lands within a factor of two of it
      expect(calibrated.eceFloor).toBeGreaterThan(0);
      expect(calibrated.ece).toBeGreaterThan(calibrated.eceFloor / 2);
      expect(calibrated.ece).toBeLessThan(calibrated.eceFloor * 2);
      // off by +0.2 everywhere: far above the floor
      const shifted = reliability(p.map((x) => x + 0.2), drawn(p, 6)) as NonNullable<ReturnType<typeof reliability>>;
      expect(shifted.ece).toBeGreaterThan(0.15);
      expect(shifted.ece).toBeGreaterThan(5 * shifted.eceFloor);
      // ~ sqrt(2/π) · sqrt(p(1 − p) / bin size) averaged over bins; each bin holds n / 10
      const expected = Math.sqrt(2 / Math.PI) * Math.sqrt(0.2 / (n / 10));
      expect(calibrated.eceFloor).toBeGreaterThan(expected * 0.7);
      expect(calibrated.eceFloor).toBeLessThan(expected * 1.3);
      return calibrated.eceFloor;
    });
    // 25 times the impressions: a fifth of the noise
    expect((floors[0] as number) / (floors[1] as number)).toBeGreaterThan(4);
    expect((floors[0] as number) / (floors[1] as number)).toBeLessThan(6.25);
    // deterministic: the same scores give the same floor whatever the labels
    const p = Float32Array.from({ length: 1000 }, (_, i) => i / 1000);
    expect(reliability(p, drawn(p, 1))?.eceFloor).toBe(reliability(p, drawn(p, 2))?.eceFloor);
  });

  it("splits any scores into equal-count bins whose counts add up, with ECE in [0, 1]", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.float({ min: 0, max: 1, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 500 }), fc.integer({ min: 1, max: 20 }), (pairs, bins) => {
        const result = reliability(Float32Array.from(pairs, ([p]) => p), Uint8Array.from(pairs, ([, y]) => (y ? 1 : 0)), bins);
        expect(result).not.toBeNull();
        const counts = result?.bins.map((bin) => bin.count) ?? [];
        expect(counts.reduce((a, b) => a + b, 0)).toBe(pairs.length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        expect(result?.ece).toBeGreaterThanOrEqual(0);
        expect(result?.ece).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("answers null without impressions and refuses mismatched columns", () => {
    expect(reliability(new Float32Array(0), new Uint8Array(0))).toBeNull();
    expect(() => reliability(new Float32Array(2), new Uint8Array(3))).toThrow(/2 scores for 3 labels/);
  });

  it("draws one panel per label and one line per scorer of probabilities", () => {
    const p = Float32Array.from({ length: 1000 }, (_, i) => i / 2000);
    const c = reliability(p, drawn(p, 9));
    const m = { auc: 0.5, gauc: 0.5, "replay_ndcg@10": 0.5 };
    const svg = reliabilitySvg({ mtml: { click: { ...m, calibration: c }, like: { ...m, calibration: c } }, popularity: { click: m } }, ["click", "like", "hate"]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain(">click</text>");
    expect(svg).not.toContain(">hate</text>");
    expect(svg).toContain("mtml — ECE: click");
    expect(svg).not.toContain("popularity");
  });
});
