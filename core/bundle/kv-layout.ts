import { z } from "zod";
import { BundleError } from "./errors";
import { bundleManifestSchema, formatIssues, relativePathProblem, versionProblem } from "./manifest";

/**
 * Where a bundle lives in Workers KV:
 *
 *   bundle/<version>/manifest.json      the manifest, plus `kv_storage` (chunk size, chunk count per file, which
 *                                       files are stored gzip-compressed and which are left out)
 *   bundle/<version>/files/<path>       a file that fits in one value (its gzip when `kv_storage.gzip` lists it)
 *   bundle/<version>/files/<path>#<i>   chunk i (0-based) of a file (or of its gzip) larger than one value
 *   bundle/versions                     JSON list of published versions, oldest first (for pruning)
 *   bundle/active                       the version readers load; written last
 *
 * A version prefix is immutable once its manifest exists, so readers can cache those keys as long as they like;
 * only `bundle/active` and `bundle/versions` ever change.
 */
export const BUNDLE_KEY_PREFIX = "bundle/";
export const ACTIVE_KEY = "bundle/active";
export const VERSIONS_KEY = "bundle/versions";
/** A bundle's popular list (JSON), copied outside the versions on publish: degraded mode serves it when no bundle loads. */
export const FALLBACK_POPULAR_FILE = "lists/popular.json";
export const FALLBACK_POPULAR_KEY = "fallback/popular";

/** Workers KV limits: a value holds at most 25 MiB, a key at most 512 bytes. */
export const KV_MAX_VALUE_BYTES = 25 * 1024 * 1024;
export const KV_MAX_KEY_BYTES = 512;

/**
 * Version of the `kv_storage` description. Layout 1 stored every file as it is; layout 2 may store a file's gzip and
 * leave out files serving never reads. Readers take both.
 */
export const KV_STORAGE_LAYOUT = 2;

export function manifestKey(version: string): string {
  return checkedKey(`${BUNDLE_KEY_PREFIX}${checkedVersion(version)}/manifest.json`);
}

/** The key of a whole file (chunkCount 1) or of its chunk `index`. */
export function fileKey(version: string, path: string, chunk?: { index: number; count: number }): string {
  const problem = relativePathProblem(path);
  if (problem) throw new BundleError(`bad bundle file path ${JSON.stringify(path)}`, [`the path ${problem}`]);
  const base = `${BUNDLE_KEY_PREFIX}${checkedVersion(version)}/files/${path}`;
  if (chunk === undefined || chunk.count === 1) return checkedKey(base);
  if (!Number.isInteger(chunk.index) || chunk.index < 0 || chunk.index >= chunk.count) throw new Error(`chunk index ${chunk.index} is outside 0..${chunk.count - 1}`);
  return checkedKey(`${base}#${chunk.index}`);
}

/** Every KV key that holds the bytes of `path`, in order. */
export function fileValueKeys(version: string, path: string, chunkCount: number): string[] {
  if (chunkCount === 1) return [fileKey(version, path)];
  return Array.from({ length: chunkCount }, (_, index) => fileKey(version, path, { index, count: chunkCount }));
}

/** How many values a file of `byteLength` bytes takes; an empty file still takes one (empty) value. */
export function chunkCountFor(byteLength: number, chunkBytes: number): number {
  checkChunkBytes(chunkBytes);
  return Math.max(1, Math.ceil(byteLength / chunkBytes));
}

/** The exact size of chunk `index` of a file, so a reader can tell a truncated chunk from a whole one. */
export function chunkByteLength(byteLength: number, chunkBytes: number, index: number): number {
  return Math.min(chunkBytes, byteLength - index * chunkBytes);
}

/** Views (no copies) of consecutive `chunkBytes`-sized pieces of `bytes`. */
export function splitIntoChunks(bytes: Uint8Array, chunkBytes: number): Uint8Array[] {
  const count = chunkCountFor(bytes.byteLength, chunkBytes);
  return Array.from({ length: count }, (_, index) => bytes.subarray(index * chunkBytes, Math.min(bytes.byteLength, (index + 1) * chunkBytes)));
}

export function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > KV_MAX_VALUE_BYTES) {
    throw new Error(`chunk size ${chunkBytes} must be an integer in 1..${KV_MAX_VALUE_BYTES} (the KV value limit)`);
  }
}

