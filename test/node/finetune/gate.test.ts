// The regression gate's rule (models/finetune/gate.ts): not worse by more than the tolerance passes, equal passes,
// a reported-only measure never decides, and a gate that measured nothing refuses.
import { describe, expect, it } from "vitest";
import { formatVerdict, judge, type GateMeasure } from "../../../models/finetune/gate";

const auc = (base: number | null, candidate: number | null, gated = true): GateMeasure => ({ name: "mtml_auc_click", base, candidate, tolerance: 0.002, gated });

describe("the gate's rule", () => {
  it("passes an equal or better candidate and one within the tolerance", () => {
    expect(judge([auc(0.74, 0.74)]).passed).toBe(true);
    expect(judge([auc(0.74, 0.75)]).passed).toBe(true);
    expect(judge([auc(0.74, 0.7385)]).passed).toBe(true);
  });

  it("refuses a candidate worse than the tolerance on any gated measure, and says which", () => {
    const verdict = judge([auc(0.74, 0.75), { ...auc(0.74, 0.737), name: "mtml_auc_like" }]);
    expect(verdict.passed).toBe(false);
    expect(verdict.rows.map((row) => row.verdict)).toEqual(["pass", "fail"]);
    expect(formatVerdict(verdict)).toMatch(/mtml_auc_like .* fail[\s\S]*gate: FAIL/);
  });

  it("lets a reported measure (a rare label, too few positives) decide nothing", () => {
    const verdict = judge([auc(0.74, 0.74), auc(0.9, 0.5, false)]);
    expect(verdict.passed).toBe(true);
    expect(verdict.rows[1]?.verdict).toBe("n/a");
  });

  it("refuses when nothing could be measured", () => {
    expect(judge([auc(null, null), auc(0.7, 0.7, false)]).passed).toBe(false);
    expect(judge([]).passed).toBe(false);
  });
});
