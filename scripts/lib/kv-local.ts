import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { Miniflare as MiniflareType } from "miniflare";
import type { BundleKvWriter } from "../../core/bundle/kv";

/**
 * The local KV namespace that `wrangler dev` serves to the Worker, opened the way `wrangler kv key put --local` opens
 * it (wrangler 4.86 `usingLocalNamespace`): wrangler's own Miniflare, persistence root `<persist-to>/v3`, and the
 * namespace named by the binding's `id` in the wrangler config. `persist-to` defaults, as in wrangler, to
 * `.wrangler/state` next to the config file. One Miniflare start (~0.5 s) serves every read and write, where shelling
 * out to `wrangler kv key put` would cost ~4 s per key.
 */
export interface LocalKvOptions {
  /** The wrangler config (default: wrangler.toml in the current directory). */
  readonly configPath?: string;
  /** Same meaning as `wrangler dev --persist-to` (default `.wrangler/state` beside the config). */
  readonly persistTo?: string;
  readonly binding?: string;
}

export interface LocalKv {
  readonly kv: BundleKvWriter;
  readonly namespaceId: string;
  /** The directory Miniflare persists into (`…/v3`). */
  readonly persistRoot: string;
  dispose(): Promise<void>;
}

export async function openLocalKv(options: LocalKvOptions = {}): Promise<LocalKv> {
  const configPath = resolve(options.configPath ?? "wrangler.toml");
  const binding = options.binding ?? "BUNDLES";
  const namespaceId = await kvNamespaceIdFromConfig(configPath, binding);
  const { miniflare, persistRoot } = openLocalMiniflare(configPath, options.persistTo, { kvNamespaces: { NAMESPACE: namespaceId } });
  const namespace = await miniflare.getKVNamespace("NAMESPACE");
  const kv: BundleKvWriter = {
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
  return { kv, namespaceId, persistRoot, dispose: () => miniflare.dispose() };
}

/**
 * The id that `wrangler dev` uses for `binding` — read with wrangler's own config reader, so wrangler.json(c),
 * environments and defaults behave exactly as in wrangler. A binding without an id is named by the binding itself,
 * as wrangler does locally.
 */
export async function kvNamespaceIdFromConfig(configPath: string, binding: string): Promise<string> {
  const config = await readWranglerConfig(configPath);
  const namespace = (config.kv_namespaces as { binding: string; id?: unknown }[]).find((entry) => entry.binding === binding);
  if (namespace === undefined) throw new Error(`${configPath}: no [[kv_namespaces]] entry with binding = "${binding}"`);
  return typeof namespace.id === "string" ? namespace.id : binding;
}

// wrangler's own copy of Miniflare: the same storage format `wrangler dev` reads.
const wranglerRequire = createRequire(createRequire(import.meta.url).resolve("wrangler"));

/**
 * A Miniflare that holds nothing but the given storage bindings, on the persistence root `wrangler dev` uses for
 * `configPath` (`<persistTo>/v3`, persistTo defaulting to `.wrangler/state` beside the config): how the scripts read
 * and write the local KV and R2 that `wrangler dev` and `npm start` serve, while no `wrangler dev` holds the files.
 */
export function openLocalMiniflare(configPath: string, persistTo: string | undefined, storage: { readonly kvNamespaces?: Record<string, string>; readonly r2Buckets?: Record<string, string> }): { miniflare: MiniflareType; persistRoot: string } {
  const persistRoot = join(persistTo === undefined ? join(dirname(configPath), ".wrangler/state") : resolve(persistTo), "v3");
  const { Miniflare } = wranglerRequire("miniflare") as { Miniflare: typeof MiniflareType };
  const miniflare = new Miniflare({ modules: true, script: "export default { fetch() { return new Response(null, { status: 404 }); } };", defaultPersistRoot: persistRoot, ...storage });
  return { miniflare, persistRoot };
}

/** wrangler's config reader (`unstable_readConfig`), loaded without the CLI's signal handlers. */
export async function readWranglerConfig(configPath: string): Promise<ReturnType<typeof import("wrangler")["unstable_readConfig"]>> {
  const { unstable_readConfig } = await importWranglerQuietly();
  return unstable_readConfig({ config: configPath });
}

/**
 * Loading wrangler's module installs its CLI's SIGINT/SIGTERM handlers (`CLEANUP(); process.exit()`). In a process
 * that only borrows its config reader — `npm start`, which must pass signals on to `wrangler dev` — those would exit
 * at once and orphan the server, so the handlers the import added are removed again.
 */
async function importWranglerQuietly(): Promise<typeof import("wrangler")> {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const wrangler = await import("wrangler");
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
  }
  return wrangler;
}
