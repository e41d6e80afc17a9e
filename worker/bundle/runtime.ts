import usearchWasm from "../../wasm/usearch/usearch.wasm";
import { UsearchRuntime } from "../../core/ann/runtime";
import type { BundleFiles } from "../../core/bundle/store";
import { openServingBundle, type ServingBundle } from "../../core/serving/serving-bundle";
import { createWorkerdOrtAdapter, onnxruntimeWasmMemoryBytes } from "../inference/ort-web-workerd";
import type { OnnxRuntimeAdapter } from "../../core/inference/types";
import { BundleCache } from "./cache";
import { SHARD_FILES_PREFIX } from "../../core/shards/layout";
import { isItemTowerFile } from "../../core/live-items/embed";

// One onnxruntime-web and one USearch wasm instance per isolate, shared by every bundle version.
const onnx = createWorkerdOrtAdapter();
let usearch: UsearchRuntime | undefined;

/** The isolate's wasm runtimes, for models run beside the bundle's own (live items' towers and index: worker/items). */
export function isolateRuntimes(): { readonly onnx: OnnxRuntimeAdapter; readonly usearch: UsearchRuntime } {
  usearch ??= new UsearchRuntime(usearchWasm);
  return { onnx, usearch };
}

/**
 * The isolate's wasm memories, in bytes (null: that runtime has not started here). They sit outside the JS heap and
 * its ArrayBuffer accounting, yet count toward the isolate's memory limit, and a wasm memory never shrinks: a bundle
 * swap that leaked sessions or indexes would show here.
 */
export function isolateWasmMemory(): { readonly onnxruntime: number | null; readonly ann: number | null } {
  return { onnxruntime: onnxruntimeWasmMemoryBytes() ?? null, ann: usearch?.stats().memoryBytes ?? null };
}

/** Runs once per version, in the background, before the new version is swapped in; a throw keeps the old one. */
export async function decodeServingBundle(files: BundleFiles): Promise<ServingBundle> {
  usearch ??= new UsearchRuntime(usearchWasm);
  return openServingBundle(files.manifest, files.files, onnx, usearch);
}

/** The isolate's bundle, decoded for serving: module-level, so every request in this isolate shares one copy. The item
 * shards' files are left to the shards' own Durable Objects (worker/shards/item-shard.ts), the item towers to live
 * items, which read them when a delta first needs them (worker/items/live-view.ts). */
export const bundleCache = new BundleCache<ServingBundle>({ decode: decodeServingBundle, release: (bundle) => bundle.release(), files: (path) => !path.startsWith(SHARD_FILES_PREFIX) && !isItemTowerFile(path) });
