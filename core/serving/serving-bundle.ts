import { AnnIndex } from "../ann/ann-index";
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
  /** Why parts of the bundle are unusable, for `degraded` and /health. */
  readonly problems: readonly string[];
  /**
   * How long each step of opening took, ms: decoding the tables, deriving the indexes, loading the models (sessions
   * and the ANN index). Inside workerd the clock stands still while code runs, so there they read 0; Node measures.
   */
  readonly openMs: { readonly tables: number; readonly index: number; readonly models: number };
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
  const problems: string[] = [];
  let models: Partial<BundleModels> = {};
  try {
    models = await loadBundleModels(tables, onnx, usearch);
  } catch {
    models = await loadModelsOneByOne(tables, onnx, usearch, problems);
  }
  const openMs = { tables: decoded - started, index: indexed - decoded, models: performance.now() - indexed };
  return { version: tables.version, tables, index, models, problems, openMs, release: () => releaseBundleModels(models) };
}

async function loadModelsOneByOne(tables: BundleTables, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime, problems: string[]): Promise<Partial<BundleModels>> {
  const { models } = tables.manifest;
  const out: { -readonly [K in keyof BundleModels]?: BundleModels[K] } = {};
  const attempt = async <K extends keyof BundleModels>(key: K, load: () => Promise<BundleModels[K]> | BundleModels[K]) => {
    try {
      out[key] = await load();
    } catch (error) {
      problems.push(`model ${key} unavailable: ${(error as Error).message}`);
    }
  };
  await attempt("mtml", () => onnx.createSession(tables.file(models.mtml.file)));
  const oneUserFile = models.mtml.one_user_file;
  if (oneUserFile !== undefined) await attempt("mtmlOneUser", () => onnx.createSession(tables.file(oneUserFile)));
  await attempt("retrievalUserTower", () => onnx.createSession(tables.file(models.retrieval.user_tower)));
  await attempt("firstStageUserTower", () => onnx.createSession(tables.file(models.first_stage.user_tower)));
  await attempt("retrievalIndex", () => AnnIndex.load(usearch, tables.file(models.retrieval.index), { dimensions: models.retrieval.dim, metric: models.retrieval.metric }));
  return out;
}
