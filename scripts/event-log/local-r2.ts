import { resolve } from "node:path";
import { openLocalMiniflare, readWranglerConfig } from "../lib/kv-local";

/**
 * The local R2 bucket that `wrangler dev` (and `npm start`) gives the Worker as `binding`, opened with wrangler's own
 * Miniflare on the same persistence root (`<persist-to>/v3`, `.wrangler/state` beside the config by default), as
 * scripts/lib/kv-local.ts opens the local KV. Only for reading and writing while no `wrangler dev` holds the files.
 */
export interface LocalR2Options {
  readonly configPath?: string;
  /** Same meaning as `wrangler dev --persist-to` (default `.wrangler/state` beside the config). */
  readonly persistTo?: string;
  readonly binding?: string;
}

/** What the export needs of a bucket (R2's own list and get, narrowed). */
export interface LogBucket {
  list(options: { prefix: string; cursor?: string }): Promise<{ objects: { key: string; size: number }[]; truncated: boolean; cursor?: string }>;
  getText(key: string): Promise<string | null>;
  put(key: string, body: string): Promise<void>;
}

export interface LocalR2 {
  readonly bucket: LogBucket;
  readonly bucketName: string;
  readonly persistRoot: string;
  dispose(): Promise<void>;
}

export async function openLocalR2(options: LocalR2Options = {}): Promise<LocalR2> {
  const configPath = resolve(options.configPath ?? "wrangler.toml");
  const binding = options.binding ?? "EVENT_LOG";
  const bucketName = await r2BucketNameFromConfig(configPath, binding);
  const { miniflare, persistRoot } = openLocalMiniflare(configPath, options.persistTo, { r2Buckets: { BUCKET: bucketName } });
  const r2 = await miniflare.getR2Bucket("BUCKET");
  const bucket: LogBucket = {
    async list({ prefix, cursor }) {
      const page = await r2.list({ prefix, ...(cursor === undefined ? {} : { cursor }) });
      return { objects: page.objects.map((object) => ({ key: object.key, size: object.size })), truncated: page.truncated, ...(page.truncated ? { cursor: page.cursor } : {}) };
    },
    async getText(key) {
      const object = await r2.get(key);
      return object === null ? null : object.text();
    },
    async put(key, body) {
      await r2.put(key, body);
    },
  };
  return { bucket, bucketName, persistRoot, dispose: () => miniflare.dispose() };
}

/** The bucket name wrangler dev uses for `binding`, read with wrangler's own config reader. */
async function r2BucketNameFromConfig(configPath: string, binding: string): Promise<string> {
  const config = await readWranglerConfig(configPath);
  const bucket = (config.r2_buckets as { binding: string; bucket_name?: unknown }[]).find((entry) => entry.binding === binding);
  if (bucket === undefined) throw new Error(`${configPath}: no [[r2_buckets]] entry with binding = "${binding}"`);
  return typeof bucket.bucket_name === "string" ? bucket.bucket_name : binding;
}
