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
