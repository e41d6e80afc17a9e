// onnxruntime-node (native CPU execution provider), the comparison baseline for onnxruntime-web.
import * as ort from "onnxruntime-node";
import { createOrtAdapter } from "../../core/inference/ort-session";
import type { OnnxRuntimeAdapter } from "../../core/inference/types";

export interface OnnxruntimeNodeOptions {
  /** Intra-op threads; 1 (default) for a like-for-like comparison with single-threaded wasm. */
  readonly intraOpNumThreads?: number;
  readonly graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /** Write the optimised graph here (to inspect which fusions ORT applied). */
  readonly optimizedModelFilePath?: string;
}

export function createOnnxruntimeNodeAdapter(options: OnnxruntimeNodeOptions = {}): OnnxRuntimeAdapter {
  return createOrtAdapter(ort, {
    name: "onnxruntime-node",
    sessionOptions: {
      executionProviders: ["cpu"],
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
      ...(options.optimizedModelFilePath === undefined ? {} : { optimizedModelFilePath: options.optimizedModelFilePath }),
    },
  });
}
