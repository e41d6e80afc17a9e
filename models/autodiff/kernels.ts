// The loops behind the ops, as top-level functions over typed arrays.
//
// Why top-level: V8 keeps variables that a closure captures in a heap context, and a hot loop reading its arrays and
// bounds from a context ran ~2× slower than the same loop over parameters. Ops (ops.ts, embedding.ts, losses.ts) only
// validate, allocate and wire; their backward closures call straight into these functions. Every backward kernel
// accumulates (+=) into its destination, because a tensor may feed several consumers.

/** dst += src. */
export function addInto(dst: Float32Array, src: Float32Array): void {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = (dst[i] as number) + (src[i] as number);
}

/** dst += s·src. */
export function addScaledInto(dst: Float32Array, src: Float32Array, s: number): void {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = (dst[i] as number) + s * (src[i] as number);
}

/** dst += a ⊙ b. */
export function addProductInto(dst: Float32Array, a: Float32Array, b: Float32Array): void {
  const n = dst.length;
  for (let i = 0; i < n; i++) dst[i] = (dst[i] as number) + (a[i] as number) * (b[i] as number);
}

/** out = a + s·b. */
export function combine(out: Float32Array, a: Float32Array, b: Float32Array, s: number): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = (a[i] as number) + s * (b[i] as number);
}

/** out = a ⊙ b. */
export function multiply(out: Float32Array, a: Float32Array, b: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = (a[i] as number) * (b[i] as number);
}

/** out = s·x. */
export function scaleTo(out: Float32Array, x: Float32Array, s: number): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = (x[i] as number) * s;
}

/** dst += v for every element. */
export function addConstantInto(dst: Float32Array, v: number): void {
  const n = dst.length;
  for (let i = 0; i < n; i++) dst[i] = (dst[i] as number) + v;
}

/** Σ x in float64. */
export function total(x: Float32Array): number {
  let s = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) s += x[i] as number;
  return s;
}

/** out[i,:] = x[i,:] + bias. */
export function addBiasForward(out: Float32Array, x: Float32Array, bias: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) out[row + j] = (x[row + j] as number) + (bias[j] as number);
  }
}

/** gBias[j] += Σ_i g[i,j]. */
export function sumRowsInto(gBias: Float32Array, g: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) gBias[j] = (gBias[j] as number) + (g[row + j] as number);
  }
}

/**
 * ReLU as (v + |v|)/2, exact in floating point and free of data-dependent branches: activations have random signs,
 * and a mispredicted `v > 0 ? v : 0` per element was ~5× slower.
 */
export function reluForward(out: Float32Array, x: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    out[i] = (v + Math.abs(v)) * 0.5;
  }
}

/** gx += g where y > 0 (multiplying by the 0/1 comparison instead of branching). */
export function reluBackward(gx: Float32Array, g: Float32Array, y: Float32Array): void {
  const n = gx.length;
  for (let i = 0; i < n; i++) gx[i] = (gx[i] as number) + (g[i] as number) * +((y[i] as number) > 0);
}

/** gx += g·y·(1−y) for y = sigmoid(x). */
export function sigmoidBackward(gx: Float32Array, g: Float32Array, y: Float32Array): void {
  const n = gx.length;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    gx[i] = (gx[i] as number) + (g[i] as number) * v * (1 - v);
  }
}

/** gx += g·(1−y²) for y = tanh(x). */
export function tanhBackward(gx: Float32Array, g: Float32Array, y: Float32Array): void {
  const n = gx.length;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    gx[i] = (gx[i] as number) + (g[i] as number) * (1 - v * v);
  }
}

/** Copies a [rows×width] block between row-major matrices with different widths and column offsets (concat/slice). */
export function copyColumns(
  dst: Float32Array, dstCols: number, dstStart: number,
  src: Float32Array, srcCols: number, srcStart: number,
  rows: number, width: number, accumulate: boolean,
): void {
  for (let i = 0; i < rows; i++) {
    const d = i * dstCols + dstStart, s = i * srcCols + srcStart;
    if (accumulate) for (let j = 0; j < width; j++) dst[d + j] = (dst[d + j] as number) + (src[s + j] as number);
    else for (let j = 0; j < width; j++) dst[d + j] = src[s + j] as number;
  }
}

/** out[i] = Σ_j a[i,j]·b[i,j]. */
export function rowDotForward(out: Float32Array, a: Float32Array, b: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += (a[row + j] as number) * (b[row + j] as number);
    out[i] = s;
  }
}

/** ga[i,:] += g[i]·b[i,:]. */
export function rowScaleInto(ga: Float32Array, g: Float32Array, b: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const gi = g[i] as number, row = i * cols;
    for (let j = 0; j < cols; j++) ga[row + j] = (ga[row + j] as number) + gi * (b[row + j] as number);
  }
}

