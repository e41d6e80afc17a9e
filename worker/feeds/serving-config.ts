import { parseServingConfig, type ServingConfig } from "../../core/config/serving";
import type { ServingBundle } from "../../core/serving/serving-bundle";

export const SERVING_CONFIG_KEY = "config/serving";

const CONFIG_TTL_MS = 30_000;
let configCache: { at: number; version: string; config: ServingConfig; problem?: string } | undefined;

/**
 * The serving config: an operator's override stored in KV (`config/serving`, set through the admin route)
 * when present and valid, else the bundle's. Cached per isolate for 30 s.
 */
export async function effectiveConfig(env: Env, bundle: ServingBundle, nowMs: number): Promise<{ config: ServingConfig; problem?: string }> {
  if (configCache && configCache.version === bundle.tables.version && nowMs - configCache.at < CONFIG_TTL_MS) return configCache;
  let config = bundle.tables.config;
  let problem: string | undefined;
  try {
    const stored = await env.BUNDLES.get(SERVING_CONFIG_KEY, "json");
    if (stored !== null) config = parseServingConfig(stored, SERVING_CONFIG_KEY);
  } catch (error) {
    problem = `stored serving config ignored: ${(error as Error).message}`;
  }
  configCache = { at: nowMs, version: bundle.tables.version, config, ...(problem ? { problem } : {}) };
  return configCache;
}

export function resetServingConfigCache(): void {
  configCache = undefined;
}

const fingerprints = new WeakMap<ServingConfig, Promise<string>>();

/**
 * A digest of a serving config, so that a feed computed under one config is never served under another (an operator
 * stored a new one since, or a request overrides it). Memoised per config object: the cache above hands out one.
 */
export function configFingerprint(config: ServingConfig): Promise<string> {
  let fingerprint = fingerprints.get(config);
  if (fingerprint === undefined) {
    fingerprint = crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(config))).then((digest) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join(""));
    fingerprints.set(config, fingerprint);
  }
  return fingerprint;
}
