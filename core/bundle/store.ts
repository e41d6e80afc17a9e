import { BundleError } from "./errors";
import type { BundleKvReader, BundleKvWriter } from "./kv";
import {
  ACTIVE_KEY,
  KV_MAX_VALUE_BYTES,
  KV_STORAGE_LAYOUT,
  VERSIONS_KEY,
  checkChunkBytes,
  chunkByteLength,
  chunkCountFor,
  fileValueKeys,
  manifestKey,
  parseStoredManifestText,
  splitIntoChunks,
  storedByteLength,
  versionsIndexSchema,
  type StoredManifest,
  type VersionsIndex,
} from "./kv-layout";
import { gunzipBytes, gzipBytes } from "./gzip";
import { hashBytes, parseManifest, versionProblem, verifyBundleFiles, type BundleManifest } from "./manifest";

/**
 * One bundle version in memory, before decoding: every file's bytes, verified against the manifest. Serving opens it
 * as a ServingBundle (core/serving/serving-bundle.ts).
 */
export interface BundleFiles {
  readonly version: string;
  /** The bundle's manifest with all its pipeline fields (loaded from KV it also carries `kv_storage`). */
  readonly manifest: BundleManifest;
  /**
   * Every file of the manifest, except (loaded from KV) the ones published without them (`kv_storage.omitted`) and
   * the ones the reader did not ask for (`LoadOptions.files`).
   */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Epoch milliseconds when loading finished. */
  readonly loadedAt: number;
  readonly loadMs: number;
}

export interface LoadOptions {
  /** Check every file's sha256 (default true). Sizes are always checked. */
  readonly verifyHashes?: boolean;
  readonly now?: () => number;
  /** Which of the stored files to read (default: all): the front Worker leaves the item shards' files to the shards. */
  readonly files?: (path: string) => boolean;
}

/** The version `bundle/active` points at, or null when nothing was ever activated. */
export async function readActiveVersion(kv: BundleKvReader): Promise<string | null> {
  const text = await kv.getText(ACTIVE_KEY);
  if (text === null) return null;
  const problem = versionProblem(text);
  if (problem) throw new BundleError(`${ACTIVE_KEY} holds ${JSON.stringify(text.slice(0, 80))}, not a version`, [`a version ${problem}`]);
  return text;
}

/**
 * Loads one version: the stored manifest, then every file (and every chunk) in parallel, each checked for its exact
 * size and sha256. Any problem — a missing key, a short chunk, a hash mismatch — throws a BundleError listing all
 * of them; a partially loaded bundle never escapes.
 */
export async function loadBundle(kv: BundleKvReader, version: string, options: LoadOptions = {}): Promise<BundleFiles> {
  const now = options.now ?? Date.now;
  const started = now();
  const key = manifestKey(version);
  const text = await kv.getText(key);
  if (text === null) throw new BundleError(`bundle ${version} cannot be loaded`, [`manifest missing (no KV key ${key})`]);
  const manifest = parseStoredManifestText(text, key);
  if (manifest.version !== version) throw new BundleError(`bundle ${version} cannot be loaded`, [`${key} describes version ${manifest.version}`]);

  const problems: string[] = [];
  const files = new Map<string, Uint8Array>();
  const storage = manifest.kv_storage;
  const omitted = new Set(storage.omitted);
  const wanted = options.files ?? (() => true);
  const stored = Object.entries(manifest.files).filter(([path]) => !omitted.has(path) && wanted(path));
  await Promise.all(
    stored.map(async ([path, entry]) => {
      try {
        const chunkCount = storage.chunks[path] as number;
        const value = await readFileValues(kv, version, path, storedByteLength(storage, path, entry.bytes), chunkCount, storage.chunk_bytes);
        const bytes = Object.hasOwn(storage.gzip, path) ? await gunzipBytes(value).catch((error: unknown) => Promise.reject(new Error(`its stored gzip does not inflate (${(error as Error).message})`))) : value;
        if (bytes.byteLength !== entry.bytes) throw new Error(`${bytes.byteLength} bytes after gunzip, the manifest says ${entry.bytes}`);
        if (options.verifyHashes !== false) {
          const sha256 = await hashBytes(bytes);
          if (sha256 !== entry.sha256) throw new Error(`sha256 ${sha256} does not match the manifest's ${entry.sha256}`);
        }
        files.set(path, bytes);
      } catch (error) {
        problems.push(`${path}: ${(error as Error).message}`);
      }
    }),
  );
  if (problems.length > 0) throw new BundleError(`bundle ${version} cannot be loaded`, problems.sort());
  const loadedAt = now();
  // Map in manifest order, whatever order the reads finished in.
  const ordered = new Map(stored.map(([path]) => [path, files.get(path) as Uint8Array]));
  return { version, manifest, files: ordered, loadedAt, loadMs: loadedAt - started };
}