/** y = x / sqrt(max(‖x‖², eps)) per row; records 1/norm and whether the row was clamped. */
export function l2NormalizeForward(
  out: Float32Array, x: Float32Array, invNorm: Float64Array, clamped: Uint8Array, rows: number, cols: number, eps: number,
): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    let ss = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[row + j] as number;
      ss += v * v;
    }
    clamped[i] = ss <= eps ? 1 : 0;
    const inv = 1 / Math.sqrt(Math.max(ss, eps));
    invNorm[i] = inv;
    for (let j = 0; j < cols; j++) out[row + j] = (x[row + j] as number) * inv;
  }
}

/** gx += (g − y·(y·g)) / ‖x‖ per row (clamped rows: gx += g/sqrt(eps)). */
export function l2NormalizeBackward(
  gx: Float32Array, g: Float32Array, y: Float32Array, invNorm: Float64Array, clamped: Uint8Array, rows: number, cols: number,
): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols, inv = invNorm[i] as number;
    let dot = 0;
    if (clamped[i] === 0) for (let j = 0; j < cols; j++) dot += (g[row + j] as number) * (y[row + j] as number);
    for (let j = 0; j < cols; j++) {
      gx[row + j] = (gx[row + j] as number) + ((g[row + j] as number) - (y[row + j] as number) * dot) * inv;
    }
  }
}

/** gx += y ⊙ (g − Σ_j g·y) per row, the softmax Jacobian-vector product. */
export function softmaxRowsBackward(gx: Float32Array, g: Float32Array, y: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += (g[row + j] as number) * (y[row + j] as number);
    for (let j = 0; j < cols; j++) gx[row + j] = (gx[row + j] as number) + (y[row + j] as number) * ((g[row + j] as number) - dot);
  }
}

/** out[b,:] += gates[b,k]·x[b,:] (expert k's share of an MMoE mixture). */
export function mixtureAccumulate(
  out: Float32Array, gates: Float32Array, k: number, experts: number, x: Float32Array, rows: number, cols: number,
): void {
  for (let i = 0; i < rows; i++) {
    const w = gates[i * experts + k] as number, row = i * cols;
    for (let j = 0; j < cols; j++) out[row + j] = (out[row + j] as number) + w * (x[row + j] as number);
  }
}

/** gGates[b,k] += Σ_j g[b,j]·x[b,j]. */
export function mixtureGateBackward(
  gGates: Float32Array, k: number, experts: number, g: Float32Array, x: Float32Array, rows: number, cols: number,
): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += (g[row + j] as number) * (x[row + j] as number);
    gGates[i * experts + k] = (gGates[i * experts + k] as number) + dot;
  }
}

/** out[p,:] = table[ids[p],:]. */
export function gatherRows(out: Float32Array, table: Float32Array, ids: Int32Array, dim: number): void {
  const n = ids.length;
  for (let p = 0; p < n; p++) {
    const src = (ids[p] as number) * dim, dst = p * dim;
    for (let j = 0; j < dim; j++) out[dst + j] = table[src + j] as number;
  }
}

/** grad[ids[p],:] += g[p,:] (repeated ids accumulate). */
export function scatterAddRows(grad: Float32Array, g: Float32Array, ids: Int32Array, dim: number): void {
  const n = ids.length;
  for (let p = 0; p < n; p++) {
    const dst = (ids[p] as number) * dim, src = p * dim;
    for (let j = 0; j < dim; j++) grad[dst + j] = (grad[dst + j] as number) + (g[src + j] as number);
  }
}

/** out[b,:] = Σ_{p in bag b} coef[p]·table[ids[p],:]. */
export function bagForward(
  out: Float32Array, table: Float32Array, ids: Int32Array, offsets: Int32Array, coef: Float32Array, dim: number,
): void {
  const bags = offsets.length - 1;
  for (let b = 0; b < bags; b++) {
    const dst = b * dim;
    for (let p = offsets[b] as number, end = offsets[b + 1] as number; p < end; p++) {
      const c = coef[p] as number, src = (ids[p] as number) * dim;
      for (let j = 0; j < dim; j++) out[dst + j] = (out[dst + j] as number) + c * (table[src + j] as number);
    }
  }
}

/** grad[ids[p],:] += coef[p]·g[bag(p),:]. */
export function bagBackward(
  grad: Float32Array, g: Float32Array, ids: Int32Array, offsets: Int32Array, coef: Float32Array, dim: number,
): void {
  const bags = offsets.length - 1;
  for (let b = 0; b < bags; b++) {
    const src = b * dim;
    for (let p = offsets[b] as number, end = offsets[b + 1] as number; p < end; p++) {
      const c = coef[p] as number, dst = (ids[p] as number) * dim;
      for (let j = 0; j < dim; j++) grad[dst + j] = (grad[dst + j] as number) + c * (g[src + j] as number);
    }
  }
}
