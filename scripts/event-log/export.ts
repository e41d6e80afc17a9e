import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { EVENT_LOG_PREFIX, parseEventLogKey } from "../../core/event-log/format";
import type { LogBucket } from "./local-r2";

export interface ExportResult {
  readonly objects: number;
  /** Objects already in the directory with the same bytes (a log object's key names its content for ever). */
  readonly unchanged: number;
  readonly bytes: number;
}

/**
 * Copies every log object under `events/v1/` to `<outDir>/<key>`, the layout `npm run finetune -- --events <dir>`
 * reads. Keys that are not log objects are skipped. Copying again writes only what is new.
 */
export async function exportEventLog(bucket: LogBucket, outDir: string): Promise<ExportResult> {
  let objects = 0;
  let unchanged = 0;
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: EVENT_LOG_PREFIX, ...(cursor === undefined ? {} : { cursor }) });
    for (const { key } of page.objects) {
      if (parseEventLogKey(key) === null) continue;
      const text = await bucket.getText(key);
      if (text === null) continue; // deleted since the listing
      const path = join(outDir, ...key.split("/"));
      objects++;
      bytes += Buffer.byteLength(text);
      if ((await readFile(path, "utf8").catch(() => null)) === text) {
        unchanged++;
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return { objects, unchanged, bytes };
}
