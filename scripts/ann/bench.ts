// ANN benchmark: USearch wasm vs the native addon vs a TypeScript brute-force scan, on the same low-rank
// synthetic data in one run. Not a test: timings are printed, nothing is asserted.
//
//   npm run bench:ann -- [--sizes 10000,100000] [--dims 64] [--k 100] [--queries 500] [--warmup 100]
//                        [--expansion N] [--sweep 16,32,64,96,128,192,256] [--sweep-k 10,100]
//                        [--connectivity 16] [--wasm-build-max 10000]
import { availableParallelism, cpus } from "node:os";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { AnnIndex, BruteForceIndex, DEFAULT_ADD_EXPANSION, DEFAULT_CONNECTIVITY, DEFAULT_SEARCH_EXPANSION } from "../../core/ann";
import type { AnnSearchResult } from "../../core/ann";
import { buildNativeIndex, loadNativeIndex, serializeNativeIndex } from "./native";
import { LOW_RANK_DEFAULTS, lowRankVectors, recallOf } from "./synthetic";
import { USEARCH_WASM_PATH, createNodeUsearchRuntime } from "./usearch-wasm";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    dims: { type: "string", default: "64" },
    k: { type: "string", default: "100" },
    queries: { type: "string", default: "500" },
    warmup: { type: "string", default: "100" },
    expansion: { type: "string", default: String(DEFAULT_SEARCH_EXPANSION) },
    sweep: { type: "string", default: "16,32,64,96,128,192,256" },
    "sweep-k": { type: "string", default: "10,100" },
    connectivity: { type: "string", default: String(DEFAULT_CONNECTIVITY) },
    "wasm-build-max": { type: "string", default: "10000" },
  },
});

function integer(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const sizes = values.sizes.split(",").map((size) => integer(size, "sizes"));
const dims = integer(values.dims, "dims");
const k = integer(values.k, "k");
const queryCount = integer(values.queries, "queries");
const warmupCount = integer(values.warmup, "warmup");
const expansion = integer(values.expansion, "expansion");
const sweep = values.sweep.split(",").map((value) => integer(value, "sweep"));
const sweepKs = values["sweep-k"].split(",").map((value) => integer(value, "sweep-k"));
if (sweepKs.some((value) => value > k)) throw new Error(`--sweep-k values must be at most --k (${k})`);
const connectivity = integer(values.connectivity, "connectivity");
const wasmBuildMax = integer(values["wasm-build-max"], "wasm-build-max");

interface Timings {
  readonly p50: number;
  readonly p99: number;
}

function percentiles(samples: number[]): Timings {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99) };
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function timeOnce<T>(run: () => T): { result: T; ms: number } {
  const start = nowMs();
  const result = run();
  return { result, ms: nowMs() - start };
}

function row(cells: readonly (string | number)[], widths: readonly number[]): string {
  return cells.map((cell, i) => String(cell).padStart(widths[i] ?? 10)).join("  ");
}

function fixed(value: number, digits = 3): string {
  return value.toFixed(digits);
}

const usearchVersion = (JSON.parse(readFileSync(new URL("../../node_modules/usearch/package.json", import.meta.url), "utf8")) as { version: string }).version;
const wasmBytes = readFileSync(USEARCH_WASM_PATH);
console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown cpu"}), node ${process.version}, ${process.platform}/${process.arch}`);
console.log(`usearch ${usearchVersion} (native addon, numkong kernels) vs wasm/usearch/usearch.wasm (${wasmBytes.length} B, ${gzipSync(wasmBytes, { level: 9 }).length} B gzipped, SIMD128 autovectorized kernels)`);
console.log(
  `data: low-rank synthetic (rank ${LOW_RANK_DEFAULTS.rank}, ${LOW_RANK_DEFAULTS.clusters} clusters, noise ${LOW_RANK_DEFAULTS.noise}, unit norm), ` +
    `dims ${dims}, metric cos, f32, connectivity ${connectivity}, native build expansion_add ${DEFAULT_ADD_EXPANSION}`,
);
console.log(`search: top-${k}, single queries, ${warmupCount} warm-up + ${queryCount} timed, expansion ${expansion} on both sides, native threads=1`);
console.log("");

