// Losses: row-wise softmax cross-entropy (retrieval with in-batch negatives), sigmoid BCE from logits (MTML heads),
// and MSE. They return a [1] tensor and validate labels, since a NaN label silently poisons a whole training run.

import { activeWasmKernels } from "./gemm";
import { expNonPositive, log1pExpNegAbs, stableSigmoid } from "./math";
import { addScaledInto } from "./kernels";
import { Tensor, allocFloat, gradOf, opResult, shapeToString } from "./tensor";

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) return i;
  }
  return -1;
}

function failNonFinite(op: string, logits: Tensor): never {
  const bad = firstNonFinite(logits.data);
  if (bad >= 0) {
    throw new Error(`${op}: non-finite logit ${logits.data[bad]} at flat index ${bad} of ${shapeToString(logits.shape)}`);
  }
  throw new Error(`${op}: loss is not finite for logits ${shapeToString(logits.shape)}`);
}

export interface SoftmaxCrossEntropyOptions {
  /** Logits are divided by this before the softmax (default 1). Small values sharpen cosine-similarity logits. */
  temperature?: number;
  /**
   * Added to column j after the temperature: z[i,j] = logits[i,j] / temperature + logitOffset[j]. Pass −log Q(item_j)
   * (Q = the item's sampling probability among in-batch candidates) for the logQ correction of sampled softmax.
   */
  logitOffset?: Float32Array;
  /**
   * Item id of each column. With integer targets, any other column holding the same id as the row's target column is
   * removed from that row's softmax, so a repeated item in the batch is not treated as its own negative.
   */
  candidateIds?: Int32Array;
}

/**
 * Mean over rows of −log softmax(z)[i, target]. `targets` is either an Int32Array of column indices (one per row) or a
 * Float32Array [M×N] of non-negative target weights per row (soft labels / distillation): −Σ_j y[i,j]·log softmax(z)[i,j].
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  targets: Int32Array | Float32Array,
  options: SoftmaxCrossEntropyOptions = {},
): Tensor {
  const op = "softmaxCrossEntropy";
  if (logits.rank !== 2) throw new Error(`${op}: logits must be rank 2 [rows×classes], got ${shapeToString(logits.shape)}`);
  const m = logits.shape[0] as number, n = logits.shape[1] as number;
  if (m === 0 || n === 0) throw new Error(`${op}: empty logits ${shapeToString(logits.shape)}`);
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`${op}: temperature must be finite and > 0, got ${temperature}`);
  const offset = options.logitOffset;
  if (offset !== undefined) {
    if (offset.length !== n) throw new Error(`${op}: logitOffset length ${offset.length} ≠ ${n} columns of ${shapeToString(logits.shape)}`);
    const bad = firstNonFinite(offset);
    if (bad >= 0) throw new Error(`${op}: non-finite logitOffset ${offset[bad]} at column ${bad}`);
  }
  const hard = targets instanceof Int32Array;
  if (hard) {
    if (targets.length !== m) throw new Error(`${op}: ${targets.length} targets for ${m} rows of ${shapeToString(logits.shape)}`);
    for (let i = 0; i < m; i++) {
      const t = targets[i] as number;
      if (t < 0 || t >= n) throw new Error(`${op}: target ${t} of row ${i} is out of range for ${n} columns`);
    }
  } else {
    if (!(targets instanceof Float32Array)) throw new Error(`${op}: targets must be Int32Array or Float32Array`);
    if (targets.length !== m * n) {
      throw new Error(`${op}: soft targets length ${targets.length} ≠ ${m}×${n} for logits ${shapeToString(logits.shape)}`);
    }
    for (let e = 0; e < targets.length; e++) {
      const y = targets[e] as number;
      if (!(y >= 0) || y === Infinity) throw new Error(`${op}: soft target ${y} at flat index ${e} must be finite and ≥ 0`);
    }
  }
  const ids = options.candidateIds;
  if (ids !== undefined) {
    if (!hard) throw new Error(`${op}: candidateIds (accidental-hit removal) needs integer targets`);
    if (ids.length !== n) throw new Error(`${op}: candidateIds length ${ids.length} ≠ ${n} columns`);
  }

  const invT = 1 / temperature;
  // d(loss)/d(logits) for an upstream gradient of 1, produced by the forward pass itself (the softmax normaliser
  // absorbs invT/m), so the backward pass is a copy instead of another sweep over an [M×N] matrix.
  const dLogits = allocFloat(m * n, false);
  const hardTargets = hard ? targets : null;
  const softTargets = hard ? null : targets;
  const total = softmaxCrossEntropyForward(logits.data, m, n, invT, offset ?? null, ids ?? null, hardTargets, softTargets, dLogits);
  const loss = total / m;
  if (!Number.isFinite(loss)) failNonFinite(op, logits);

  const out = opResult(op, Float32Array.of(loss), [1], [logits]);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = (out.grad as Float32Array)[0] as number;
      const fresh = logits.grad === null;
      const gx = gradOf(logits);
      if (fresh && g === 1) gx.set(dLogits);
      else addScaledInto(gx, dLogits, g);
    };
  }
  return out;
}

/**
 * For accidental-hit removal: for each column whose candidate id occurs more than once, the other columns with that
 * id (null when all ids are distinct, the common case). Built once per call instead of testing ids per element.
 */
