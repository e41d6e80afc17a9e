import type { LoadedBundle } from "../../core/bundle/store";
import { BundleCache } from "./cache";

/**
 * What the funnel needs from a bundle, decoded once per version (ONNX sessions, item tables, the ANN index, …).
 * Until the funnel defines it, it is only the version; replace this type and `decodeBundleRuntime` together.
 */
export interface BundleRuntime {
  readonly version: string;
}

/** Runs once per version, in the background, before the new version is swapped in; a throw keeps the old one. */
export async function decodeBundleRuntime(bundle: LoadedBundle): Promise<BundleRuntime> {
  return { version: bundle.version };
}

/** The isolate's bundle: module-level, so every request in this isolate shares one copy. */
export const bundleCache = new BundleCache<BundleRuntime>({ decode: decodeBundleRuntime });
