import { createHash } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** The code a model bundle depends on: a bundle built from other code is rebuilt by the tools that check it. */
export const BUNDLE_SOURCES = ["core", "models", "scripts/pipeline.ts", "scripts/pipeline", "scripts/ann/native.ts", "package-lock.json"] as const;

/** A short hash of the TypeScript and JSON under `inputs` (paths from the repository root) and of `salt`. */
export async function sourceHash(inputs: readonly string[] = BUNDLE_SOURCES, salt = ""): Promise<string> {
  const hash = createHash("sha256");
  hash.update(salt);
  const visit = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) await visit(join(path, entry));
    } else if (/\.(ts|json)$/.test(path)) {
      hash.update(path);
      hash.update(await readFile(path));
    }
  };
  for (const input of inputs) await visit(input);
  return hash.digest("hex").slice(0, 16);
}
