// Input checks done in TypeScript, so a caller's mistake reads as a clear Error before it reaches wasm.
// The shim checks the same things again; these messages are just friendlier.

export const MAX_KEY = 0xffff_ffff;
export const MAX_EXPANSION = 65_536;
export const MAX_K = 65_536;
/** Matrix prelude (8) + dense header (64) + graph header (40): anything shorter cannot be an index. */
export const MIN_INDEX_BYTES = 8 + 64 + 40;

export function assertPositiveInteger(value: number, name: string, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${name} must be an integer in 1..${max}, got ${String(value)}`);
  }
}

/** Throws unless `vector` is a Float32Array of `dimensions` finite numbers. */
export function assertQueryVector(vector: Float32Array, dimensions: number, what = "Query"): void {
  if (!(vector instanceof Float32Array)) throw new Error(`${what} must be a Float32Array`);
  if (vector.length !== dimensions) {
    throw new Error(`${what} has ${vector.length} dimensions, the index has ${dimensions}`);
  }
  const bad = firstNonFinite(vector, 0, dimensions);
  if (bad >= 0) throw new Error(`${what} holds ${String(vector[bad])} at dimension ${bad}`);
}

/** Throws unless `vectors` holds `count` rows of `dimensions` finite numbers. */
export function assertVectorRows(vectors: Float32Array, dimensions: number, count: number): void {
  if (!(vectors instanceof Float32Array)) throw new Error("Vectors must be a Float32Array (row-major)");
  if (vectors.length !== count * dimensions) {
    throw new Error(
      `Vectors hold ${vectors.length} numbers, expected ${count} rows x ${dimensions} dimensions = ${count * dimensions}`,
    );
  }
  const bad = firstNonFinite(vectors, 0, vectors.length);
  if (bad >= 0) {
    throw new Error(
      `Vector of row ${Math.floor(bad / dimensions)} holds ${String(vectors[bad])} at dimension ${bad % dimensions}`,
    );
  }
}

export function assertKeys(keys: ArrayLike<number>): void {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === undefined || !Number.isInteger(key) || key < 0 || key > MAX_KEY) {
      throw new Error(`Key at position ${i} must be an integer in 0..2^32-1 (an item-table row), got ${String(key)}`);
    }
  }
}

export function assertIndexBytes(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new Error("Index bytes must be a Uint8Array");
  if (bytes.byteLength < MIN_INDEX_BYTES) {
    throw new Error(
      `Index buffer is truncated: ${bytes.byteLength} bytes, fewer than the ${MIN_INDEX_BYTES} of an empty index`,
    );
  }
  if (bytes.byteLength > 0x7fff_ffff) throw new Error(`Index buffer of ${bytes.byteLength} bytes exceeds 2 GiB`);
}

function firstNonFinite(values: Float32Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    // x - x is 0 for finite x and NaN for NaN or ±Infinity: one comparison per element.
    const value = values[i] as number;
    if (value - value !== 0) return i;
  }
  return -1;
}
