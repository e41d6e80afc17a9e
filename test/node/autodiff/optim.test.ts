// Adam: convergence, bias correction, lazy (sparse) vs dense equivalence, clipping, weight decay, determinism.
import { describe, expect, it } from "vitest";
import {
  Adam,
  Parameter,
  add,
  Rng,
  backward,
  bceWithLogits,
  concat,
  constant,
  embedding,
  embeddingBag,
  glorotUniform,
  linear,
  mse,
  normalInit,
  relu,
  sum,
  mul,
} from "../../../models/autodiff";
import { randomArray } from "./helpers";

describe("Adam", () => {
  it("converges on a convex least-squares problem to the true weights", () => {
    const rng = new Rng(1);
    const n = 64, d = 5;
    const x = randomArray(rng, n * d);
    const wTrue = randomArray(rng, d, 2);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0.5;
      for (let j = 0; j < d; j++) s += (x[i * d + j] as number) * (wTrue[j] as number);
      y[i] = s;
    }
    const w = new Parameter("w", new Float32Array(d), [d, 1]);
    const b = new Parameter("b", new Float32Array(1), [1]);
    const opt = new Adam([w, b], { lr: 0.05 });
    const input = constant(x, [n, d]);
    let loss = Infinity;
    for (let step = 0; step < 1500; step++) {
      opt.zeroGrad();
      const l = mse(linear(input, w, b), y);
      loss = l.item();
      backward(l);
      opt.step();
    }
    expect(loss).toBeLessThan(1e-6);
    for (let j = 0; j < d; j++) expect(w.data[j]).toBeCloseTo(wTrue[j] as number, 3);
    expect(b.data[0]).toBeCloseTo(0.5, 3);
  });

  it("minimize takes the same steps as backward + step + zeroGrad, returns the loss and leaves no gradient behind", () => {
    const rng = new Rng(3);
    const x = constant(randomArray(rng, 8 * 3), [8, 3]);
    const y = randomArray(rng, 8);
    const manualW = new Parameter("w", randomArray(new Rng(4), 3), [3, 1]);
    const minimizedW = new Parameter("w", Float32Array.from(manualW.data), [3, 1]);
    const manual = new Adam([manualW], { lr: 0.1 });
    const minimized = new Adam([minimizedW], { lr: 0.1 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const loss = mse(linear(x, manualW), y);
      const expected = loss.item();
      backward(loss);
      manual.step();
      manual.zeroGrad();
      losses.push(minimized.minimize(() => mse(linear(x, minimizedW), y)));
      expect(losses[step]).toBe(expected);
    }
    expect(Array.from(minimizedW.data)).toEqual(Array.from(manualW.data));
    expect(minimized.stepCount).toBe(5);
    expect(losses[4]).toBeLessThan(losses[0] as number);
    expect(minimizedW.grad === null || minimizedW.grad.every((g) => g === 0)).toBe(true);
  });

  it("first step moves every parameter with a nonzero gradient by lr·sign(g) (bias correction)", () => {
    const p = new Parameter("p", Float32Array.from([1, -2, 3, 0.5]), [4]);
    const opt = new Adam([p], { lr: 0.01 });
    backward(sum(mul(p, constant(Float32Array.from([0.001, -5, 1e3, 0])))));
    opt.step();
    expect(p.data[0]).toBeCloseTo(1 - 0.01, 6);
    expect(p.data[1]).toBeCloseTo(-2 + 0.01, 6);
    expect(p.data[2]).toBeCloseTo(3 - 0.01, 6);
    expect(p.data[3]).toBe(0.5); // zero gradient: no move
    expect(opt.stepCount).toBe(1);
  });

  it("lazy Adam on a sparse table equals dense Adam after one step, bit for bit (touched rows; all rows without decay)", () => {
    const rng = new Rng(2);
    const init = normalInit(rng, [50, 8], 0.1);
    const ids = Int32Array.from([3, 17, 3, 42, 8, 17, 17]);
    const offsets = Int32Array.from([0, 2, 2, 5, 7]);
    const touched = [3, 17, 42, 8];
    const target = randomArray(rng, 4 * 8);
    for (const decay of [0, 0.01]) {
      const sparseTable = new Parameter("sparse", Float32Array.from(init), [50, 8], { sparse: true });
      const denseTable = new Parameter("dense", Float32Array.from(init), [50, 8]);
      const options = { lr: 0.03, weightDecay: decay, embeddingWeightDecay: decay };
      for (const table of [sparseTable, denseTable]) {
        const opt = new Adam([table], options);
        backward(mse(embeddingBag(table, ids, offsets, { mode: "mean" }), target));
        opt.step();
      }
      expect(sparseTable.touchedRows()).not.toBe("all");
      for (const row of touched) {
        const slice = (t: Parameter): number[] => Array.from(t.data.subarray(row * 8, row * 8 + 8));
        expect(slice(sparseTable)).toEqual(slice(denseTable));
        expect(sparseTable.data[row * 8]).not.toBe(init[row * 8]);
      }
      // Untouched rows: lazy leaves them (decay included); dense only moves them through weight decay.
      for (let row = 0; row < 50; row++) {
        if (touched.includes(row)) continue;
        expect(Array.from(sparseTable.data.subarray(row * 8, row * 8 + 8))).toEqual(Array.from(init.subarray(row * 8, row * 8 + 8)));
      }
      if (decay === 0) expect(Array.from(sparseTable.data)).toEqual(Array.from(denseTable.data));
      else expect(Array.from(denseTable.data.subarray(0, 8))).not.toEqual(Array.from(init.subarray(0, 8)));
    }
  });

  it("lazy Adam leaves untouched rows alone on later steps, where dense Adam keeps moving them by momentum", () => {
    const init = normalInit(new Rng(3), [6, 2], 0.5);
    const tables = [true, false].map((sparse) => new Parameter(sparse ? "s" : "d", Float32Array.from(init), [6, 2], { sparse }));
    const opts = tables.map((t) => new Adam([t], { lr: 0.1 }));
    const batches = [Int32Array.from([0, 1]), Int32Array.from([2])];
    for (const ids of batches) {
      tables.forEach((t, k) => {
        (opts[k] as Adam).zeroGrad();
        backward(sum(embedding(t, ids)));
        (opts[k] as Adam).step();
      });
    }
    const [lazy, dense] = tables as [Parameter, Parameter];
    // Row 0 was touched at step 1 only: lazy keeps its step-1 value, dense moved it again at step 2.
    expect(lazy.data[0]).toBeCloseTo((init[0] as number) - 0.1, 6);
    expect(dense.data[0]).toBeLessThan((lazy.data[0] as number) - 0.05);
    // Row 2 (touched at step 2 only) and the never-touched row 5 behave identically.
    expect(lazy.data[4]).toBeCloseTo(dense.data[4] as number, 6);
    expect(lazy.data[10]).toBe(init[10]);
    expect(dense.data[10]).toBe(init[10]);
  });

  it("clips by global norm across parameters and reports the raw norm", () => {
    // With a huge eps, Adam's step is ≈ lr·m̂/eps, linear in the gradient, so the clip factor is visible in the update.
    const make = (): Parameter[] => [
      new Parameter("a", Float32Array.from([0, 0]), [2]),
      new Parameter("b", Float32Array.from([0]), [1]),
    ];
    const run = (clip: number | undefined): { params: Parameter[]; info: ReturnType<Adam["step"]> } => {
      const params = make();
      const [a, b] = params as [Parameter, Parameter];
      const opt = new Adam(params, { lr: 1, eps: 1e6, ...(clip === undefined ? {} : { clipGlobalNorm: clip }) });
      backward(add(sum(mul(a, constant(Float32Array.from([3, 4])))), sum(mul(b, constant(Float32Array.from([12]))))));
      return { params, info: opt.step() };
    };
    const free = run(undefined);
    const clipped = run(6.5);
    expect(free.info.gradNorm).toBeCloseTo(13, 6); // sqrt(9 + 16 + 144)
    expect(free.info.clipScale).toBe(1);
    expect(clipped.info.clipScale).toBeCloseTo(0.5, 6);
    free.params.forEach((p, k) => {
      const q = clipped.params[k] as Parameter;
      p.data.forEach((v, i) => {
        expect(v).not.toBe(0);
        expect(Math.abs((q.data[i] as number) - v * 0.5)).toBeLessThanOrEqual(1e-5 * Math.abs(v));
      });
    });
    expect(run(100).info.clipScale).toBe(1);
  });

  it("weight decay: separate coefficients for dense and sparse parameters", () => {
    const dense = new Parameter("w", Float32Array.from([2, -3]), [2]);
    const table = new Parameter("e", Float32Array.from([1, 1, -1, -1]), [2, 2], { sparse: true });
    const opt = new Adam([dense, table], { lr: 0.1, weightDecay: 0.5, embeddingWeightDecay: 0 });
    // Zero loss gradient everywhere; table row 1 is touched with zero gradient.
    backward(add(sum(mul(dense, constant(new Float32Array(2)))), sum(mul(embedding(table, Int32Array.from([1])), constant(new Float32Array(2), [1, 2])))));
    opt.step();
    expect(dense.data[0]).toBeCloseTo(2 - 0.1, 6); // g = λθ > 0 → moves toward 0 by lr
    expect(dense.data[1]).toBeCloseTo(-3 + 0.1, 6);
    expect(Array.from(table.data)).toEqual([1, 1, -1, -1]); // embedding decay is 0
  });

  it("throws on a non-finite gradient before changing any parameter", () => {
    const a = new Parameter("a", Float32Array.from([1]), [1]);
    const b = new Parameter("b", Float32Array.from([2]), [1]);
    const opt = new Adam([a, b], { lr: 0.1 });
    backward(add(sum(a), sum(b)));
    (b.grad as Float32Array)[0] = Number.NaN;
    expect(() => opt.step()).toThrow(/Adam.step: non-finite gradient in parameter b/);
    expect(a.data[0]).toBe(1);
    expect(b.data[0]).toBe(2);
  });

  it("rejects invalid hyper-parameters and duplicate names", () => {
    const p = new Parameter("p", new Float32Array(1), [1]);
    expect(() => new Adam([p], { lr: -1 })).toThrow(/Adam: invalid lr/);
    expect(() => new Adam([p], { lr: 0.1, beta1: 1 })).toThrow(/Adam: invalid beta1/);
    expect(() => new Adam([p, p], { lr: 0.1 })).toThrow(/duplicate parameter name p/);
  });
});

