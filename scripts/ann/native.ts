// Offline ANN index builds with USearch's native Node addon: multi-threaded and several times faster than
// building in wasm. The bytes it returns load in the wasm build unchanged (same file format).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import usearch, { type Index, type MetricKind, type ScalarKind } from "usearch";
import type { AnnMetric, AnnScalar } from "../../core/ann";
import { DEFAULT_ADD_EXPANSION, DEFAULT_CONNECTIVITY, DEFAULT_SEARCH_EXPANSION } from "../../core/ann";

export interface NativeIndexOptions {
  readonly metric?: AnnMetric;
  readonly scalar?: AnnScalar;
  readonly connectivity?: number;
  readonly expansionAdd?: number;
  /** Only matters for searches on the native index itself; not stored in the file. */
  readonly expansionSearch?: number;
  /** Threads for insertion; 1 gives the same bytes on every run, more builds faster. Default: all cores. */
  readonly threads?: number;
  /** The key of row 0 (default 0): an item shard's index keys its rows by their place in the whole catalogue. */
  readonly firstKey?: number;
}

const METRIC_KINDS: Readonly<Record<AnnMetric, MetricKind>> = {
  cos: usearch.MetricKind.Cos,
  ip: usearch.MetricKind.IP,
  l2sq: usearch.MetricKind.L2sq,
};

const SCALAR_KINDS: Readonly<Record<AnnScalar, ScalarKind>> = {
  f32: usearch.ScalarKind.F32,
  f16: usearch.ScalarKind.F16,
  bf16: usearch.ScalarKind.BF16,
  i8: usearch.ScalarKind.I8,
  f64: usearch.ScalarKind.F64,
};

/** A native USearch index with our defaults; keys are row numbers firstKey..firstKey+n-1 of `vectors`. */
export function buildNativeIndex(vectors: Float32Array, dims: number, options: NativeIndexOptions = {}): Index {
  if (!Number.isInteger(dims) || dims < 1) throw new Error(`dims must be a positive integer, got ${dims}`);
  if (vectors.length % dims !== 0) {
    throw new Error(`vectors hold ${vectors.length} numbers, not a multiple of dims = ${dims}`);
  }
  const rows = vectors.length / dims;
  if (rows > 0xffff_ffff) throw new Error(`${rows} rows exceed the 2^32 keys of an item table`);
  for (let i = 0; i < vectors.length; i++) {
    const value = vectors[i] as number;
    if (value - value !== 0) {
      throw new Error(`vector of row ${Math.floor(i / dims)} holds ${value} at dimension ${i % dims}`);
    }
  }
  const metric = options.metric ?? "cos";
  const scalar = options.scalar ?? "f32";
  if (!(metric in METRIC_KINDS)) throw new Error(`unknown metric ${String(metric)}`);
  if (!(scalar in SCALAR_KINDS)) throw new Error(`unknown scalar kind ${String(scalar)}`);
  const index = new usearch.Index({
    dimensions: dims,
    metric: METRIC_KINDS[metric],
    quantization: SCALAR_KINDS[scalar],
    connectivity: options.connectivity ?? DEFAULT_CONNECTIVITY,
    expansion_add: options.expansionAdd ?? DEFAULT_ADD_EXPANSION,
    expansion_search: options.expansionSearch ?? DEFAULT_SEARCH_EXPANSION,
    multi: false,
  });
  if (rows > 0) {
    const keys = new BigUint64Array(rows);
    const firstKey = options.firstKey ?? 0;
    for (let row = 0; row < rows; row++) keys[row] = BigInt(firstKey + row);
    index.add(keys, vectors, options.threads ?? availableParallelism());
  }
  return index;
}

/** Serialized bytes of a native index, in the format `AnnIndex.load` reads. */
export function serializeNativeIndex(index: Index): Uint8Array {
  // The addon only saves to a path, so go through a private temporary file.
  const directory = mkdtempSync(join(tmpdir(), "ann-index-"));
  try {
    const path = join(directory, "index.usearch");
    index.save(path);
    return new Uint8Array(readFileSync(path));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Builds an HNSW index over `vectors` (row-major float32, row i = key i) with the native addon and returns
 * its serialized bytes, ready for `AnnIndex.load` in the Worker.
 */
export function buildAnnIndexNative(vectors: Float32Array, dims: number, options: NativeIndexOptions = {}): Uint8Array {
  return serializeNativeIndex(buildNativeIndex(vectors, dims, options));
}

/** Loads serialized bytes into a native index (for native-side searches, e.g. in benchmarks). */
export function loadNativeIndex(
  bytes: Uint8Array,
  options: { readonly dims: number; readonly metric?: AnnMetric; readonly expansionSearch?: number },
): Index {
  const index = new usearch.Index({
    dimensions: options.dims,
    metric: METRIC_KINDS[options.metric ?? "cos"],
    quantization: usearch.ScalarKind.F32,
    connectivity: 0,
    expansion_add: 0,
    expansion_search: options.expansionSearch ?? DEFAULT_SEARCH_EXPANSION,
    multi: false,
  });
  const directory = mkdtempSync(join(tmpdir(), "ann-index-"));
  try {
    const path = join(directory, "index.usearch");
    writeFileSync(path, bytes);
    index.load(path);
    return index;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
