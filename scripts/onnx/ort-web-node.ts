// onnxruntime-web (wasm SIMD) in Node, for offline evaluation and benchmarks with the same runtime as the Worker.
// In Node the "onnxruntime-web" import resolves to ort.node.min.mjs, which loads dist/ort-wasm-simd-threaded.wasm
// from disk itself, so no loader tricks are needed here (contrast worker/inference/ort-web-workerd.ts).
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-web";
import { createOrtAdapter } from "../../core/inference/ort-session";
import type { OnnxRuntimeAdapter } from "../../core/inference/types";

export interface NodeOrtWebOptions {
  /** Wasm threads; 1 (default) matches the Worker, which cannot spawn threads. Process-wide, fixed by the first session. */
  readonly numThreads?: number;
  readonly graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

export function createNodeOrtWebAdapter(options: NodeOrtWebOptions = {}): OnnxRuntimeAdapter {
  ort.env.wasm.numThreads = options.numThreads ?? 1;
  // Point the loader at the package's dist folder explicitly: under a module runner (vitest's global setup,
  // for one) its relative lookup resolves against the working directory instead and finds nothing.
  ort.env.wasm.wasmPaths = pathToFileURL(`${dirname(createRequire(import.meta.url).resolve("onnxruntime-web"))}/`).href;
  ort.env.wasm.proxy = false;
  return createOrtAdapter(ort, {
    name: "onnxruntime-web/node",
    sessionOptions: { executionProviders: ["wasm"], graphOptimizationLevel: options.graphOptimizationLevel ?? "all" },
  });
}