/**
 * A BundleFiles from files already in memory (a bundle directory read by a Node tool), verified the same way, so
 * offline tools can run the Worker's `decode` on exactly what the Worker would see.
 */
export async function bundleFromFiles(manifestValue: unknown, files: ReadonlyMap<string, Uint8Array>, options: LoadOptions = {}): Promise<BundleFiles> {
  const now = options.now ?? Date.now;
  const started = now();
  const manifest = parseManifest(manifestValue);
  const { problems } = await verifyBundleFiles(manifest, files);
  if (problems.length > 0) throw new BundleError(`bundle ${manifest.version} is corrupt`, problems);
  const ordered = new Map(Object.keys(manifest.files).map((path) => [path, files.get(path) as Uint8Array]));
  const loadedAt = now();
  return { version: manifest.version, manifest, files: ordered, loadedAt, loadMs: loadedAt - started };
}

/** Reads a file's value(s) straight into one buffer of the manifest's size; each chunk must be exactly its size. */
async function readFileValues(kv: BundleKvReader, version: string, path: string, byteLength: number, chunkCount: number, chunkBytes: number): Promise<Uint8Array> {
  const keys = fileValueKeys(version, path, chunkCount);
  if (keys.length === 1) {
    const bytes = await kv.getBytes(keys[0] as string);
    if (bytes === null) throw new Error(`missing (no KV key ${keys[0]})`);
    if (bytes.byteLength !== byteLength) throw new Error(`${bytes.byteLength} bytes in KV, the manifest says ${byteLength}`);
    return bytes;
  }
  const whole = new Uint8Array(byteLength);
  await Promise.all(
    keys.map(async (key, index) => {
      const chunk = await kv.getBytes(key);
      if (chunk === null) throw new Error(`chunk ${index + 1} of ${keys.length} missing (no KV key ${key})`);
      const expected = chunkByteLength(byteLength, chunkBytes, index);
      if (chunk.byteLength !== expected) throw new Error(`chunk ${index + 1} of ${keys.length} (${key}) has ${chunk.byteLength} bytes, expected ${expected}`);
      whole.set(chunk, index * chunkBytes);
    }),
  );
  return whole;
}

/** A file is stored as its gzip only when that is at most this share of its size: inflating costs cold-start time. */
const GZIP_WORTH_KEEPING = 0.9;