function duplicateColumns(ids: Int32Array): (Int32Array | null)[] | null {
  const byId = new Map<number, number[]>();
  for (let j = 0; j < ids.length; j++) {
    const id = ids[j] as number;
    const cols = byId.get(id);
    if (cols === undefined) byId.set(id, [j]);
    else cols.push(j);
  }
  if (byId.size === ids.length) return null;
  const out: (Int32Array | null)[] = new Array<Int32Array | null>(ids.length).fill(null);
  for (const cols of byId.values()) {
    if (cols.length < 2) continue;
    for (const j of cols) out[j] = Int32Array.from(cols.filter((other) => other !== j));
  }
  return out;
}

/**
 * Writes d(loss)/d(logits) = (mass_i·softmax(z)[i,j] − y[i,j])·invT/m into `grad` row by row and returns Σ_i loss_i,
 * with z = x·invT + offset and −∞ at accidental hits (mass_i = Σ_j y[i,j], 1 for integer targets).
 * With wasm, each row is copied into the heap (padded with −∞, which maps to exactly 0), the softmaxRow kernel does
 * the scaling, offset, max, exp and normalisation, and the row is copied out; otherwise JS loops with expNonPositive.
 */
function softmaxCrossEntropyForward(
  x: Float32Array, m: number, n: number, invT: number, offset: Float32Array | null, ids: Int32Array | null,
  hardTargets: Int32Array | null, softTargets: Float32Array | null, grad: Float32Array,
): number {
  const duplicates = ids === null ? null : duplicateColumns(ids);
  const kernels = activeWasmKernels();
  const paddedN = Math.ceil(n / 4) * 4;
  const rowScale = invT / m;
  // Heap: [offset (paddedN)] [row (paddedN)] [max slot].
  const offOff = 0, rowOff = paddedN, maxOff = 2 * paddedN;
  const heap = kernels === null ? null : kernels.heap(maxOff + 4);
  if (heap !== null) {
    if (offset !== null) heap.set(offset, offOff);
    else heap.fill(0, offOff, offOff + n);
    heap.fill(0, offOff + n, offOff + paddedN);
  }
  let total = 0;
  for (let i = 0; i < m; i++) {
    const row = i * n;
    const target = hardTargets !== null ? (hardTargets[i] as number) : -1;
    const masked = duplicates !== null && target >= 0 ? duplicates[target] ?? null : null;
    let mass = 1;
    if (softTargets !== null) {
      mass = 0;
      for (let j = 0; j < n; j++) mass += softTargets[row + j] as number;
    }
    let max: number;
    let sumExp: number;
    if (kernels !== null && heap !== null) {
      heap.set(x.subarray(row, row + n), rowOff);
      heap.fill(-Infinity, rowOff + n, rowOff + paddedN);
      if (masked !== null) for (let q = 0; q < masked.length; q++) heap[rowOff + (masked[q] as number)] = -Infinity;
      sumExp = kernels.softmaxRow(rowOff * 4, offOff * 4, paddedN, invT, maxOff * 4, mass * rowScale);
      max = heap[maxOff] as number;
      grad.set(heap.subarray(rowOff, rowOff + n), row);
    } else {
      for (let j = 0; j < n; j++) grad[row + j] = (x[row + j] as number) * invT + (offset === null ? 0 : (offset[j] as number));
      if (masked !== null) for (let q = 0; q < masked.length; q++) grad[row + (masked[q] as number)] = -Infinity;
      // z is stored as f32; subtracting the max of the stored values keeps every z − max ≤ 0 exactly.
      max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, grad[row + j] as number);
      sumExp = 0;
      for (let j = 0; j < n; j++) {
        const e = expNonPositive((grad[row + j] as number) - max);
        grad[row + j] = e;
        sumExp += e;
      }
      const normaliser = (mass * rowScale) / sumExp;
      for (let j = 0; j < n; j++) grad[row + j] = (grad[row + j] as number) * normaliser;
    }
    const logSum = max + Math.log(sumExp);
    if (hardTargets !== null) {
      total += logSum - ((x[row + target] as number) * invT + (offset === null ? 0 : (offset[target] as number)));
      grad[row + target] = (grad[row + target] as number) - rowScale;
    } else if (softTargets !== null) {
      for (let j = 0; j < n; j++) {
        const y = softTargets[row + j] as number;
        if (y === 0) continue;
        total += y * (logSum - ((x[row + j] as number) * invT + (offset === null ? 0 : (offset[j] as number))));
        grad[row + j] = (grad[row + j] as number) - y * rowScale;
      }
    }
  }
  return total;
}

