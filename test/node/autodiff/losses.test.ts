// Loss values against direct float64 formulas, gradients against finite differences, and numerical stability.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  Parameter,
  Rng,
  backward,
  bceWithLogits,
  getGemmBackend,
  mse,
  setGemmBackend,
  softmaxCrossEntropy,
} from "../../../models/autodiff";
import { gradCheck, param, randomArray } from "./helpers";

function referenceSoftmaxCe(
  x: Float32Array, m: number, n: number, targets: Int32Array, temperature: number, offset?: Float32Array, ids?: Int32Array,
): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    const t = targets[i] as number;
    const z: number[] = [];
    for (let j = 0; j < n; j++) {
      const excluded = ids !== undefined && j !== t && ids[j] === ids[t];
      z.push(excluded ? -Infinity : (x[i * n + j] as number) / temperature + (offset?.[j] ?? 0));
    }
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
    total += lse - (z[t] as number);
  }
  return total / m;
}

function referenceBce(z: number, y: number): number {
  const p = 1 / (1 + Math.exp(-z));
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
}

const seed = fc.integer({ min: 1, max: 1e9 });

describe("softmaxCrossEntropy", () => {
  it("value and gradient, with temperature, logQ offset and accidental-hit removal", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(1, 0.5, 2),
        fc.boolean(),
        fc.boolean(),
        seed,
        (m, n, temperature, withOffset, withIds, s) => {
          const rng = new Rng(s);
          const logits = param("logits", rng, [m, n], 2);
          const targets = Int32Array.from({ length: m }, () => rng.int(n));
          const offset = withOffset ? Float32Array.from({ length: n }, () => -Math.log(0.05 + rng.uniform())) : undefined;
          const ids = withIds ? Int32Array.from({ length: n }, () => rng.int(Math.max(1, n - 1))) : undefined;
          const options = { temperature, ...(offset ? { logitOffset: offset } : {}), ...(ids ? { candidateIds: ids } : {}) };
          const loss = softmaxCrossEntropy(logits, targets, options);
          const expected = referenceSoftmaxCe(logits.data, m, n, targets, temperature, offset, ids);
          expect(loss.item()).toBeCloseTo(expected, 4);
          gradCheck(() => softmaxCrossEntropy(logits, targets, options), [logits]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("the logQ offset changes the loss exactly as subtracting log Q from each column's logit", () => {
    const logits = new Parameter("l", Float32Array.from([1, 2, 3, 0, 0, 0]), [2, 3]);
    const q = [0.5, 0.3, 0.2];
    const offset = Float32Array.from(q.map((v) => -Math.log(v)));
    const targets = Int32Array.from([2, 0]);
    const shifted = new Parameter("s", Float32Array.from([1, 2, 3, 0, 0, 0].map((v, e) => v - Math.log(q[e % 3] as number))), [2, 3]);
    expect(softmaxCrossEntropy(logits, targets, { logitOffset: offset }).item()).toBeCloseTo(
      softmaxCrossEntropy(shifted, targets).item(),
      6,
    );
  });

  it("accidental hits: a duplicate of the target column is removed from the row's softmax and gets no gradient", () => {
    const logits = new Parameter("l", Float32Array.from([0.3, 5, 0.3, -1]), [1, 4]);
    const ids = Int32Array.from([10, 11, 10, 12]); // columns 0 and 2 are the same item
    const loss = softmaxCrossEntropy(logits, Int32Array.from([0]), { candidateIds: ids });
    expect(loss.item()).toBeCloseTo(referenceSoftmaxCe(logits.data, 1, 4, Int32Array.from([0]), 1, undefined, ids), 5);
    backward(loss);
    expect((logits.grad as Float32Array)[2]).toBe(0);
  });

  it("rows spanning the float32 exp underflow range (z − max from −80 to −300) match the float64 reference", () => {
    const data = Float32Array.from([0, -80, -88, -95, -103, -110, -150, -199, -300, 5]);
    for (const backend of ["wasm", "js"] as const) {
      setGemmBackend(backend);
      const logits = new Parameter("l", Float32Array.from(data), [1, 10]);
      const targets = Int32Array.from([1]);
      const loss = softmaxCrossEntropy(logits, targets);
      expect(loss.item()).toBeCloseTo(referenceSoftmaxCe(data, 1, 10, targets, 1), 4);
      backward(loss);
      const g = logits.grad as Float32Array;
      for (let j = 0; j < 10; j++) {
        const p = Math.exp((data[j] as number) - 5) / (1 + Math.exp(-5) + Math.exp(-85));
        expect(Math.abs((g[j] as number) - (p - (j === 1 ? 1 : 0)))).toBeLessThanOrEqual(1e-6 * Math.max(p, 1e-30) + 1e-37);
        expect(g[j]! >= -1 && g[j]! <= 1).toBe(true);
      }
    }
    setGemmBackend("wasm");
  });

  it("soft targets (distillation): value and gradient; one-hot soft targets equal integer targets", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), seed, (m, n, s) => {
        const rng = new Rng(s);
        const logits = param("logits", rng, [m, n], 2);
        const soft = Float32Array.from({ length: m * n }, () => rng.uniform());
        gradCheck(() => softmaxCrossEntropy(logits, soft, { temperature: 0.7 }), [logits]);
        const hard = Int32Array.from({ length: m }, () => rng.int(n));
        const oneHot = new Float32Array(m * n);
        hard.forEach((t, i) => (oneHot[i * n + t] = 1));
        expect(softmaxCrossEntropy(logits, oneHot).item()).toBeCloseTo(softmaxCrossEntropy(logits, hard).item(), 5);
      }),
      { numRuns: 25 },
    );
  });

  it("is finite for logits of ±100 and ties, with a small temperature", () => {
    const data = Float32Array.from([100, -100, 100, 100, -100, -100, 0, 0, 0, 100, 100, -100]);
    const logits = new Parameter("l", data, [4, 3]);
    const targets = Int32Array.from([1, 0, 2, 2]);
    const loss = softmaxCrossEntropy(logits, targets, { temperature: 0.05 });
    expect(Number.isFinite(loss.item())).toBe(true);
    expect(loss.item()).toBeCloseTo(referenceSoftmaxCe(data, 4, 3, targets, 0.05), 1);
    backward(loss);
    expect((logits.grad as Float32Array).every((g) => Number.isFinite(g))).toBe(true);
    // Row 0: target has logit −100 vs 100 → loss ≈ 200/0.05 = 4000; its gradient is −1/(0.05·4) = −5.
    expect((logits.grad as Float32Array)[1]).toBeCloseTo(-5, 4);
  });
});

