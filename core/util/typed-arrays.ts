/** Adds `value` at `index` of a numeric array (noUncheckedIndexedAccess makes `a[i]++` unwieldy). */
export function addAt(array: Float64Array | Float32Array | Int32Array | number[], index: number, value = 1): void {
  array[index] = (array[index] as number) + value;
}

/**
 * Dot products of `query` with rows of a row-major [rows × dim] table, one per entry of `rows`. Plain loops on
 * purpose: V8 ran the same body 1.4× slower inside a forEach callback (1,353 rows × 64 dims, interleaved).
 */
export function rowDots(table: Float32Array, dim: number, query: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const base = (rows[i] as number) * dim;
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += (query[d] as number) * (table[base + d] as number);
    out[i] = sum;
  }
  return out;
}
