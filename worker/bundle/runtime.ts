import usearchWasm from "../../wasm/usearch/usearch.wasm";
import { UsearchRuntime } from "../../core/ann/runtime";
import type { BundleFiles } from "../../core/bundle/store";
import { openServingBundle, type ServingBundle } from "../../core/serving/serving-bundle";
import { createWorkerdOrtAdapter } from "../inference/ort-web-workerd";
import { BundleCache } from "./cache";
import { SHARD_FILES_PREFIX } from "../../core/shards/layout";

// One onnxruntime-web and one USearch wasm instance per isolate, shared by every bundle version.
const onnx = createWorkerdOrtAdapter();
let usearch: UsearchRuntime | undefined;

/** Runs once per version, in the background, before the new version is swapped in; a throw keeps the old one. */
export async function decodeServingBundle(files: BundleFiles): Promise<ServingBundle> {
  usearch ??= new UsearchRuntime(usearchWasm);
  return openServingBundle(files.manifest, files.files, onnx, usearch);
}

/** The isolate's bundle, decoded for serving: module-level, so every request in this isolate shares one copy. The item
 * shards' files are left to the shards' own Durable Objects (worker/shards/item-shard.ts). */
export const bundleCache = new BundleCache<ServingBundle>({ decode: decodeServingBundle, release: (bundle) => bundle.release(), files: (path) => !path.startsWith(SHARD_FILES_PREFIX) });
