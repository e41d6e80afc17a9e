// Another checkout's own code (a worktree of an earlier commit) on its own copy of a bundle, for side-by-side runs
// in one process: `npm run bench:checkouts` and scripts/dev/feeds-across-checkouts.ts.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

export type CheckoutModule = Record<string, unknown>;
export type CheckoutTables = { config: { defaultSurface: number }; asOfMs: number };

export const loadFrom = (root: string, path: string): Promise<CheckoutModule> => import(pathToFileURL(join(root, path)).href) as Promise<CheckoutModule>;

export interface CheckoutFeeds {
  /** The checkout's decoded bundle, as its own `runFeed` takes it. */
  readonly bundle: unknown;
  readonly explore: CheckoutModule;
  /** A request for a warm user id, built by the checkout's own `resolveFeedUser`. */
  request(userId: string, count: number): unknown;
}

/**
 * Opens `bundleDir` with the checkout at `root`. A checkout from before the bundle's names changed opens it with
 * `createRanker` (core/funnel/ranker.ts) and calls its tables `assets`.
 */
export async function openCheckout(root: string, bundleDir: string): Promise<CheckoutFeeds> {
  const [explore, types, user] = await Promise.all([loadFrom(root, "core/funnel/explore.ts"), loadFrom(root, "core/funnel/types.ts"), loadFrom(root, "core/funnel/user.ts")]);
  const renamed = existsSync(join(root, "core/serving/serving-bundle.ts"));
  const open = renamed ? (await loadFrom(root, "core/serving/serving-bundle.ts")).openServingBundle : (await loadFrom(root, "core/funnel/ranker.ts")).createRanker;
  const files = await loadBundleDirectory(bundleDir);
  const bundle = await (open as (...args: unknown[]) => Promise<{ tables?: CheckoutTables; assets?: CheckoutTables }>)(files.manifest, files.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  const tables = (bundle.tables ?? bundle.assets) as CheckoutTables;
  const resolveUser = user.resolveFeedUser as (...args: unknown[]) => unknown;
  return {
    bundle,
    explore,
    request: (userId, count) => ({ user: resolveUser(tables, userId, types.NO_REALTIME_STATE, tables.config), count, surface: tables.config.defaultSurface, nowMs: tables.asOfMs, exclude: new Set<number>(), config: tables.config }),
  };
}
