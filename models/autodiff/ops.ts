// Dense ops: linear algebra, activations, shape plumbing and the MMoE gating primitives.
// Each op validates its inputs (naming itself and the shapes), computes the forward pass into a buffer from
// allocFloat, and, when the result needs a gradient, installs one backward closure that accumulates into input grads.
// The loops live in kernels.ts (see there for why).

import { gemm } from "./gemm";
import * as K from "./kernels";
import { expNonPositive, stableSigmoid } from "./math";
import { Tensor, allocFloat, gradOf, opResult, shapeToString, type Shape } from "./tensor";

function dims2(op: string, t: Tensor, what: string): [number, number] {
  if (t.rank !== 2) throw new Error(`${op}: ${what} must be rank 2, got ${shapeToString(t.shape)}`);
  return [t.shape[0] as number, t.shape[1] as number];
}

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes differ: ${shapeToString(a.shape)} vs ${shapeToString(b.shape)}`);
  }
}

/** a[M×K] · b[K×N] → [M×N]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const [m, k] = dims2("matmul", a, "a");
  const [k2, n] = dims2("matmul", b, "b");
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: a ${shapeToString(a.shape)} · b ${shapeToString(b.shape)}`);
  const out = opResult("matmul", allocFloat(m * n, false), [m, n], [a, b]);
  gemm("NN", a.data, b.data, out.data, m, k, n, false);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const dOut = out.grad as Float32Array;
      if (a.requiresGrad) gemm("NT", dOut, b.data, gradOf(a), m, n, k, true); // dA = dC·Bᵀ
      if (b.requiresGrad) gemm("TN", a.data, dOut, gradOf(b), k, m, n, true); // dB = Aᵀ·dC
    };
  }
  return out;
}

/** a[M×K] · b[N×K]ᵀ → [M×N]: in-batch logits (users · itemsᵀ) without materialising a transpose. */
export function matmulNT(a: Tensor, b: Tensor): Tensor {
  const [m, k] = dims2("matmulNT", a, "a");
  const [n, k2] = dims2("matmulNT", b, "b");
  if (k !== k2) throw new Error(`matmulNT: feature dimensions differ: a ${shapeToString(a.shape)} · b ${shapeToString(b.shape)}ᵀ`);
  const out = opResult("matmulNT", allocFloat(m * n, false), [m, n], [a, b]);
  gemm("NT", a.data, b.data, out.data, m, k, n, false);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const dOut = out.grad as Float32Array;
      if (a.requiresGrad) gemm("NN", dOut, b.data, gradOf(a), m, n, k, true); // dA = dC·B
      if (b.requiresGrad) gemm("TN", dOut, a.data, gradOf(b), n, m, k, true); // dB = dCᵀ·A
    };
  }
  return out;
}

/** x[M×N] + bias[N] broadcast over rows. */
export function addBias(x: Tensor, bias: Tensor): Tensor {
  const [m, n] = dims2("addBias", x, "x");
  if (bias.rank !== 1 || bias.size !== n) {
    throw new Error(`addBias: bias must be [${n}] for x ${shapeToString(x.shape)}, got ${shapeToString(bias.shape)}`);
  }
  const out = opResult("addBias", allocFloat(m * n, false), [m, n], [x, bias]);
  K.addBiasForward(out.data, x.data, bias.data, m, n);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = out.grad as Float32Array;
      if (x.requiresGrad) K.addInto(gradOf(x), g);
      if (bias.requiresGrad) K.sumRowsInto(gradOf(bias), g, m, n);
    };
  }
  return out;
}

/** x·w (+ b): the dense layer every tower and head is made of. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const y = matmul(x, weight);
  return bias === undefined ? y : addBias(y, bias);
}

/** Elementwise map with a derivative expressed through the output y (relu, sigmoid, tanh). */
function activation(
  op: string,
  x: Tensor,
  forward: (out: Float32Array, x: Float32Array) => void,
  backward: (gx: Float32Array, g: Float32Array, y: Float32Array) => void,
): Tensor {
  const out = opResult(op, allocFloat(x.size, false), x.shape, [x]);
  forward(out.data, x.data);
  if (out.requiresGrad) out.backwardFn = () => backward(gradOf(x), out.grad as Float32Array, out.data);
  return out;
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return activation("relu", x, K.reluForward, K.reluBackward);
}

function sigmoidForward(out: Float32Array, x: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = stableSigmoid(x[i] as number);
}

/** Logistic sigmoid, computed without overflow for large |x|. */
export function sigmoid(x: Tensor): Tensor {
  return activation("sigmoid", x, sigmoidForward, K.sigmoidBackward);
}

function tanhForward(out: Float32Array, x: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i] as number);
}

export function tanh(x: Tensor): Tensor {
  return activation("tanh", x, tanhForward, K.tanhBackward);
}

/** c·x. */
export function scale(x: Tensor, c: number): Tensor {
  if (!Number.isFinite(c)) throw new Error(`scale: factor must be finite, got ${c} for ${shapeToString(x.shape)}`);
  const out = opResult("scale", allocFloat(x.size, false), x.shape, [x]);
  K.scaleTo(out.data, x.data, c);
  if (out.requiresGrad) out.backwardFn = () => K.addScaledInto(gradOf(x), out.grad as Float32Array, c);
  return out;
}