describe("determinism", () => {
  function trainSmallModel(seed: number, steps: number): Float32Array[] {
    const rng = new Rng(seed);
    const users = new Parameter("users", normalInit(rng, [40, 8], 0.1), [40, 8], { sparse: true });
    const w1 = new Parameter("w1", glorotUniform(rng, 8 + 3, 16), [11, 16]);
    const b1 = new Parameter("b1", new Float32Array(16), [16]);
    const w2 = new Parameter("w2", glorotUniform(rng, 16, 2), [16, 2]);
    const opt = new Adam([users, w1, b1, w2], { lr: 0.01, clipGlobalNorm: 1, embeddingWeightDecay: 1e-4 });
    const data = new Rng(seed + 1000);
    for (let step = 0; step < steps; step++) {
      const batch = 32;
      const ids = Int32Array.from({ length: batch }, () => data.int(40));
      const dense = constant(Float32Array.from({ length: batch * 3 }, () => data.normal()), [batch, 3]);
      const labels = Float32Array.from({ length: batch * 2 }, () => (data.uniform() < 0.3 ? 1 : 0));
      opt.zeroGrad();
      const logits = linear(relu(linear(concat([embedding(users, ids), dense]), w1, b1)), w2);
      backward(bceWithLogits(logits, labels));
      opt.step();
    }
    return [users, w1, b1, w2].map((p) => Float32Array.from(p.data));
  }

  it("the same seed gives bit-identical parameters after N steps; another seed does not", () => {
    const first = trainSmallModel(42, 30);
    const second = trainSmallModel(42, 30);
    first.forEach((arr, k) => expect(Buffer.from(arr.buffer).equals(Buffer.from((second[k] as Float32Array).buffer))).toBe(true));
    const other = trainSmallModel(43, 30);
    expect(Buffer.from((first[1] as Float32Array).buffer).equals(Buffer.from((other[1] as Float32Array).buffer))).toBe(false);
  });

  it("Rng streams are reproducible and roughly uniform / normal", () => {
    const a = new Rng(7), b = new Rng(7);
    for (let i = 0; i < 100; i++) expect(a.nextU32()).toBe(b.nextU32());
    const r = new Rng(9);
    let s = 0, s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) counts[r.int(10)]! += 1;
    for (const c of counts) expect(Math.abs(c - n / 10)).toBeLessThan(n / 10 * 0.1);
    expect(Array.from(new Rng(3).permutation(10)).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
