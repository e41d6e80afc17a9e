// Embedding lookups. The backward pass scatters into the table's gradient row by row and, for a sparse Parameter,
// records the touched rows so the optimiser (lazy Adam) and zeroGrad cost O(touched rows), not O(table).

import { bagBackward, bagForward, gatherRows, scatterAddRows } from "./kernels";
import { Parameter, Tensor, allocFloat, gradOf, opResult, shapeToString } from "./tensor";

function tableDims(op: string, table: Tensor): [number, number] {
  if (table.rank !== 2) throw new Error(`${op}: table must be rank 2 [rows×dim], got ${shapeToString(table.shape)}`);
  return [table.shape[0] as number, table.shape[1] as number];
}

function checkIds(op: string, ids: Int32Array, rows: number, table: Tensor): void {
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p] as number;
    if (id < 0 || id >= rows) {
      throw new Error(`${op}: id ${id} at position ${p} is out of range for table ${shapeToString(table.shape)}`);
    }
  }
}

/** The table's gradient buffer for a row scatter; on a sparse table, marks the rows the scatter will touch. */
function scatterTarget(table: Tensor, ids: Int32Array): Float32Array {
  if (!(table instanceof Parameter && table.sparse)) return gradOf(table);
  for (let p = 0; p < ids.length; p++) table.markRow(ids[p] as number);
  return table.rowGrad();
}

/** table[ids[p], :] for each position p → [ids.length × dim]. Repeated ids accumulate their gradients. */
export function embedding(table: Tensor, ids: Int32Array): Tensor {
  const [rows, dim] = tableDims("embedding", table);
  if (!(ids instanceof Int32Array)) throw new Error("embedding: ids must be an Int32Array");
  checkIds("embedding", ids, rows, table);
  const out = opResult("embedding", allocFloat(ids.length * dim, false), [ids.length, dim], [table]);
  gatherRows(out.data, table.data, ids, dim);
  if (out.requiresGrad) out.backwardFn = () => scatterAddRows(scatterTarget(table, ids), out.grad as Float32Array, ids, dim);
  return out;
}

export interface EmbeddingBagOptions {
  /** "sum": Σ w·e. "mean": (Σ w·e) / (number of entries in the bag). An empty bag yields a zero row either way. */
  mode?: "sum" | "mean";
  /** Per-entry weights, same length as ids (e.g. tag weights); default 1. */
  weights?: Float32Array;
}

/**
 * Pools variable-length bags of rows: bag b is ids[offsets[b] .. offsets[b+1]), so `offsets` has (bags + 1) entries,
 * starts at 0, never decreases and ends at ids.length (CSR layout). Output is [bags × dim].
 */
export function embeddingBag(table: Tensor, ids: Int32Array, offsets: Int32Array, options: EmbeddingBagOptions = {}): Tensor {
  const op = "embeddingBag";
  const [rows, dim] = tableDims(op, table);
  if (!(ids instanceof Int32Array) || !(offsets instanceof Int32Array)) throw new Error(`${op}: ids and offsets must be Int32Array`);
  if (offsets.length < 1) throw new Error(`${op}: offsets needs bags+1 entries (at least [0]), got length 0`);
  const bags = offsets.length - 1;
  if (offsets[0] !== 0 || offsets[bags] !== ids.length) {
    throw new Error(`${op}: offsets must start at 0 and end at ids.length=${ids.length}, got ${offsets[0]}..${offsets[bags]}`);
  }
  for (let b = 0; b < bags; b++) {
    if ((offsets[b + 1] as number) < (offsets[b] as number)) {
      throw new Error(`${op}: offsets decrease at bag ${b} (${offsets[b]} > ${offsets[b + 1]})`);
    }
  }
  checkIds(op, ids, rows, table);
  const mode = options.mode ?? "sum";
  if (mode !== "sum" && mode !== "mean") throw new Error(`${op}: unknown mode ${String(mode)}`);
  const weights = options.weights;
  if (weights !== undefined) {
    if (weights.length !== ids.length) throw new Error(`${op}: weights length ${weights.length} ≠ ids length ${ids.length}`);
    for (let p = 0; p < weights.length; p++) {
      const w = weights[p] as number;
      if (w - w !== 0) throw new Error(`${op}: non-finite weight ${w} at position ${p}`);
    }
  }
  // Effective coefficient of each entry: weight, divided by the bag size for "mean".
  const coef = new Float32Array(ids.length);
  for (let b = 0; b < bags; b++) {
    const start = offsets[b] as number, end = offsets[b + 1] as number;
    const div = mode === "mean" && end > start ? 1 / (end - start) : 1;
    for (let p = start; p < end; p++) coef[p] = (weights === undefined ? 1 : (weights[p] as number)) * div;
  }
  const out = opResult(op, allocFloat(bags * dim), [bags, dim], [table]);
  bagForward(out.data, table.data, ids, offsets, coef, dim);
  if (out.requiresGrad) {
    out.backwardFn = () => bagBackward(scatterTarget(table, ids), out.grad as Float32Array, ids, offsets, coef, dim);
  }
  return out;
}
