import { BUNDLE_FORMAT, buildManifestFiles, type BundleManifest } from "./manifest";

/**
 * A small, valid bundle built in memory — for tests and examples, in Node and in workerd alike. `extra` lands in the
 * manifest beside the required fields (as the pipeline's feature spec, metrics, … would).
 */
export async function sampleBundle(
  version: string,
  files: Readonly<Record<string, Uint8Array | string>>,
  extra: Readonly<Record<string, unknown>> = {},
): Promise<{ manifest: BundleManifest; files: Map<string, Uint8Array> }> {
  const bytes = new Map(Object.entries(files).map(([path, value]) => [path, typeof value === "string" ? new TextEncoder().encode(value) : value]));
  const manifest: BundleManifest = { ...extra, format: BUNDLE_FORMAT, version, created_at: "2026-01-01T00:00:00.000Z", files: await buildManifestFiles(bytes) };
  return { manifest, files: bytes };
}

/** Deterministic pseudo-random bytes (xorshift32), so big test files are not all zeros and corruption shows in hashes. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[index] = state & 0xff;
  }
  return out;
}
