// Node adapter for core/ann: compiles the committed wasm/usearch/usearch.wasm (workerd imports it instead).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsearchRuntime, wasmApi, type WasmModule } from "../../core/ann";

export const USEARCH_WASM_PATH = fileURLToPath(new URL("../../wasm/usearch/usearch.wasm", import.meta.url));

let compiled: WasmModule | undefined;

/** The USearch wasm module, compiled once per process. */
export function usearchWasmModule(path: string = USEARCH_WASM_PATH): WasmModule {
  if (path !== USEARCH_WASM_PATH) return new wasmApi.Module(readFileSync(path));
  compiled ??= new wasmApi.Module(readFileSync(path));
  return compiled;
}

/** A fresh runtime (its own wasm instance and memory) over the committed module. */
export function createNodeUsearchRuntime(path?: string): UsearchRuntime {
  return new UsearchRuntime(usearchWasmModule(path));
}
