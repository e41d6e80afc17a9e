import type { Module } from "../../../models/nn/layers";

/** Largest |a[i] − b[i]|; throws on a length mismatch or a non-finite value, so a broken output never looks close. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  if (a.length === 0) throw new Error("nothing to compare");
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error(`non-finite value at ${i}: ${x} vs ${y}`);
    max = Math.max(max, Math.abs(x - y));
  }
  return max;
}

/** Copies of every parameter's values, by name. */
export function snapshotParameters(model: Module): Map<string, Float32Array> {
  return new Map(model.parameters().map((p) => [p.name, Float32Array.from(p.data)]));
}

/** Names of the dense (non-embedding) parameters whose values differ from the snapshot. */
export function changedParameters(model: Module, before: ReadonlyMap<string, Float32Array>): { changed: string[]; unchanged: string[] } {
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const p of model.parameters()) {
    const old = before.get(p.name);
    if (!old) throw new Error(`no snapshot of ${p.name}`);
    (maxAbsDiff(old, p.data) > 0 ? changed : unchanged).push(p.name);
  }
  return { changed, unchanged };
}

/** Row indices whose `width` values are all 0 (an all-padding bag). */
export function allZeroRows(values: Int32Array, width: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r * width < values.length; r++) if (values.subarray(r * width, (r + 1) * width).every((v) => v === 0)) rows.push(r);
  return rows;
}

/** L2 norm of row `r` of a [rows × dim] matrix. */
export function rowNorm(values: Float32Array, r: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) sum += (values[r * dim + d] as number) ** 2;
  return Math.sqrt(sum);
}