export interface BceWithLogitsOptions {
  /** Per-column (length = columns, e.g. task weights) or per-element (length = logits.size) multipliers. */
  weights?: Float32Array;
  /** Per-element: 0 excludes the entry (missing label; its label value is then ignored, NaN allowed), else counts. */
  mask?: Uint8Array | Float32Array;
  /**
   * false (default): Σ w·ℓ over counted entries / number of counted entries.
   * true: each column is averaged over its own counted entries, then columns are summed, i.e. Σ_t w_t · mean_i ℓ[i,t]
   * for per-column weights: a weighted sum of per-task BCE that does not depend on how many labels each task has.
   */
  perColumnMean?: boolean;
}

/**
 * Binary cross-entropy of sigmoid(logits) against labels in [0, 1], computed from logits as
 * max(z,0) − z·y + log(1 + e^−|z|), which never overflows. Logits are [M×T] (T tasks) or [M] (one task).
 */
export function bceWithLogits(logits: Tensor, labels: Float32Array, options: BceWithLogitsOptions = {}): Tensor {
  const op = "bceWithLogits";
  if (logits.rank > 2) throw new Error(`${op}: logits must be [rows] or [rows×tasks], got ${shapeToString(logits.shape)}`);
  const size = logits.size;
  const cols = logits.rank === 2 ? (logits.shape[1] as number) : 1;
  if (labels.length !== size) throw new Error(`${op}: labels length ${labels.length} ≠ logits ${shapeToString(logits.shape)}`);
  const { weights, mask } = options;
  const perColumnWeights = weights !== undefined && weights.length === cols && cols !== size;
  if (weights !== undefined) {
    if (weights.length !== size && weights.length !== cols) {
      throw new Error(`${op}: weights length ${weights.length} must be ${cols} (per column) or ${size} (per element) for ${shapeToString(logits.shape)}`);
    }
    const bad = firstNonFinite(weights);
    if (bad >= 0) throw new Error(`${op}: non-finite weight ${weights[bad]} at index ${bad}`);
  }
  if (mask !== undefined && mask.length !== size) {
    throw new Error(`${op}: mask length ${mask.length} ≠ logits ${shapeToString(logits.shape)}`);
  }
  const x = logits.data;
  const counts = new Float64Array(cols);
  for (let e = 0; e < size; e++) {
    if (mask !== undefined && mask[e] === 0) continue;
    const y = labels[e] as number;
    if (!(y >= 0 && y <= 1)) {
      throw new Error(`${op}: label ${y} at row ${Math.floor(e / cols)}, column ${e % cols} must be in [0, 1] (mask it out if missing)`);
    }
    counts[e % cols] = (counts[e % cols] as number) + 1;
  }
  // 1/denominator per column, so backward and forward share the normalisation.
  const norm = new Float64Array(cols);
  if (options.perColumnMean === true) {
    for (let t = 0; t < cols; t++) norm[t] = (counts[t] as number) > 0 ? 1 / (counts[t] as number) : 0;
  } else {
    let all = 0;
    for (let t = 0; t < cols; t++) all += counts[t] as number;
    norm.fill(all > 0 ? 1 / all : 0);
  }
  let total = 0;
  for (let e = 0; e < size; e++) {
    if (mask !== undefined && mask[e] === 0) continue;
    const z = x[e] as number;
    const y = labels[e] as number;
    const w = weights === undefined ? 1 : (weights[perColumnWeights ? e % cols : e] as number);
    const l = (z + Math.abs(z)) * 0.5 - z * y + log1pExpNegAbs(z);
    total += w * l * (norm[e % cols] as number);
  }
  if (!Number.isFinite(total)) failNonFinite(op, logits);

  const out = opResult(op, Float32Array.of(total), [1], [logits]);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = (out.grad as Float32Array)[0] as number;
      const gx = gradOf(logits);
      for (let e = 0; e < size; e++) {
        if (mask !== undefined && mask[e] === 0) continue;
        const z = x[e] as number;
        const w = weights === undefined ? 1 : (weights[perColumnWeights ? e % cols : e] as number);
        gx[e] = (gx[e] as number) + g * w * (norm[e % cols] as number) * (stableSigmoid(z) - (labels[e] as number));
      }
    };
  }
  return out;
}