describe("softmaxCrossEntropy: wasm SIMD and JS paths", () => {
  const initial = getGemmBackend();
  afterEach(() => setGemmBackend(initial));

  it("agree on loss and gradient (odd widths, masks, offsets, ±100 logits), and both pass the FD check", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 13 }), fc.boolean(), seed, (m, n, extreme, s) => {
        const rng = new Rng(s);
        const data = Float32Array.from({ length: m * n }, () => (extreme && rng.uniform() < 0.3 ? (rng.uniform() < 0.5 ? -100 : 100) : rng.normal() * 2));
        const targets = Int32Array.from({ length: m }, () => rng.int(n));
        const options = {
          temperature: 0.5,
          logitOffset: Float32Array.from({ length: n }, () => rng.normal()),
          candidateIds: Int32Array.from({ length: n }, () => rng.int(Math.max(1, n - 2))),
        };
        const results = (["wasm", "js"] as const).map((backend) => {
          setGemmBackend(backend);
          const logits = new Parameter("l", Float32Array.from(data), [m, n]);
          const loss = softmaxCrossEntropy(logits, targets, options);
          backward(loss);
          return { loss: loss.item(), grad: Array.from(logits.grad as Float32Array) };
        });
        const [wasm, js] = results as [{ loss: number; grad: number[] }, { loss: number; grad: number[] }];
        expect(Number.isFinite(wasm.loss)).toBe(true);
        expect(Math.abs(wasm.loss - js.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(js.loss)));
        wasm.grad.forEach((g, e) => expect(Math.abs(g - (js.grad[e] as number))).toBeLessThanOrEqual(1e-6));
      }),
      { numRuns: 60 },
    );
    setGemmBackend("js");
    const rng = new Rng(77);
    const logits = param("logits", rng, [3, 5], 2);
    const targets = Int32Array.from([0, 4, 2]);
    const logitOffset = randomArray(rng, 5);
    gradCheck(() => softmaxCrossEntropy(logits, targets, { temperature: 0.7, logitOffset }), [logits]);
  });
});

