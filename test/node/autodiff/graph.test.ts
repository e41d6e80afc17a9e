// Graph semantics: accumulation, repeated backward, noGrad, detach, deep graphs.
import { describe, expect, it } from "vitest";
import {
  Parameter,
  type Tensor,
  add,
  backward,
  constant,
  detach,
  matmul,
  mul,
  noGrad,
  relu,
  scale,
  sum,
  tidy,
  zeroGrad,
} from "../../../models/autodiff";

describe("graph", () => {
  it("a tensor used twice receives the sum of both gradients", () => {
    const x = new Parameter("x", Float32Array.from([1, 2, 3]), [3]);
    const h = scale(x, 3);
    backward(sum(add(mul(h, h), h))); // d/dx Σ (9x² + 3x) = 18x + 3
    expect(Array.from(x.grad as Float32Array)).toEqual([21, 39, 57]);
  });

  it("calling backward twice doubles parameter gradients; zeroGrad resets them", () => {
    const x = new Parameter("x", Float32Array.from([1, -2]), [2]);
    const loss = sum(mul(x, x));
    backward(loss);
    backward(loss);
    expect(Array.from(x.grad as Float32Array)).toEqual([4, -8]);
    zeroGrad([x]);
    expect(Array.from(x.grad as Float32Array)).toEqual([0, 0]);
  });

  it("constant branches get no gradient and no graph edges", () => {
    const w = new Parameter("w", Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const c = constant(Float32Array.from([1, 1, 1, 1]), [2, 2]);
    const y = matmul(c, w);
    expect(y.requiresGrad).toBe(true);
    const z = relu(c);
    expect(z.requiresGrad).toBe(false);
    expect(z.inputs.length).toBe(0);
    backward(sum(y));
    expect(c.grad).toBeNull();
    expect(Array.from(w.grad as Float32Array)).toEqual([2, 2, 2, 2]);
  });

  it("noGrad records nothing and backward then refuses", () => {
    const x = new Parameter("x", Float32Array.from([1]), [1]);
    const y = noGrad(() => sum(scale(x, 2)));
    expect(y.requiresGrad).toBe(false);
    expect(y.item()).toBe(2);
    expect(() => backward(y)).toThrow(/does not depend on any Parameter/);
  });

  it("detach stops the gradient", () => {
    const x = new Parameter("x", Float32Array.from([3]), [1]);
    backward(sum(mul(x, detach(x)))); // d/dx x·stop(x) = x
    expect(Array.from(x.grad as Float32Array)).toEqual([3]);
  });

  it("a 20k-op chain back-propagates without stack overflow", () => {
    const x = new Parameter("x", Float32Array.from([1]), [1]);
    let y: Tensor = x;
    for (let i = 0; i < 20000; i++) y = scale(y, 1);
    backward(sum(y));
    expect(Array.from(x.grad as Float32Array)).toEqual([1]);
  });
});

describe("tidy (buffer reuse across steps)", () => {
  it("recycles op buffers: the next step gets the same memory, zeroed, and results are unchanged", () => {
    const w = new Parameter("w", Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const x = constant(Float32Array.from([1, -1, 2, 0.5]), [2, 2]);
    const step = () => {
      w.zeroGrad();
      const product = matmul(x, w);
      const h = relu(product);
      const square = mul(h, h);
      const loss = sum(square);
      backward(loss);
      return { value: loss.item(), h, grad: Array.from(w.grad as Float32Array), buffers: [product, h, square].flatMap((t) => [t.data, t.grad]) };
    };
    const first = tidy(step);
    const second = tidy(step);
    expect(second.value).toBe(first.value);
    expect(second.grad).toEqual(first.grad);
    for (const buffer of second.buffers) expect(first.buffers).toContain(buffer); // pooled, not fresh
    expect(() => second.h.data).toThrow(/was released when its tidy\(\) scope ended/);
  });

  it("a returned tensor survives its scope, and backward on a released graph throws", () => {
    const p = new Parameter("p", Float32Array.from([2]), [1]);
    let inner: ReturnType<typeof scale> | null = null;
    const kept = tidy(() => {
      inner = scale(p, 3);
      return scale(inner, 2);
    });
    expect(Array.from(kept.data)).toEqual([12]);
    expect(() => (inner as unknown as ReturnType<typeof scale>).data).toThrow(/released/);
    expect(() => backward(sum(kept))).toThrow(/backward: Tensor\(scale, \[1\]\) in the graph was released/);
  });

  it("releases buffers even when the step throws, and parameters/constants are never recycled", () => {
    const p = new Parameter("p", Float32Array.from([1, 2]), [2]);
    const userArray = Float32Array.from([5, 6]);
    const c = constant(userArray, [2]);
    expect(() =>
      tidy(() => {
        scale(p, 2);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    tidy(() => add(p, c));
    expect(Array.from(p.data)).toEqual([1, 2]);
    expect(Array.from(userArray)).toEqual([5, 6]);
    expect(() => c.data).not.toThrow(); // created outside the scope
  });
});
