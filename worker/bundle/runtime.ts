import usearchWasm from "../../wasm/usearch/usearch.wasm";
import { UsearchRuntime } from "../../core/ann/runtime";
import type { LoadedBundle } from "../../core/bundle/store";
import { createRanker } from "../../core/serving/serving-bundle";
import type { Ranker } from "../../core/funnel/types";
import { releaseRankerModels } from "../../core/serving/bundle-models";
import { createWorkerdOrtAdapter } from "../inference/ort-web-workerd";
import { BundleCache } from "./cache";

/** A bundle version decoded for serving: tables, indexes and models (ONNX sessions, the ANN index). */
export interface BundleRuntime {
  readonly version: string;
  readonly ranker: Ranker;
  /** Frees the models' wasm memory (sessions, the ANN index); the ranker is unusable afterwards. */
  release(): Promise<void>;
}

// One onnxruntime-web and one USearch wasm instance per isolate, shared by every bundle version.
const onnx = createWorkerdOrtAdapter();
let usearch: UsearchRuntime | undefined;

/** Runs once per version, in the background, before the new version is swapped in; a throw keeps the old one. */
export async function decodeBundleRuntime(bundle: LoadedBundle): Promise<BundleRuntime> {
  usearch ??= new UsearchRuntime(usearchWasm);
  const ranker = await createRanker(bundle.manifest, bundle.files, onnx, usearch);
  return { version: bundle.version, ranker, release: () => releaseRankerModels(ranker.models) };
}

/** The isolate's bundle: module-level, so every request in this isolate shares one copy. */
export const bundleCache = new BundleCache<BundleRuntime>({ decode: decodeBundleRuntime, release: (runtime) => runtime.release() });