describe("bceWithLogits", () => {
  it("value matches −[y log p + (1−y) log(1−p)] and gradient matches finite differences (mask, weights)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<"none" | "column" | "element">("none", "column", "element"),
        fc.boolean(),
        fc.boolean(),
        seed,
        (m, t, weighting, masked, perColumnMean, s) => {
          const rng = new Rng(s);
          const logits = param("logits", rng, [m, t], 3);
          const labels = Float32Array.from({ length: m * t }, () => (rng.uniform() < 0.3 ? 1 : rng.uniform() < 0.5 ? 0 : rng.uniform()));
          const mask = masked ? Uint8Array.from({ length: m * t }, () => (rng.uniform() < 0.7 ? 1 : 0)) : undefined;
          if (mask) mask.forEach((v, e) => v === 0 && (labels[e] = Number.NaN)); // missing labels may be NaN when masked
          const weights =
            weighting === "column" ? randomArray(rng, t, 2).map(Math.abs) : weighting === "element" ? randomArray(rng, m * t, 2).map(Math.abs) : undefined;
          const options = { perColumnMean, ...(mask ? { mask } : {}), ...(weights ? { weights } : {}) };

          const counts = new Array<number>(t).fill(0);
          const sums = new Array<number>(t).fill(0);
          for (let e = 0; e < m * t; e++) {
            if (mask && mask[e] === 0) continue;
            const w = weights === undefined ? 1 : (weights[weighting === "column" && t !== m * t ? e % t : e] as number);
            sums[e % t] = (sums[e % t] as number) + w * referenceBce(logits.data[e] as number, labels[e] as number);
            counts[e % t] = (counts[e % t] as number) + 1;
          }
          const all = counts.reduce((a, b) => a + b, 0);
          const expected = perColumnMean
            ? sums.reduce((acc, v, c) => acc + ((counts[c] as number) > 0 ? v / (counts[c] as number) : 0), 0)
            : all > 0
              ? sums.reduce((a, b) => a + b, 0) / all
              : 0;
          expect(bceWithLogits(logits, labels, options).item()).toBeCloseTo(expected, 4);
          gradCheck(() => bceWithLogits(logits, labels, options), [logits]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("masked entries contribute neither loss nor gradient", () => {
    const logits = new Parameter("l", Float32Array.from([2, -1, 0.5, 3]), [2, 2]);
    const labels = Float32Array.from([1, Number.NaN, 0, Number.NaN]);
    const mask = Uint8Array.from([1, 0, 1, 0]);
    const loss = bceWithLogits(logits, labels, { mask });
    expect(loss.item()).toBeCloseTo((referenceBce(2, 1) + referenceBce(0.5, 0)) / 2, 6);
    backward(loss);
    const g = logits.grad as Float32Array;
    expect(g[1]).toBe(0);
    expect(g[3]).toBe(0);
  });

  it("accepts [M] logits (one task) and is stable at ±100", () => {
    const logits = new Parameter("l", Float32Array.from([100, -100, 100, -100]), [4]);
    const labels = Float32Array.from([1, 0, 0, 1]);
    const loss = bceWithLogits(logits, labels);
    expect(loss.item()).toBeCloseTo(50, 4); // two perfect predictions, two wrong by 100
    backward(loss);
    const expectedGrad = [0, 0, 0.25, -0.25];
    (logits.grad as Float32Array).forEach((g, e) => expect(g).toBeCloseTo(expectedGrad[e] as number, 12));
  });

  it("an all-masked batch gives loss 0 and zero gradient instead of NaN", () => {
    const logits = new Parameter("l", Float32Array.from([1, 2]), [1, 2]);
    const loss = bceWithLogits(logits, Float32Array.from([Number.NaN, Number.NaN]), { mask: new Uint8Array(2) });
    expect(loss.item()).toBe(0);
    backward(loss);
    expect(Array.from(logits.grad as Float32Array)).toEqual([0, 0]);
  });
});

describe("mse", () => {
  it("value and gradient", () => {
    const rng = new Rng(4);
    const pred = param("p", rng, [3, 2]);
    const target = randomArray(rng, 6);
    const weights = randomArray(rng, 6).map(Math.abs);
    let expected = 0;
    for (let e = 0; e < 6; e++) expected += (weights[e] as number) * ((pred.data[e] as number) - (target[e] as number)) ** 2;
    expect(mse(pred, target, weights).item()).toBeCloseTo(expected / 6, 6);
    gradCheck(() => mse(pred, target, weights), [pred]);
    gradCheck(() => mse(pred, target), [pred]);
  });
});