interface SizeReport {
  readonly size: number;
  readonly nativeBuildMs: number;
  readonly nativeBuildThreads: number;
  readonly wasmBuildMs: number | undefined;
  readonly indexBytes: number;
  readonly wasmLoadMs: number;
  readonly wasmMemoryBytes: number;
  readonly brute: Timings;
  readonly native: Timings;
  readonly wasm: Timings;
  readonly recallNative: number;
  readonly recallWasm: number;
  readonly identicalNeighbours: number;
  readonly sweep: readonly {
    k: number;
    expansion: number;
    recallWasm: number;
    recallNative: number;
    wasm: Timings;
    native: Timings;
  }[];
}

const reports: SizeReport[] = [];
for (const size of sizes) {
  const vectors = lowRankVectors({ rows: size, dims, seed: 11 });
  const allQueries = lowRankVectors({ rows: warmupCount + queryCount, dims, seed: 12 });
  const query = (i: number) => allQueries.subarray(i * dims, (i + 1) * dims);

  const threads = availableParallelism();
  const nativeBuild = timeOnce(() => buildNativeIndex(vectors, dims, { connectivity, threads }));
  const bytes = serializeNativeIndex(nativeBuild.result);

  let wasmBuildMs: number | undefined;
  if (size <= wasmBuildMax) {
    const buildRuntime = createNodeUsearchRuntime();
    const built = timeOnce(() => {
      const index = AnnIndex.create(buildRuntime, { dimensions: dims, connectivity });
      index.add(Uint32Array.from({ length: size }, (_, i) => i), vectors);
      return index;
    });
    wasmBuildMs = built.ms;
    built.result.dispose();
  }

  const runtime = createNodeUsearchRuntime();
  const loaded = timeOnce(() => AnnIndex.load(runtime, bytes, { expansionSearch: expansion }));
  const wasmIndex = loaded.result;
  const nativeIndex = loadNativeIndex(bytes, { dims, expansionSearch: expansion });
  const brute = new BruteForceIndex(vectors, dims, "cos");

  // Ground truth, and brute-force timings.
  const truth: AnnSearchResult[] = [];
  const bruteTimes: number[] = [];
  for (let i = 0; i < warmupCount + queryCount; i++) {
    const timed = timeOnce(() => brute.search(query(i), k));
    if (i >= warmupCount) {
      truth.push(timed.result);
      bruteTimes.push(timed.ms);
    }
  }

  const measure = (wasmExpansion: number, native: ReturnType<typeof loadNativeIndex>, wanted = k) => {
    const wasmTimes: number[] = [];
    const nativeTimes: number[] = [];
    let recallWasm = 0;
    let recallNative = 0;
    let identical = 0;
    for (let i = 0; i < warmupCount + queryCount; i++) {
      const q = query(i);
      // Alternate the order so neither side always runs on a warmer cache.
      const wasmFirst = i % 2 === 0;
      const runWasm = () => timeOnce(() => wasmIndex.search(q, wanted, { expansion: wasmExpansion }));
      const runNative = () => timeOnce(() => native.search(q, wanted, 1));
      const w = wasmFirst ? runWasm() : undefined;
      const n = runNative();
      const w2 = w ?? runWasm();
      if (i < warmupCount) continue;
      const expected = (truth[i - warmupCount] as AnnSearchResult).keys.subarray(0, wanted);
      wasmTimes.push(w2.ms);
      nativeTimes.push(n.ms);
      const nativeKeys = Array.from(n.result.keys, Number);
      recallWasm += recallOf(w2.result.keys, expected);
      recallNative += recallOf(nativeKeys, expected);
      if (nativeKeys.join(",") === Array.from(w2.result.keys).join(",")) identical++;
    }
    return {
      wasm: percentiles(wasmTimes),
      native: percentiles(nativeTimes),
      recallWasm: recallWasm / queryCount,
      recallNative: recallNative / queryCount,
      identical: identical / queryCount,
    };
  };

  const main = measure(expansion, nativeIndex);
  const sweepResults = [];
  if (size === Math.max(...sizes)) {
    for (const sweepK of sweepKs) {
      for (const candidate of sweep) {
        const native = loadNativeIndex(bytes, { dims, expansionSearch: candidate });
        const measured = measure(candidate, native, sweepK);
        sweepResults.push({ k: sweepK, expansion: candidate, ...measured });
      }
    }
  }

  reports.push({
    size,
    nativeBuildMs: nativeBuild.ms,
    nativeBuildThreads: threads,
    wasmBuildMs,
    indexBytes: bytes.length,
    wasmLoadMs: loaded.ms,
    wasmMemoryBytes: runtime.stats().memoryBytes,
    brute: percentiles(bruteTimes),
    native: main.native,
    wasm: main.wasm,
    recallNative: main.recallNative,
    recallWasm: main.recallWasm,
    identicalNeighbours: main.identical,
    sweep: sweepResults,
  });
  wasmIndex.dispose();
}