/** Mean squared error against a constant target of the same size (optional per-element weights). */
export function mse(pred: Tensor, target: Float32Array, weights?: Float32Array): Tensor {
  const op = "mse";
  if (target.length !== pred.size) throw new Error(`${op}: target length ${target.length} ≠ pred ${shapeToString(pred.shape)}`);
  if (weights !== undefined && weights.length !== pred.size) {
    throw new Error(`${op}: weights length ${weights.length} ≠ pred ${shapeToString(pred.shape)}`);
  }
  const badTarget = firstNonFinite(target);
  if (badTarget >= 0) throw new Error(`${op}: non-finite target ${target[badTarget]} at index ${badTarget}`);
  if (pred.size === 0) throw new Error(`${op}: empty prediction ${shapeToString(pred.shape)}`);
  const x = pred.data;
  const n = pred.size;
  let total = 0;
  for (let e = 0; e < n; e++) {
    const d = (x[e] as number) - (target[e] as number);
    total += (weights === undefined ? 1 : (weights[e] as number)) * d * d;
  }
  const loss = total / n;
  if (!Number.isFinite(loss)) failNonFinite(op, pred);
  const out = opResult(op, Float32Array.of(loss), [1], [pred]);
  if (out.requiresGrad) {
    out.backwardFn = () => {
      const g = (((out.grad as Float32Array)[0] as number) * 2) / n;
      const gx = gradOf(pred);
      for (let e = 0; e < n; e++) {
        const w = weights === undefined ? 1 : (weights[e] as number);
        gx[e] = (gx[e] as number) + g * w * ((x[e] as number) - (target[e] as number));
      }
    };
  }
  return out;
}
