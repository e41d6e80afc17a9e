// The fast exp used by softmax/sigmoid/BCE must be indistinguishable from Math.exp at float32 precision.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expNonPositive, stableSigmoid } from "../../../models/autodiff";

describe("expNonPositive", () => {
  it("matches Math.exp to ~1e-8 relative over (−104, 0], including the reduction boundaries", () => {
    const points = [0, -1e-30, -1e-7, -0.3465735902799726, -0.34657359, -0.6931471805599453, -1, -10, -50, -87.3, -100, -103.9];
    for (let k = 0; k < 150; k++) points.push(-k * Math.LN2, -k * Math.LN2 - Math.LN2 / 2);
    for (const x of points) {
      const want = Math.exp(x);
      expect(Math.abs(expNonPositive(x) - want)).toBeLessThanOrEqual(2e-8 * want + 1e-300);
    }
    fc.assert(
      fc.property(fc.double({ min: -103.9, max: 0, noNaN: true }), (x) => {
        const want = Math.exp(x);
        return Math.abs(expNonPositive(x) - want) <= 2e-8 * want;
      }),
      { numRuns: 2000 },
    );
  });

  it("underflows to exactly 0 below float32 range and for −Infinity; NaN stays NaN", () => {
    expect(expNonPositive(-104.5)).toBe(0);
    expect(expNonPositive(-Infinity)).toBe(0);
    expect(Number.isNaN(expNonPositive(Number.NaN))).toBe(true);
    expect(Math.fround(expNonPositive(-103.9))).toBe(Math.fround(Math.exp(-103.9)));
  });
});

describe("stableSigmoid", () => {
  it("matches 1/(1+e^−v) and saturates without overflow", () => {
    for (const v of [-800, -100, -20, -1, -1e-9, 0, 1e-9, 1, 20, 100, 800]) {
      const want = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
      expect(Math.abs(stableSigmoid(v) - want)).toBeLessThanOrEqual(1e-8 * Math.max(want, 1e-300));
    }
    expect(stableSigmoid(0)).toBe(0.5);
    expect(stableSigmoid(1000)).toBe(1);
    expect(stableSigmoid(-1000)).toBe(0);
  });
});
