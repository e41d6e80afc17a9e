import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import type { BundleKvReader, BundleKvWriter } from "../../core/bundle/kv";

/**
 * Reads bundle keys from a Workers KV binding. File values under a version prefix never change once their manifest
 * exists, so the edge may keep them for an hour; the manifest and `bundle/active` keep KV's default caching, so a
 * newly activated version (or a re-published broken one) is seen within a minute.
 */
export function workersKvReader(namespace: KVNamespace, fileCacheTtlSeconds = 3600): BundleKvReader {
  const cacheTtlFor = (key: string) => (/^bundle\/[^/]+\/files\//.test(key) ? { cacheTtl: fileCacheTtlSeconds } : {});
  return {
    // each read within its budget: a hung read fails the load (the isolate keeps its current version) instead of
    // holding the load, and with it every cold request that waits for it
    async getBytes(key) {
      const value = await withinTimeBudget(namespace.get(key, { type: "arrayBuffer", ...cacheTtlFor(key) }), REQUEST_BUDGETS_MS.bundleKvRead, `KV read of ${key}`);
      return value === null ? null : new Uint8Array(value);
    },
    async getText(key) {
      return withinTimeBudget(namespace.get(key, { type: "text", ...cacheTtlFor(key) }), REQUEST_BUDGETS_MS.bundleKvRead, `KV read of ${key}`);
    },
  };
}

/** Reads and writes a Workers KV binding (tests seed bundles through it; the Worker itself only reads). */
export function workersKvWriter(namespace: KVNamespace): BundleKvWriter {
  return {
    async getBytes(key) {
      const value = await namespace.get(key, "arrayBuffer");
      return value === null ? null : new Uint8Array(value);
    },
    async getText(key) {
      return namespace.get(key, "text");
    },
    async put(key, value) {
      await namespace.put(key, value);
    },
    async delete(key) {
      await namespace.delete(key);
    },
  };
}