export interface PublishOptions {
  /** Largest value written (default and maximum: 25 MiB, the KV limit); tests pass small sizes to exercise chunking. */
  readonly chunkBytes?: number;
  /** Flip `bundle/active` to this version after uploading (default true). */
  readonly activate?: boolean;
  /** After publishing, delete all but the newest `keepVersions` versions (the active one is always kept). */
  readonly keepVersions?: number;
  /** Files of the bundle not to store in KV (serving never reads them); they must be files of the manifest. */
  readonly omit?: readonly string[];
  /** Store a file's gzip where it saves at least a tenth of the bytes (default true). */
  readonly compress?: boolean;
  /** Values written at the same time (default 4). */
  readonly concurrency?: number;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

export interface PublishReport {
  readonly version: string;
  /** "uploaded", or "already-published" when this version's manifest was in KV with identical files. */
  readonly upload: "uploaded" | "already-published";
  /** KV puts made: file values, manifest, versions index, pointer. */
  readonly valuesWritten: number;
  readonly bytesWritten: number;
  readonly previousActive: string | null;
  readonly activated: boolean;
  readonly pruned: readonly string[];
}

/**
 * Publishes a bundle: checks the manifest and every file (refusing a corrupt bundle before writing anything), writes
 * the files (chunked above `chunkBytes`), then the stored manifest, then the versions index, and only then
 * `bundle/active` — so a reader that sees the new pointer finds everything it points to. A version is immutable:
 * publishing different bytes under an existing version is refused.
 */
export async function publishBundle(
  kv: BundleKvWriter,
  manifestValue: unknown,
  files: ReadonlyMap<string, Uint8Array>,
  options: PublishOptions = {},
): Promise<PublishReport> {
  const log = options.log ?? (() => {});
  const chunkBytes = options.chunkBytes ?? KV_MAX_VALUE_BYTES;
  checkChunkBytes(chunkBytes);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency ${concurrency} must be a positive integer`);
  if (options.keepVersions !== undefined && (!Number.isInteger(options.keepVersions) || options.keepVersions < 1)) {
    throw new Error(`keepVersions ${options.keepVersions} must be a positive integer`);
  }

  const manifest = parseManifest(manifestValue);
  const { version } = manifest;
  const { problems } = await verifyBundleFiles(manifest, files);
  if (problems.length > 0) throw new BundleError(`bundle ${version} is corrupt; nothing was uploaded`, problems);

  const previousActive = await readActiveVersion(kv).catch(() => null);
  const existingText = await kv.getText(manifestKey(version));
  let upload: PublishReport["upload"] = "uploaded";
  let valuesWritten = 0;
  let bytesWritten = 0;
  if (existingText !== null) {
    const existing = parseStoredManifestText(existingText, manifestKey(version));
    const differences = fileDifferences(existing, manifest);
    if (differences.length > 0) {
      throw new BundleError(`version ${version} is already published with different files; give this bundle a new version`, differences);
    }
    upload = "already-published";
    log(`version ${version} is already in KV with identical files; not uploading again`);
  } else {
    const now = (options.now ?? (() => new Date()))();
    const omitted = [...new Set(options.omit ?? [])].sort();
    const unknown = omitted.filter((path) => !Object.hasOwn(manifest.files, path));
    if (unknown.length > 0) throw new BundleError(`bundle ${version}: cannot leave out files it does not have; nothing was uploaded`, unknown.map((path) => `${path}: not in the manifest`));
    const chunks: Record<string, number> = {};
    const gzip: Record<string, number> = {};
    const writes: { key: string; value: Uint8Array }[] = [];
    for (const [path] of Object.entries(manifest.files)) {
      if (omitted.includes(path)) continue;
      let value = files.get(path) as Uint8Array;
      if (options.compress !== false) {
        const compressed = await gzipBytes(value);
        if (compressed.byteLength <= value.byteLength * GZIP_WORTH_KEEPING) {
          value = compressed;
          gzip[path] = compressed.byteLength;
        }
      }
      chunks[path] = chunkCountFor(value.byteLength, chunkBytes);
      const keys = fileValueKeys(version, path, chunks[path]);
      splitIntoChunks(value, chunkBytes).forEach((chunk, index) => writes.push({ key: keys[index] as string, value: chunk }));
    }
    const totalBytes = writes.reduce((sum, write) => sum + write.value.byteLength, 0);
    log(`uploading ${writes.length} values (${formatBytes(totalBytes)}) for ${Object.keys(chunks).length} files (${Object.keys(gzip).length} as gzip; ${omitted.length} left out: ${omitted.join(", ") || "none"})`);
    await runLimited(writes, concurrency, async ({ key, value }) => {
      await kv.put(key, value);
      valuesWritten++;
      bytesWritten += value.byteLength;
    });
    const stored: StoredManifest = { ...manifest, kv_storage: { layout: KV_STORAGE_LAYOUT, chunk_bytes: chunkBytes, chunks, published_at: now.toISOString(), gzip, omitted } };
    const storedText = JSON.stringify(stored, null, 2);
    parseStoredManifestText(storedText, manifestKey(version)); // what readers will parse; fail here, not in the Worker
    await kv.put(manifestKey(version), storedText);
    valuesWritten++;
    bytesWritten += new TextEncoder().encode(storedText).byteLength;
    const index = await readVersionsIndex(kv);
    if (!index.versions.some((entry) => entry.version === version)) {
      index.versions.push({ version, published_at: now.toISOString() });
      await kv.put(VERSIONS_KEY, JSON.stringify(index));
      valuesWritten++;
    }
  }

  const activate = options.activate ?? true;
  if (activate && previousActive !== version) {
    await kv.put(ACTIVE_KEY, version);
    valuesWritten++;
    log(`${ACTIVE_KEY}: ${previousActive ?? "(none)"} -> ${version}`);
  }
  const activeNow = activate ? version : previousActive;
  const pruned = options.keepVersions === undefined ? [] : await pruneVersions(kv, options.keepVersions, [activeNow, version].filter((v): v is string => v !== null), log);
  return { version, upload, valuesWritten, bytesWritten, previousActive, activated: activate, pruned };
}

/** The published versions, oldest first; an absent index is an empty one. */
export async function readVersionsIndex(kv: BundleKvReader): Promise<VersionsIndex> {
  const text = await kv.getText(VERSIONS_KEY);
  if (text === null) return { versions: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BundleError(`${VERSIONS_KEY} is not valid JSON`, [(error as Error).message]);
  }
  const parsed = versionsIndexSchema.safeParse(value);
  if (!parsed.success) throw new BundleError(`${VERSIONS_KEY} is not a valid versions index`, parsed.error.issues.map((issue) => issue.message));
  return parsed.data;
}

/**
 * Deletes every version but the `keep` newest and those in `protect` (the active one, always): first it drops them
 * from the index, then each one's manifest (so no reader starts loading it), then its files.
 */
export async function pruneVersions(kv: BundleKvWriter, keep: number, protect: readonly string[], log: (line: string) => void = () => {}): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep ${keep} must be a positive integer`);
  const active = await readActiveVersion(kv).catch(() => null);
  const protectedVersions = new Set([...protect, ...(active === null ? [] : [active])]);
  const index = await readVersionsIndex(kv);
  const newest = new Set(index.versions.slice(-keep).map((entry) => entry.version));
  const doomed = index.versions.filter((entry) => !newest.has(entry.version) && !protectedVersions.has(entry.version)).map((entry) => entry.version);
  if (doomed.length === 0) return [];
  await kv.put(VERSIONS_KEY, JSON.stringify({ versions: index.versions.filter((entry) => !doomed.includes(entry.version)) }));
  for (const version of doomed) {
    const text = await kv.getText(manifestKey(version));
    await kv.delete(manifestKey(version));
    if (text !== null) {
      const stored = parseStoredManifestText(text, manifestKey(version));
      const keys = Object.keys(stored.files).flatMap((path) => fileValueKeys(version, path, stored.kv_storage.chunks[path] as number));
      for (const key of keys) await kv.delete(key);
    }
    log(`pruned version ${version}`);
  }
  return doomed;
}

