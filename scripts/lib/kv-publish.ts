import { resolve } from "node:path";
import type { BundleKvWriter } from "../../core/bundle/kv";
import { publishBundle, formatBytes, type PublishReport } from "../../core/bundle/store";
import { FALLBACK_POPULAR_FILE, FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";
import { servingPublishOptions } from "../../core/serving/bundle-manifest";
import { readBundleDirectory } from "./kv-bundle-directory";
import { openLocalKv } from "./kv-local";
import { DryRunKv, WranglerRemoteKv } from "./kv-remote";

export type PublishTarget =
  | { readonly kind: "local"; readonly configPath: string; readonly persistTo?: string; readonly binding: string }
  | { readonly kind: "remote"; readonly configPath: string; readonly environment?: string; readonly binding: string };

export interface PublishDirectoryOptions {
  readonly dryRun?: boolean;
  readonly activate?: boolean;
  readonly keepVersions?: number;
  readonly chunkBytes?: number;
  readonly log?: (line: string) => void;
}

export interface PublishDirectoryReport extends PublishReport {
  readonly target: string;
  readonly seconds: { readonly read: number; readonly open: number; readonly publish: number; readonly total: number };
}

/**
 * Reads a bundle directory and publishes it to the local KV that `wrangler dev` uses, or to the real namespace
 * through wrangler. With `dryRun`, nothing is read from or written to any KV: it prints each write it would make.
 */
export async function publishDirectory(directory: string, target: PublishTarget, options: PublishDirectoryOptions = {}): Promise<PublishDirectoryReport> {
  const log = options.log ?? ((line: string) => console.error(line));
  const started = performance.now();
  const bundle = await readBundleDirectory(directory);
  const totalBytes = [...bundle.files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
  log(`bundle ${bundle.manifest.version} from ${directory}: ${bundle.files.size} files, ${formatBytes(totalBytes)}`);
  for (const path of bundle.unlisted) log(`warning: ${path} is in the directory but not in manifest.json; it will not be published`);
  const read = performance.now();

  let kv: BundleKvWriter;
  let close: () => Promise<void> = async () => {};
  let description: string;
  if (target.kind === "local") {
    if (options.dryRun) {
      kv = new DryRunKv((operation, key, bytes) => `[dry run] local ${operation} ${key}${operation === "put" ? ` (${bytes} bytes)` : ""}`, log);
      description = "local KV (dry run)";
    } else {
      const local = await openLocalKv({ configPath: target.configPath, persistTo: target.persistTo, binding: target.binding });
      kv = local.kv;
      close = local.dispose;
      description = `local KV namespace ${local.namespaceId} (binding ${target.binding}) in ${local.persistRoot}`;
    }
  } else {
    const remote = new WranglerRemoteKv({ configPath: resolve(target.configPath), binding: target.binding, environment: target.environment });
    if (options.dryRun) {
      kv = new DryRunKv((operation, key, bytes) => `[dry run] wrangler ${remote.commandFor(operation, key).join(" ")}${operation === "put" ? `   # ${bytes} bytes` : ""}`, log);
      description = `remote KV (binding ${target.binding}, dry run: reads skipped, every key treated as absent)`;
    } else {
      kv = remote;
      close = () => remote.dispose();
      description = `remote KV (binding ${target.binding}) via wrangler`;
    }
  }
  log(`target: ${description}`);
  const opened = performance.now();
  try {
    const report = await publishBundle(kv, bundle.manifest, bundle.files, {
      activate: options.activate,
      keepVersions: options.keepVersions,
      chunkBytes: options.chunkBytes,
      ...servingPublishOptions(bundle.manifest),
      concurrency: target.kind === "remote" ? 2 : 4,
      log,
    });
    // Degraded mode's list lives outside the versioned keys, so a Worker that cannot load any bundle still has it.
    const fallback = bundle.files.get(FALLBACK_POPULAR_FILE);
    if (fallback && options.activate !== false) {
      await kv.put(FALLBACK_POPULAR_KEY, fallback);
      log(`fallback list: ${FALLBACK_POPULAR_KEY} (${fallback.byteLength} bytes)`);
    }
    const finished = performance.now();
    return {
      ...report,
      target: description,
      seconds: { read: (read - started) / 1000, open: (opened - read) / 1000, publish: (finished - opened) / 1000, total: (finished - started) / 1000 },
    };
  } finally {
    await close();
  }
}
