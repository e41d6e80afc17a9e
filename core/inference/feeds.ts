import type { TensorFeed } from "./types";

/** Feed helpers: build typed feeds from plain arrays (ids as numbers are converted to BigInt for int64). */
export function float32Feed(data: Float32Array | readonly number[], dims: readonly number[]): TensorFeed {
  return { type: "float32", data: data instanceof Float32Array ? data : Float32Array.from(data), dims };
}

export function int64Feed(data: BigInt64Array | readonly number[], dims: readonly number[]): TensorFeed {
  if (data instanceof BigInt64Array) return { type: "int64", data, dims };
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!;
    if (!Number.isSafeInteger(value)) throw new Error(`int64Feed: element ${i} (${value}) is not an integer`);
    out[i] = BigInt(value);
  }
  return { type: "int64", data: out, dims };
}

export function int32Feed(data: Int32Array | readonly number[], dims: readonly number[]): TensorFeed {
  if (data instanceof Int32Array) return { type: "int32", data, dims };
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!;
    if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647) throw new Error(`int32Feed: element ${i} (${value}) is not an int32`);
    out[i] = value;
  }
  return { type: "int32", data: out, dims };
}