/** Elementwise a + b (same shape; use addBias to broadcast a row). */
export function add(a: Tensor, b: Tensor): Tensor {
  return addScaled("add", a, b, 1);
}

/** Elementwise a − b (same shape). */
export function sub(a: Tensor, b: Tensor): Tensor {
  return addScaled("sub", a, b, -1);
}

function addScaled(op: string, a: Tensor, b: Tensor, sign: 1 | -1): Tensor {
  sameShape(op, a, b);
  const out = opResult(op, allocFloat(a.size, false), a.shape, [a, b]);
  K.combine(out.data, a.data, b.data, sign);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = out.grad as Float32Array;
      if (a.requiresGrad) K.addInto(gradOf(a), g);
      if (b.requiresGrad) K.addScaledInto(gradOf(b), g, sign);
    };
  }
  return out;
}

/** Elementwise a ⊙ b (same shape). */
export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape("mul", a, b);
  const out = opResult("mul", allocFloat(a.size, false), a.shape, [a, b]);
  K.multiply(out.data, a.data, b.data);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = out.grad as Float32Array;
      if (a.requiresGrad) K.addProductInto(gradOf(a), g, b.data);
      if (b.requiresGrad) K.addProductInto(gradOf(b), g, a.data);
    };
  }
  return out;
}

/** Joins rank-2 tensors along columns (axis 1, the feature axis: same row count) or rows (axis 0: same width). */
export function concat(parts: readonly Tensor[], axis: 0 | 1 = 1): Tensor {
  if (parts.length === 0) throw new Error("concat: needs at least one tensor");
  if (axis !== 0 && axis !== 1) throw new Error(`concat: axis must be 0 or 1, got ${String(axis)}`);
  const shapes = parts.map((t) => dims2("concat", t, "every part"));
  const describe = (): string => parts.map((t) => shapeToString(t.shape)).join(", ");
  if (axis === 0) {
    const cols = (shapes[0] as [number, number])[1];
    let rows = 0;
    for (const [r, c] of shapes) {
      if (c !== cols) throw new Error(`concat(axis 0): column counts differ: ${describe()}`);
      rows += r;
    }
    const out = opResult("concat", allocFloat(rows * cols, false), [rows, cols], parts);
    let offset = 0;
    for (const t of parts) {
      out.data.set(t.data, offset);
      offset += t.size;
    }
    if (out.requiresGrad) {
      out.backwardFn = () => {
        const g = out.grad as Float32Array;
        let start = 0;
        for (const t of parts) {
          if (t.requiresGrad) K.addInto(gradOf(t), g.subarray(start, start + t.size));
          start += t.size;
        }
      };
    }
    return out;
  }
  const rows = (shapes[0] as [number, number])[0];
  let cols = 0;
  for (const [r, c] of shapes) {
    if (r !== rows) throw new Error(`concat(axis 1): row counts differ: ${describe()}`);
    cols += c;
  }
  const out = opResult("concat", allocFloat(rows * cols, false), [rows, cols], parts);
  let colStart = 0;
  for (const t of parts) {
    const w = t.shape[1] as number;
    K.copyColumns(out.data, cols, colStart, t.data, w, 0, rows, w, false);
    colStart += w;
  }
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = out.grad as Float32Array;
      let start = 0;
      for (const t of parts) {
        const w = t.shape[1] as number;
        if (t.requiresGrad) K.copyColumns(gradOf(t), w, 0, g, cols, start, rows, w, true);
        start += w;
      }
    };
  }
  return out;
}

/** Columns [start, end) of a rank-2 tensor (e.g. one task's logits out of a multi-head layer). */
export function sliceColumns(x: Tensor, start: number, end: number): Tensor {
  const [m, n] = dims2("sliceColumns", x, "x");
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new Error(`sliceColumns: range [${start}, ${end}) is outside the ${n} columns of ${shapeToString(x.shape)}`);
  }
  const w = end - start;
  const out = opResult("sliceColumns", allocFloat(m * w, false), [m, w], [x]);
  K.copyColumns(out.data, w, 0, x.data, n, start, m, w, false);
  if (out.requiresGrad) out.backwardFn = () => K.copyColumns(gradOf(x), n, start, out.grad as Float32Array, w, 0, m, w, true);
  return out;
}

/** Same data, new shape with the same element count (e.g. [M] ↔ [M×1]). Shares the data buffer. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  let size = 1;
  for (const d of shape) size *= d;
  if (size !== x.size) throw new Error(`reshape: cannot reshape ${shapeToString(x.shape)} to ${shapeToString(shape)}`);
  const out = opResult("reshape", x.data, shape, [x]);
  if (out.requiresGrad) out.backwardFn = () => K.addInto(gradOf(x), out.grad as Float32Array);
  return out;
}

/** The same values cut from the graph: gradients stop here (teacher outputs, stop-gradient targets). */
export function detach(x: Tensor): Tensor {
  return new Tensor(x.data, x.shape, "detach", [], false);
}

