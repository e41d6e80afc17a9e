import { AnnIndex } from "../ann/ann-index";
import type { UsearchRuntime } from "../ann/runtime";
import type { OnnxRuntimeAdapter } from "../inference/types";
import { loadRankerModels, type RankerModels } from "./bundle-models";
import { RankerAssets } from "./bundle-tables";
import { buildServingIndex, type ServingIndex } from "./serving-index";

/** Everything serving needs from one bundle version: decoded tables, derived indexes and loaded models. */
export interface Ranker {
  readonly assets: RankerAssets;
  readonly index: ServingIndex;
  /** Models that failed to load are absent; stages that need them step aside and the feed says degraded. */
  readonly models: Partial<RankerModels>;
  /** Why parts of the bundle are unusable, for `degraded` and /health. */
  readonly problems: readonly string[];
}

/**
 * Builds the serving Ranker from a bundle's manifest and files: decode, derive the indexes, load the models.
 * Models load one by one so a broken one only removes the stage that needs it (the feed then says degraded).
 */
export async function createRanker(manifest: unknown, files: ReadonlyMap<string, Uint8Array>, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime): Promise<Ranker> {
  const assets = RankerAssets.decode(manifest, files);
  const index = buildServingIndex(assets);
  const problems: string[] = [];
  let models: Partial<RankerModels> = {};
  try {
    models = await loadRankerModels(assets, onnx, usearch);
  } catch {
    models = await loadModelsOneByOne(assets, onnx, usearch, problems);
  }
  return { assets, index, models, problems };
}

async function loadModelsOneByOne(assets: RankerAssets, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime, problems: string[]): Promise<Partial<RankerModels>> {
  const { models } = assets.manifest;
  const out: { -readonly [K in keyof RankerModels]?: RankerModels[K] } = {};
  const attempt = async <K extends keyof RankerModels>(key: K, load: () => Promise<RankerModels[K]> | RankerModels[K]) => {
    try {
      out[key] = await load();
    } catch (error) {
      problems.push(`model ${key} unavailable: ${(error as Error).message}`);
    }
  };
  await attempt("mtml", () => onnx.createSession(assets.file(models.mtml.file)));
  const oneUserFile = models.mtml.one_user_file;
  if (oneUserFile !== undefined) await attempt("mtmlOneUser", () => onnx.createSession(assets.file(oneUserFile)));
  await attempt("retrievalUserTower", () => onnx.createSession(assets.file(models.retrieval.user_tower)));
  await attempt("firstStageUserTower", () => onnx.createSession(assets.file(models.first_stage.user_tower)));
  await attempt("retrievalIndex", () => AnnIndex.load(usearch, assets.file(models.retrieval.index), { dimensions: models.retrieval.dim, metric: models.retrieval.metric }));
  return out;
}
