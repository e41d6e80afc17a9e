// Bad input throws an Error that names the op and the shapes, never a silent wrong result.
import { describe, expect, it } from "vitest";
import {
  Parameter,
  addBias,
  backward,
  bceWithLogits,
  concat,
  constant,
  embedding,
  embeddingBag,
  matmul,
  matmulNT,
  mixture,
  rowDot,
  sliceColumns,
  softmaxCrossEntropy,
  sum,
} from "../../../models/autodiff";

const p = (name: string, shape: number[], fill = 0.5): Parameter =>
  new Parameter(name, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill), shape);

describe("input validation", () => {
  it("shape mismatches name the op and both shapes", () => {
    expect(() => matmul(p("a", [2, 3]), p("b", [4, 5]))).toThrow("matmul: inner dimensions differ: a [2×3] · b [4×5]");
    expect(() => matmulNT(p("a", [2, 3]), p("b", [4, 5]))).toThrow(/matmulNT: feature dimensions differ: a \[2×3\]/);
    expect(() => matmul(p("a", [6]), p("b", [6, 1]))).toThrow(/matmul: a must be rank 2, got \[6\]/);
    expect(() => addBias(p("x", [2, 3]), p("b", [4]))).toThrow("addBias: bias must be [3] for x [2×3], got [4]");
    expect(() => concat([p("a", [2, 3]), p("b", [3, 3])])).toThrow(/concat\(axis 1\): row counts differ: \[2×3\], \[3×3\]/);
    expect(() => rowDot(p("a", [2, 3]), p("b", [2, 4]))).toThrow(/rowDot: shapes differ: \[2×3\] vs \[2×4\]/);
    expect(() => sliceColumns(p("a", [2, 3]), 1, 5)).toThrow(/sliceColumns: range \[1, 5\) is outside the 3 columns/);
    expect(() => mixture(p("g", [2, 2]), [p("e0", [2, 4]), p("e1", [3, 4])])).toThrow(/mixture: expert 1 is \[3×4\], expected \[2×4\]/);
    expect(() => backward(matmul(p("a", [2, 2]), p("b", [2, 2])))).toThrow(/backward: loss must have exactly one element, got \[2×2\]/);
  });

  it("ids out of range and malformed offsets", () => {
    const table = p("t", [5, 2]);
    expect(() => embedding(table, Int32Array.from([0, 5]))).toThrow("embedding: id 5 at position 1 is out of range for table [5×2]");
    expect(() => embedding(table, Int32Array.from([-1]))).toThrow(/embedding: id -1 at position 0/);
    expect(() => embeddingBag(table, Int32Array.from([1, 2]), Int32Array.from([0, 1]))).toThrow(/offsets must start at 0 and end at ids.length=2/);
    expect(() => embeddingBag(table, Int32Array.from([1, 2]), Int32Array.from([0, 2, 1, 2]))).toThrow(/offsets decrease at bag 1/);
    expect(() => embeddingBag(table, Int32Array.from([7]), Int32Array.from([0, 1]))).toThrow(/embeddingBag: id 7 at position 0 is out of range for table \[5×2\]/);
    expect(() => embeddingBag(table, Int32Array.from([1]), Int32Array.from([0, 1]), { weights: Float32Array.from([Number.NaN]) })).toThrow(
      /embeddingBag: non-finite weight NaN/,
    );
  });

  it("NaN or Infinity in inputs", () => {
    expect(() => constant(Float32Array.from([1, Number.NaN]), [2])).toThrow("constant: non-finite value NaN at flat index 1 of [2]");
    expect(() => new Parameter("w", Float32Array.from([Infinity]), [1])).toThrow(/Parameter w: non-finite value Infinity/);
    expect(() => constant(new Float32Array(3), [2, 2])).toThrow(/const: data length 3 does not match shape \[2×2\]/);
    const logits = p("l", [2, 2]);
    expect(() => bceWithLogits(logits, Float32Array.from([1, Number.NaN, 0, 1]))).toThrow(
      /bceWithLogits: label NaN at row 0, column 1 must be in \[0, 1\] \(mask it out if missing\)/,
    );
    expect(() => bceWithLogits(logits, Float32Array.from([1, 2, 0, 1]))).toThrow(/label 2 at row 0, column 1/);
    logits.data[3] = Number.NaN; // e.g. a diverged model
    expect(() => bceWithLogits(logits, Float32Array.from([1, 0, 0, 1]))).toThrow(/bceWithLogits: non-finite logit NaN at flat index 3 of \[2×2\]/);
    expect(() => softmaxCrossEntropy(logits, Int32Array.from([0, 1]))).toThrow(/softmaxCrossEntropy: non-finite logit NaN at flat index 3/);
  });

  it("loss option mismatches", () => {
    const logits = p("l", [2, 3]);
    expect(() => softmaxCrossEntropy(logits, Int32Array.from([0, 3]))).toThrow("softmaxCrossEntropy: target 3 of row 1 is out of range for 3 columns");
    expect(() => softmaxCrossEntropy(logits, Int32Array.from([0]))).toThrow(/1 targets for 2 rows of \[2×3\]/);
    expect(() => softmaxCrossEntropy(logits, Int32Array.from([0, 1]), { logitOffset: new Float32Array(2) })).toThrow(/logitOffset length 2 ≠ 3 columns/);
    expect(() => softmaxCrossEntropy(logits, Int32Array.from([0, 1]), { temperature: 0 })).toThrow(/temperature must be finite and > 0/);
    expect(() => softmaxCrossEntropy(logits, new Float32Array(6).fill(-1))).toThrow(/soft target -1 at flat index 0/);
    expect(() => bceWithLogits(logits, new Float32Array(6), { weights: new Float32Array(4) })).toThrow(
      /weights length 4 must be 3 \(per column\) or 6 \(per element\) for \[2×3\]/,
    );
    expect(() => bceWithLogits(logits, new Float32Array(6), { mask: new Uint8Array(5) })).toThrow(/mask length 5/);
    expect(() => sum(logits).item()).not.toThrow();
  });
});
