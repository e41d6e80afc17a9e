import type { AnnIndex } from "../ann/ann-index";
import type { UsearchRuntime } from "../ann/runtime";
import type { OnnxRuntimeAdapter } from "../inference/types";
import { loadBundleModels, releaseBundleModels, type BundleModels } from "./bundle-models";
import { BundleTables } from "./bundle-tables";
import { buildServingIndex, type ServingIndex } from "./serving-index";

/**
 * One bundle version decoded for serving: its tables, the indexes derived from them and its loaded models. The
 * Worker caches one per isolate (worker/bundle/runtime.ts); the evaluation harness and the benchmarks build the same.
 */
export interface ServingBundle {
  /** The manifest's version. */
  readonly version: string;
  readonly tables: BundleTables;
  readonly index: ServingIndex;
  /** Models that failed to load are absent; stages that need them step aside and the feed says degraded. */
  readonly models: Partial<BundleModels>;
  /**
   * Live items' retrieval vectors (core/live-items), rows after the bundle's: the two-tower and `media_nn` searches
   * merge it with the bundle's index. Absent for a bundle served as it was built.
   */
  readonly liveIndex?: AnnIndex | undefined;
  /** Why parts of the bundle are unusable, for `degraded` and /health. */
  readonly problems: readonly string[];
  /**
   * How long each step of opening took, ms: decoding the tables, deriving the indexes, loading the models (sessions
   * and the ANN index), and each model's own step. Deployed Workers advance the clock only at I/O, so there these
   * read 0; local workerd and Node measure.
   */
  readonly openMs: { readonly tables: number; readonly index: number; readonly models: number; readonly modelSteps: Readonly<Partial<Record<keyof BundleModels, number>>> };
  /** Frees the models' wasm memory (sessions, the ANN index); the bundle is unusable afterwards. */
  release(): Promise<void>;
}

/**
 * Opens a bundle version for serving from its manifest and files (BundleFiles): decode the tables, derive the
 * indexes, load the models. Models load one by one so a broken one only removes the stage that needs it (the feed
 * then says degraded).
 */
export async function openServingBundle(manifest: unknown, files: ReadonlyMap<string, Uint8Array>, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime): Promise<ServingBundle> {
  const started = performance.now();
  const tables = BundleTables.decode(manifest, files);
  const decoded = performance.now();
  const index = buildServingIndex(tables);
  const indexed = performance.now();
  const { models, problems, stepMs } = await loadBundleModels(tables, onnx, usearch);
  const openMs = { tables: decoded - started, index: indexed - decoded, models: performance.now() - indexed, modelSteps: stepMs };
  return { version: tables.version, tables, index, models, problems, openMs, release: () => releaseBundleModels(models) };
}
