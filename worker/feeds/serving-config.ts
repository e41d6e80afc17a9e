import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { parseServingConfig, type ServingConfig } from "../../core/config/serving";
import type { ServingBundle } from "../../core/serving/serving-bundle";

export const SERVING_CONFIG_KEY = "config/serving";

const CONFIG_TTL_MS = 30_000;
/** After a failed read, the next request tries again this soon (or after the TTL, when shorter), not at every request. */
const CONFIG_RETRY_MS = 5_000;
let configCache: { at: number; version: string; config: ServingConfig; problem?: string; retryAt?: number } | undefined;

/**
 * The serving config: an operator's override stored in KV (`config/serving`, set through the admin route)
 * when present and valid, else the bundle's. Cached per isolate for 30 s (`CONFIG_REFRESH_SECONDS` overrides).
 *
 * A stored override that is invalid is ignored (the bundle's config serves) and the feeds say so. A read that fails or
 * is over its budget keeps the config this isolate read last for the bundle version, so a KV blip does not switch
 * every user off the operator's config and its experiments; the feeds say degraded, and the read is retried after 5 s.
 */
export async function effectiveConfig(env: Env, bundle: ServingBundle, nowMs: number): Promise<{ config: ServingConfig; problem?: string }> {
  const cached = configCache?.version === bundle.tables.version ? configCache : undefined;
  const ttlMs = configTtlMs(env);
  // after a failed read the next one is due at `retryAt`, however old the config kept meanwhile is
  if (cached && (cached.retryAt === undefined ? nowMs - cached.at < ttlMs : nowMs < cached.retryAt)) return cached;
  // read as text and parsed below: a value that is not JSON is an invalid override, not a failed read
  let stored: string | null;
  try {
    stored = await withinTimeBudget(env.BUNDLES.get(SERVING_CONFIG_KEY, "text"), REQUEST_BUDGETS_MS.kvRead, `the KV read of ${SERVING_CONFIG_KEY}`);
  } catch (error) {
    const problem = `stored serving config unreadable (${cached ? "serving the config this isolate read last" : "serving the bundle's"}): ${(error as Error).message}`;
    configCache = { at: cached?.at ?? nowMs, version: bundle.tables.version, config: cached?.config ?? bundle.tables.config, problem, retryAt: nowMs + Math.min(CONFIG_RETRY_MS, ttlMs) };
    return configCache;
  }
  let config = bundle.tables.config;
  let problem: string | undefined;
  try {
    if (stored !== null) config = parseServingConfig(parseJson(stored), SERVING_CONFIG_KEY);
  } catch (error) {
    problem = `stored serving config ignored: ${(error as Error).message}`;
  }
  configCache = { at: nowMs, version: bundle.tables.version, config, ...(problem ? { problem } : {}) };
  return configCache;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${SERVING_CONFIG_KEY} is not JSON: ${(error as Error).message}`);
  }
}

function configTtlMs(env: Env): number {
  const seconds = Number(env.CONFIG_REFRESH_SECONDS ?? "");
  return env.CONFIG_REFRESH_SECONDS !== undefined && env.CONFIG_REFRESH_SECONDS !== "" && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : CONFIG_TTL_MS;
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
