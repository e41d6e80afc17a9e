import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DataError } from "../../core/data/errors";
import type { DataSource } from "../../core/data/source";

/** A data directory on disk; `name.csv.gz` is served as `name.csv`, gunzipped. */
export class DirectoryDataSource implements DataSource {
  constructor(readonly location: string) {}

  async list(): Promise<readonly string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.location);
    } catch (error) {
      throw new DataError(this.location, undefined, undefined, `cannot read the data directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return [...new Set(entries.map((entry) => entry.replace(/\.gz$/, "")))].sort();
  }

  async read(name: string): Promise<{ file: string; text: string }> {
    const plain = join(this.location, name);
    try {
      return { file: plain, text: await readFile(plain, "utf8") };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const gzipped = `${plain}.gz`;
    let bytes: Buffer;
    try {
      bytes = await readFile(gzipped);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new DataError(plain, undefined, undefined, `missing file (also looked for ${name}.gz)`);
      throw error;
    }
    try {
      return { file: gzipped, text: gunzipSync(bytes).toString("utf8") };
    } catch (error) {
      throw new DataError(gzipped, undefined, undefined, `not a valid gzip file (${(error as Error).message})`);
    }
  }
}
