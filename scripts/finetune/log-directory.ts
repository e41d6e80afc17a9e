/** A directory that mirrors the event log's R2 keys (`<dir>/events/v1/hour=YYYYMMDDHH/<writer>-<fromSeq>-<toSeq>.csv`). */
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { logKeyHourStart, type LogObjectText } from "../../core/event-log/impressions";

/** Every log object under `directory` (files that are not log objects are skipped). */
export async function readLogDirectory(directory: string): Promise<LogObjectText[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  const keys = entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .filter((key) => logKeyHourStart(key) !== undefined)
    .sort();
  return Promise.all(keys.map(async (key) => ({ key, text: await readFile(join(directory, ...key.split("/")), "utf8") })));
}

export async function writeLogObject(directory: string, object: LogObjectText): Promise<void> {
  const path = join(directory, ...object.key.split("/"));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, object.text);
}
