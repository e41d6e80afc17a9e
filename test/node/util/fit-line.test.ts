// The least-squares line the reliability run fits through workerd's resident memory per minute, and the benchmark
// through the runtimes' times per batch size (scripts/lib/fit-line.ts).
import { describe, expect, it } from "vitest";
import { fitLine } from "../../../scripts/lib/fit-line";

describe("fitLine", () => {
  it("finds an exact line's slope with no standard error", () => {
    const line = [1, 2, 3, 4, 5].map((x) => [x, 700 + 2.5 * x] as const);
    expect(fitLine(line).slope).toBeCloseTo(2.5, 12);
    expect(fitLine(line).intercept).toBeCloseTo(700, 9);
    expect(fitLine(line).standardError).toBeCloseTo(0, 12);
  });

  it("gives the textbook slope and standard error on scattered points", () => {
    // x 1..4, y 1, 3, 2, 4: y = 0.5 + 0.8x, residuals −0.3, 0.9, −0.9, 0.3 (sum of squares 1.8), s² = 1.8 / 2 over Sxx 5
    const points = [[1, 1], [2, 3], [3, 2], [4, 4]] as const;
    const { slope: fitted, intercept, standardError } = fitLine(points);
    expect(fitted).toBeCloseTo(0.8, 12);
    expect(intercept).toBeCloseTo(0.5, 12);
    expect(standardError).toBeCloseTo(Math.sqrt(0.9 / 5), 12);
  });

  it("has no slope below two points or with one x, and no standard error below three points", () => {
    expect(fitLine([]).slope).toBeNaN();
    expect(fitLine([[1, 5]]).slope).toBeNaN();
    expect(fitLine([[2, 5], [2, 7]]).slope).toBeNaN();
    expect(fitLine([[2, 5], [2, 7]]).intercept).toBeNaN();
    const two = fitLine([[1, 5], [3, 9]]);
    expect(two.slope).toBeCloseTo(2, 12);
    expect(two.standardError).toBeNaN();
  });
});
