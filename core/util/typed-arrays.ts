/** Adds `value` at `index` of a numeric array (noUncheckedIndexedAccess makes `a[i]++` unwieldy). */
export function addAt(array: Float64Array | Float32Array | Int32Array | number[], index: number, value = 1): void {
  array[index] = (array[index] as number) + value;
}
