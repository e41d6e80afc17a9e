import { readFile, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { BundleError } from "../../core/bundle/errors";
import { parseManifestText, type BundleManifest } from "../../core/bundle/manifest";
import { bundleFromFiles, type BundleFiles } from "../../core/bundle/store";

export interface BundleDirectory {
  readonly directory: string;
  readonly manifest: BundleManifest;
  /** The manifest's files that exist on disk (a missing one is simply absent; verification reports it). */
  readonly files: Map<string, Uint8Array>;
  /** Files on disk that the manifest does not list (not published). */
  readonly unlisted: string[];
}

/** Reads `manifest.json` (validated) and every file it lists; does not check sizes or hashes (publishing does). */
export async function readBundleDirectory(directory: string): Promise<BundleDirectory> {
  const manifestPath = join(directory, "manifest.json");
  let text: string;
  try {
    text = await readFile(manifestPath, "utf8");
  } catch (error) {
    throw new BundleError(`${manifestPath}: cannot read the bundle manifest`, [(error as NodeJS.ErrnoException).code ?? (error as Error).message]);
  }
  const manifest = parseManifestText(text, manifestPath);
  const files = new Map<string, Uint8Array>();
  await Promise.all(
    Object.keys(manifest.files).map(async (path) => {
      try {
        const buffer = await readFile(join(directory, ...path.split("/")));
        files.set(path, new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }),
  );
  const onDisk = await listFiles(directory);
  const unlisted = onDisk.filter((path) => path !== "manifest.json" && !Object.hasOwn(manifest.files, path));
  return { directory, manifest, files, unlisted };
}

/** A bundle directory as the Worker would see it after loading it from KV (sizes and hashes verified). */
export async function loadBundleDirectory(directory: string): Promise<BundleFiles> {
  const { manifest, files } = await readBundleDirectory(directory);
  return bundleFromFiles(manifest, files);
}

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}