function fileDifferences(existing: StoredManifest, incoming: BundleManifest): string[] {
  const differences: string[] = [];
  const paths = new Set([...Object.keys(existing.files), ...Object.keys(incoming.files)]);
  for (const path of [...paths].sort()) {
    const before = Object.hasOwn(existing.files, path) ? existing.files[path] : undefined;
    const after = Object.hasOwn(incoming.files, path) ? incoming.files[path] : undefined;
    if (before === undefined) differences.push(`${path}: new file`);
    else if (after === undefined) differences.push(`${path}: no longer in the bundle`);
    else if (before.sha256 !== after.sha256 || before.bytes !== after.bytes) differences.push(`${path}: different contents`);
  }
  // The rest of the manifest (feature spec, serving config, …) is part of the bundle too.
  const { files: _existingFiles, kv_storage: _storage, ...existingRest } = existing;
  const { files: _incomingFiles, ...incomingRest } = incoming;
  const fields = new Set([...Object.keys(existingRest), ...Object.keys(incomingRest)]);
  for (const field of [...fields].sort()) {
    if (canonicalJson((existingRest as Record<string, unknown>)[field]) !== canonicalJson((incomingRest as Record<string, unknown>)[field])) {
      differences.push(`manifest field ${field}: different value`);
    }
  }
  return differences;
}

/** JSON with object keys sorted, so two equal values always give the same text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)))
      : item,
  ) ?? "undefined";
}

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