/** Σ_d a[i,d]·b[i,d] per row → [M]: the two-tower score of aligned (user, item) pairs. */
export function rowDot(a: Tensor, b: Tensor): Tensor {
  const [m, d] = dims2("rowDot", a, "a");
  dims2("rowDot", b, "b");
  sameShape("rowDot", a, b);
  const out = opResult("rowDot", allocFloat(m, false), [m], [a, b]);
  K.rowDotForward(out.data, a.data, b.data, m, d);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = out.grad as Float32Array;
      if (a.requiresGrad) K.rowScaleInto(gradOf(a), g, b.data, m, d);
      if (b.requiresGrad) K.rowScaleInto(gradOf(b), g, a.data, m, d);
    };
  }
  return out;
}

/**
 * Each row divided by its L2 norm: y = x / sqrt(max(‖x‖², eps)). Embeddings on the unit sphere make dot products
 * cosines, which keeps in-batch logits bounded and the temperature meaningful. A row with ‖x‖² ≤ eps is scaled by
 * 1/sqrt(eps) instead (a zero row stays zero with a finite gradient).
 */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  const [m, d] = dims2("l2Normalize", x, "x");
  if (!(eps > 0)) throw new Error(`l2Normalize: eps must be > 0, got ${eps}`);
  const invNorm = new Float64Array(m);
  const clamped = new Uint8Array(m);
  const out = opResult("l2Normalize", allocFloat(m * d, false), [m, d], [x]);
  K.l2NormalizeForward(out.data, x.data, invNorm, clamped, m, d, eps);
  if (out.requiresGrad) {
    out.backwardFn = () => K.l2NormalizeBackward(gradOf(x), out.grad as Float32Array, out.data, invNorm, clamped, m, d);
  }
  return out;
}

function softmaxRowsForward(out: Float32Array, x: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[row + j] as number);
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = expNonPositive((x[row + j] as number) - max);
      out[row + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) out[row + j] = (out[row + j] as number) * inv;
  }
}

/** Row-wise softmax of a rank-2 tensor (MMoE gates: one distribution over experts per example). */
export function softmaxRows(x: Tensor): Tensor {
  const [m, n] = dims2("softmaxRows", x, "x");
  const out = opResult("softmaxRows", allocFloat(m * n, false), [m, n], [x]);
  softmaxRowsForward(out.data, x.data, m, n);
  if (out.requiresGrad) out.backwardFn = () => K.softmaxRowsBackward(gradOf(x), out.grad as Float32Array, out.data, m, n);
  return out;
}

/**
 * MMoE combination: out[b,:] = Σ_e gates[b,e] · experts[e][b,:]. `gates` is [B×E] (usually softmaxRows of a gate
 * layer), each expert output is [B×H]. One op instead of E slices, scalings and adds keeps the graph and passes small.
 */
export function mixture(gates: Tensor, experts: readonly Tensor[]): Tensor {
  const [b, e] = dims2("mixture", gates, "gates");
  if (experts.length !== e) {
    throw new Error(`mixture: gates ${shapeToString(gates.shape)} has ${e} columns but ${experts.length} experts were given`);
  }
  if (e === 0) throw new Error("mixture: needs at least one expert");
  const h = dims2("mixture", experts[0] as Tensor, "expert 0")[1];
  experts.forEach((x, idx) => {
    const [rows, cols] = dims2("mixture", x, `expert ${idx}`);
    if (rows !== b || cols !== h) {
      throw new Error(`mixture: expert ${idx} is ${shapeToString(x.shape)}, expected [${b}×${h}] (gates ${shapeToString(gates.shape)})`);
    }
  });
  const out = opResult("mixture", allocFloat(b * h), [b, h], [gates, ...experts]);
  experts.forEach((x, k) => K.mixtureAccumulate(out.data, gates.data, k, e, x.data, b, h));
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = out.grad as Float32Array;
      experts.forEach((x, k) => {
        if (x.requiresGrad) K.mixtureAccumulate(gradOf(x), gates.data, k, e, g, b, h);
        if (gates.requiresGrad) K.mixtureGateBackward(gradOf(gates), k, e, g, x.data, b, h);
      });
    };
  }
  return out;
}

/** Σ of all elements → [1]. */
export function sum(x: Tensor): Tensor {
  return reduce("sum", x, 1);
}

/** Mean of all elements → [1]. */
export function mean(x: Tensor): Tensor {
  if (x.size === 0) throw new Error(`mean: empty tensor ${shapeToString(x.shape)}`);
  return reduce("mean", x, 1 / x.size);
}

function reduce(op: string, x: Tensor, factor: number): Tensor {
  const out = opResult(op, allocFloat(1), [1], [x]);
  out.data[0] = K.total(x.data) * factor;
  if (out.requiresGrad) out.backwardFn = () => K.addConstantInto(gradOf(x), ((out.grad as Float32Array)[0] as number) * factor);
  return out;
}
