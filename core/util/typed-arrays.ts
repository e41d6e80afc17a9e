/** Adds `value` at `index` of a numeric array (noUncheckedIndexedAccess makes `a[i]++` unwieldy). */
export function addAt(array: Float64Array | Float32Array | Int32Array | number[], index: number, value = 1): void {
  array[index] = (array[index] as number) + value;
}

/**
 * The dot product of `query` with row `row` of a row-major [rows × dim] table, in four independent sums: 1.6× faster
 * than one (the adds no longer wait on each other). Every affinity in serving goes through it, so the retrieval
 * mix and the prior see the same number for the same item.
 */
export function rowDot(table: Float32Array, dim: number, query: ArrayLike<number>, row: number): number {
  const base = row * dim;
  const unrolled = dim - (dim % 4);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d < unrolled; d += 4) {
    s0 += (query[d] as number) * (table[base + d] as number);
    s1 += (query[d + 1] as number) * (table[base + d + 1] as number);
    s2 += (query[d + 2] as number) * (table[base + d + 2] as number);
    s3 += (query[d + 3] as number) * (table[base + d + 3] as number);
  }
  for (; d < dim; d++) s0 += (query[d] as number) * (table[base + d] as number);
  return s0 + s1 + (s2 + s3);
}

/**
 * `rowDot` for every entry of `rows`. A plain loop on purpose: V8 ran the same body 1.4× slower inside a forEach
 * callback (1,353 rows × 64 dims, interleaved).
 */
export function rowDots(table: Float32Array, dim: number, query: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rowDot(table, dim, query, rows[i] as number);
  return out;
}

/**
 * `values[rows[i]]` for every i, as a plain array. A loop rather than `Array.from(rows, …)`: over a typed array
 * that walks the iterator protocol, one result object per element, on the hot path of every feed.
 */
export function gather<T>(values: ArrayLike<T>, rows: ArrayLike<number>): T[] {
  const out = new Array<T>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i] as number] as T;
  return out;
}

/** The first `length` values as a plain array (see `gather` for why not `Array.from`). */
export function toArray(values: ArrayLike<number>, length = values.length): number[] {
  const out = new Array<number>(length);
  for (let i = 0; i < length; i++) out[i] = values[i] as number;
  return out;
}