export const kvStorageSchema = z.object({
  layout: z.union([z.literal(1), z.literal(KV_STORAGE_LAYOUT)]),
  chunk_bytes: z.number().int().min(1).max(KV_MAX_VALUE_BYTES),
  /** Values per stored file; 1 means the file is stored whole under `files/<path>`. */
  chunks: z.record(z.string(), z.number().int().min(1)),
  published_at: z.iso.datetime({ offset: true }),
  /** Files stored as their gzip, with the gzip's size (chunks are cut from the gzip). */
  gzip: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Files of the bundle not stored in KV: serving never reads them; offline tools read the bundle directory. */
  omitted: z.array(z.string()).default([]),
});
export type KvStorage = z.infer<typeof kvStorageSchema>;

/** How many bytes KV holds for `path`: its gzip's size when stored compressed, else the file's own. */
export function storedByteLength(storage: Pick<KvStorage, "gzip">, path: string, fileBytes: number): number {
  return Object.hasOwn(storage.gzip, path) ? (storage.gzip[path] as number) : fileBytes;
}

/** The manifest as stored in KV: the bundle's own manifest plus how its files were laid out. */
export const storedManifestSchema = bundleManifestSchema
  .extend({ kv_storage: kvStorageSchema })
  .superRefine((manifest, context) => {
    const storage = manifest.kv_storage;
    const omitted = new Set(storage.omitted);
    for (const [path, entry] of Object.entries(manifest.files)) {
      const count = Object.hasOwn(storage.chunks, path) ? storage.chunks[path] : undefined;
      if (omitted.has(path)) {
        if (count !== undefined) context.addIssue({ code: "custom", path: ["kv_storage", "chunks", path], message: "chunk count for a file left out of KV" });
        continue;
      }
      const stored = storedByteLength(storage, path, entry.bytes);
      const expected = Math.max(1, Math.ceil(stored / storage.chunk_bytes));
      if (count === undefined) context.addIssue({ code: "custom", path: ["kv_storage", "chunks", path], message: "no chunk count for this file" });
      else if (count !== expected) {
        context.addIssue({ code: "custom", path: ["kv_storage", "chunks", path], message: `${count} chunks, but ${stored} bytes in ${storage.chunk_bytes}-byte chunks take ${expected}` });
      }
    }
    for (const path of Object.keys(storage.chunks)) {
      if (!Object.hasOwn(manifest.files, path)) context.addIssue({ code: "custom", path: ["kv_storage", "chunks", path], message: "chunk count for a file the manifest does not list" });
    }
    for (const path of [...Object.keys(storage.gzip), ...storage.omitted]) {
      if (!Object.hasOwn(manifest.files, path)) context.addIssue({ code: "custom", path: ["kv_storage", path], message: "a file the manifest does not list" });
    }
    if (storage.layout === 1 && (Object.keys(storage.gzip).length > 0 || storage.omitted.length > 0)) {
      context.addIssue({ code: "custom", path: ["kv_storage", "layout"], message: "layout 1 stores every file as it is" });
    }
  });
export type StoredManifest = z.infer<typeof storedManifestSchema>;

export function parseStoredManifestText(text: string, source: string): StoredManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BundleError(`${source} is not valid JSON`, [(error as Error).message]);
  }
  const parsed = storedManifestSchema.safeParse(value);
  if (!parsed.success) throw new BundleError(`${source} is not a valid stored bundle manifest`, formatIssues(parsed.error.issues));
  return parsed.data;
}

export const versionsIndexSchema = z.object({
  versions: z.array(z.object({ version: z.string(), published_at: z.iso.datetime({ offset: true }) })),
});
export type VersionsIndex = z.infer<typeof versionsIndexSchema>;

function checkedVersion(version: string): string {
  const problem = versionProblem(version);
  if (problem) throw new BundleError(`bad bundle version ${JSON.stringify(version)}`, [`a version ${problem}`]);
  return version;
}

function checkedKey(key: string): string {
  const length = new TextEncoder().encode(key).byteLength;
  if (length > KV_MAX_KEY_BYTES) throw new BundleError(`KV key too long`, [`${key.slice(0, 80)}… is ${length} bytes, KV allows ${KV_MAX_KEY_BYTES}`]);
  return key;
}
