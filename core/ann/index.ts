// ANN retrieval over USearch compiled to wasm (wasm/usearch). Runtime-agnostic: the Worker passes the
// module it imported from usearch.wasm; Node compiles the same file (scripts/ann/usearch-wasm.ts).
export { type AnnMetric, type AnnScalar } from "./abi";
export {
  AnnIndex,
  AnnIndexLostError,
  DEFAULT_ADD_EXPANSION,
  DEFAULT_CONNECTIVITY,
  DEFAULT_SEARCH_EXPANSION,
  type AnnIndexOptions,
  type AnnLoadOptions,
  type AnnSearchOptions,
  type AnnSearchResult,
} from "./ann-index";
export { BruteForceIndex } from "./brute-force";
export { UsearchRuntime, type UsearchRuntimeOptions, type UsearchRuntimeStats } from "./runtime";
export { wasmApi, type WasmModule } from "./wasm-api";