const widths = [8, 12, 10, 10, 10, 10];
console.log(`search latency, ms (top-${k}, expansion ${expansion})`);
console.log(row(["items", "engine", "p50", "p99", "recall@" + k, "vs native"], widths));
for (const report of reports) {
  console.log(row([report.size, "native", fixed(report.native.p50), fixed(report.native.p99), fixed(report.recallNative), "1.00"], widths));
  console.log(row([report.size, "wasm", fixed(report.wasm.p50), fixed(report.wasm.p99), fixed(report.recallWasm), fixed(report.wasm.p50 / report.native.p50, 2)], widths));
  console.log(row([report.size, "ts-brute", fixed(report.brute.p50), fixed(report.brute.p99), "1.000", fixed(report.brute.p50 / report.native.p50, 2)], widths));
}
console.log("");
console.log("wasm/native ratios and build");
console.log(row(["items", "p50 ratio", "p99 ratio", "identical", "brute/wasm", "index B", "native build ms", "wasm build ms", "wasm load ms", "wasm mem MB"], [8, 10, 10, 10, 10, 10, 16, 14, 12, 12]));
for (const report of reports) {
  console.log(
    row(
      [
        report.size,
        fixed(report.wasm.p50 / report.native.p50, 2),
        fixed(report.wasm.p99 / report.native.p99, 2),
        fixed(report.identicalNeighbours, 3),
        fixed(report.brute.p50 / report.wasm.p50, 1),
        report.indexBytes,
        `${fixed(report.nativeBuildMs, 0)} (${report.nativeBuildThreads}t)`,
        report.wasmBuildMs === undefined ? "skipped" : fixed(report.wasmBuildMs, 0),
        fixed(report.wasmLoadMs, 1),
        fixed(report.wasmMemoryBytes / 2 ** 20, 1),
      ],
      [8, 10, 10, 10, 10, 10, 16, 14, 12, 12],
    ),
  );
}

const largest = reports.find((report) => report.sweep.length > 0);
if (largest) {
  console.log("");
  console.log(`expansion sweep at ${largest.size} items (USearch walks with max(expansion, k))`);
  const sweepWidths = [4, 10, 12, 12, 10, 10, 8];
  console.log(row(["k", "expansion", "recall wasm", "recall nat", "wasm p50", "native p50", "ratio"], sweepWidths));
  for (const entry of largest.sweep) {
    console.log(
      row(
        [entry.k, entry.expansion, fixed(entry.recallWasm), fixed(entry.recallNative), fixed(entry.wasm.p50), fixed(entry.native.p50), fixed(entry.wasm.p50 / entry.native.p50, 2)],
        sweepWidths,
      ),
    );
  }
  for (const sweepK of sweepKs) {
    const chosen = largest.sweep.find((entry) => entry.k === sweepK && entry.recallWasm >= 0.95);
    console.log(
      chosen
        ? `top-${sweepK}: smallest expansion with recall >= 0.95 at ${largest.size} items is ${chosen.expansion}`
        : `top-${sweepK}: no expansion in the sweep reached recall >= 0.95`,
    );
  }
  console.log(`default search expansion in core/ann: ${DEFAULT_SEARCH_EXPANSION}`);
}
