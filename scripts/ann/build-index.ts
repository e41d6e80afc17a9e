// Builds a USearch HNSW index over item embeddings with the native addon, and checks it loads in wasm.
//
//   tsx scripts/ann/build-index.ts --embeddings <file.f32> --dims <n> --out <file.usearch>
//       [--metric cos|ip|l2sq] [--scalar f32|f16|bf16|i8] [--connectivity 16] [--expansion-add 128] [--threads N]
//
// <file.f32> is raw little-endian float32, row-major; row i is the item of key i (its item-table row).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { AnnIndex, DEFAULT_ADD_EXPANSION, DEFAULT_CONNECTIVITY, type AnnMetric, type AnnScalar } from "../../core/ann";
import { buildAnnIndexNative } from "./native";
import { createNodeUsearchRuntime } from "./usearch-wasm";

const USAGE =
  "usage: tsx scripts/ann/build-index.ts --embeddings <file.f32> --dims <n> --out <file.usearch> " +
  "[--metric cos|ip|l2sq] [--scalar f32|f16|bf16|i8] [--connectivity N] [--expansion-add N] [--threads N]";

class UsageError extends Error {}

const SELF_CHECK_ROWS = 32;
/** Recall@1 on the sampled rows below which the index is taken as broken rather than approximate. */
const SELF_CHECK_MIN_RECALL = 0.9;
/** Quantized scalars and near-duplicate items can put a few rows ahead of a row's own; more than this means mixed-up keys. */
const SELF_CHECK_OWN_KEY_WITHIN = 8;

const METRICS: readonly AnnMetric[] = ["cos", "ip", "l2sq"];
const SCALARS: readonly AnnScalar[] = ["f32", "f16", "bf16", "i8"];

function positiveInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer, got ${text}`);
  return value;
}

/** Reads raw little-endian float32 rows; throws when the size is not a whole number of rows. */
export function readFloat32Rows(path: string, dims: number): Float32Array {
  const bytes = readFileSync(path);
  const rowBytes = 4 * dims;
  if (bytes.length === 0 || bytes.length % rowBytes !== 0) {
    throw new UsageError(`${path}: ${bytes.length} bytes is not a whole number of ${dims}-d float32 rows (${rowBytes} bytes each)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vectors = new Float32Array(bytes.length / 4);
  for (let i = 0; i < vectors.length; i++) vectors[i] = view.getFloat32(4 * i, true);
  return vectors;
}

/**
 * Loads the bytes in the wasm build and searches a sample of rows: for nearly all of them the graph walk must reach
 * the same best distance as an exact scan, and the row's own key must be among the nearest to its vector. Catches
 * format, metric or key mix-ups (which miss on every row) before the index ships, without failing on the rare row an
 * approximate walk legitimately misses in a multi-threaded build.
 */
export function verifyInWasm(bytes: Uint8Array, vectors: Float32Array, dims: number, metric: AnnMetric): void {
  const index = AnnIndex.load(createNodeUsearchRuntime(), bytes, { dimensions: dims, metric });
  const rows = vectors.length / dims;
  if (index.size !== rows) throw new Error(`self-check failed: the wasm build sees ${index.size} rows, expected ${rows}`);
  const sample = [...new Set(Array.from({ length: SELF_CHECK_ROWS }, (_, i) => Math.floor((i * (rows - 1)) / (SELF_CHECK_ROWS - 1))))];
  const missed: string[] = [];
  for (const row of sample) {
    const query = vectors.subarray(row * dims, (row + 1) * dims);
    const walked = index.search(query, 1).distances[0];
    const scanned = index.search(query, SELF_CHECK_OWN_KEY_WITHIN, { exact: true });
    const exact = scanned.distances[0];
    if (walked === undefined || exact === undefined || walked > exact + 1e-4) {
      missed.push(`row ${row}: walk ${walked}, exact ${exact}`);
    } else if (!Array.from(scanned.keys).includes(row)) {
      missed.push(`row ${row}: not among the exact ${SELF_CHECK_OWN_KEY_WITHIN} nearest to its own vector`);
    }
  }
  index.dispose();
  if (missed.length > sample.length * (1 - SELF_CHECK_MIN_RECALL)) {
    throw new Error(
      `self-check failed: ${missed.length} of ${sample.length} sampled rows missed (the walk must reach the exact ` +
        `nearest distance, and a row must be near its own vector) (${missed.slice(0, 3).join("; ")})`,
    );
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      embeddings: { type: "string" },
      dims: { type: "string" },
      out: { type: "string" },
      metric: { type: "string", default: "cos" },
      scalar: { type: "string", default: "f32" },
      connectivity: { type: "string" },
      "expansion-add": { type: "string" },
      threads: { type: "string" },
    },
  });
  if (!values.embeddings || !values.dims || !values.out) throw new UsageError("--embeddings, --dims and --out are required");
  const dims = positiveInteger(values.dims, "dims") as number;
  const metric = values.metric as AnnMetric;
  if (!METRICS.includes(metric)) throw new UsageError(`--metric must be one of ${METRICS.join(", ")}, got ${values.metric}`);
  const scalar = values.scalar as AnnScalar;
  if (!SCALARS.includes(scalar)) throw new UsageError(`--scalar must be one of ${SCALARS.join(", ")}, got ${values.scalar}`);
  const connectivity = positiveInteger(values.connectivity, "connectivity") ?? DEFAULT_CONNECTIVITY;
  const expansionAdd = positiveInteger(values["expansion-add"], "expansion-add") ?? DEFAULT_ADD_EXPANSION;
  const threads = positiveInteger(values.threads, "threads");

  const vectors = readFloat32Rows(values.embeddings, dims);
  const rows = vectors.length / dims;
  const started = performance.now();
  const bytes = buildAnnIndexNative(vectors, dims, {
    metric,
    scalar,
    connectivity,
    expansionAdd,
    ...(threads === undefined ? {} : { threads }),
  });
  const buildMs = performance.now() - started;
  verifyInWasm(bytes, vectors, dims, metric);
  writeFileSync(values.out, bytes);
  console.log(
    `wrote ${values.out}: ${rows} rows x ${dims} dims, ${metric}/${scalar}, connectivity ${connectivity}, ` +
      `${bytes.length} bytes, built in ${(buildMs / 1000).toFixed(1)} s; loads in wasm`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))) {
      console.error(`error: ${(error as Error).message}`);
      console.error(USAGE);
      process.exit(2);
    }
    throw error;
  }
}
