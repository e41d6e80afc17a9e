// The default bundle for the benchmarks, loaded as the Worker loads it and decoded into the ServingBundle with the
// Worker's runtimes (onnxruntime-web wasm, single thread; USearch wasm).
import type { UsearchRuntime } from "../../core/ann/runtime";
import { BundleError } from "../../core/bundle/errors";
import { MemoryKv } from "../../core/bundle/kv";
import type { StoredManifest } from "../../core/bundle/kv-layout";
import { loadBundle, publishBundle, type BundleFiles } from "../../core/bundle/store";
import { openServingBundle, type ServingBundle } from "../../core/serving/serving-bundle";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { servingPublishOptions } from "../../core/serving/bundle-manifest";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
import { log } from "./measure";

/**
 * Loads a bundle directory, retrying while it is being rewritten (the pipeline replaces files one by one, so a load
 * in the middle sees sizes or hashes that disagree with the manifest). Gives up after `attempts` with the last error.
 */
export async function loadBundleWithRetry(directory: string, attempts = 12, waitMs = 10_000): Promise<BundleFiles> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await loadBundleDirectory(directory);
    } catch (error) {
      lastError = error;
      if (!(error instanceof BundleError) && (error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      if (attempt === attempts) break;
      log(`bundle ${directory} not loadable yet (${(error as Error).message.split("\n")[0]}); retrying in ${waitMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
  throw new Error(`${directory}: the bundle could not be loaded after ${attempts} attempts (build it with npm run pipeline): ${(lastError as Error).message}`, { cause: lastError });
}

export interface BenchServingBundle {
  readonly bundleFiles: BundleFiles;
  readonly bundle: ServingBundle;
  /** The bundle's USearch instance (its wasm memory is part of the isolate's). */
  readonly usearch: UsearchRuntime;
}

/** The ServingBundle exactly as `worker/bundle/runtime.ts` builds it, but on the Node adapters of the same wasm runtimes. */
export async function loadServingBundle(directory: string): Promise<BenchServingBundle> {
  const bundleFiles = await loadBundleWithRetry(directory);
  const usearch = createNodeUsearchRuntime();
  const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createNodeOrtWebAdapter(), usearch);
  if (bundle.problems.length > 0) throw new Error(`${directory}: the bundle loaded with problems: ${bundle.problems.join("; ")}`);
  return { bundleFiles, bundle, usearch };
}

export interface KvFootprint {
  /** Bytes the publisher writes for this bundle (file values, stored manifest, versions index, pointer). */
  readonly stored_bytes: number;
  /** The bundle's files as they are on disk. */
  readonly files_bytes: number;
  readonly omitted: readonly string[];
  readonly gzip_files: number;
  /** Reading it back from an in-memory KV: gunzip and sha256 of every file, ms. */
  readonly load_ms: number;
}

/** What the bundle costs in KV when published as `npm run publish` does, and reading it back (no network). */
export async function kvFootprint(bundleFiles: BundleFiles): Promise<KvFootprint> {
  const kv = new MemoryKv();
  const report = await publishBundle(kv, bundleFiles.manifest, bundleFiles.files, servingPublishOptions(bundleFiles.manifest));
  const started = performance.now();
  const loaded = await loadBundle(kv, report.version);
  const loadMs = performance.now() - started;
  const storage = (loaded.manifest as unknown as StoredManifest).kv_storage;
  return {
    stored_bytes: report.bytesWritten,
    files_bytes: [...bundleFiles.files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0),
    omitted: storage.omitted,
    gzip_files: Object.keys(storage.gzip).length,
    load_ms: loadMs,
  };
}
