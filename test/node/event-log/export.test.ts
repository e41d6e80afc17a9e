// npm run events:export's pieces: the local R2 that wrangler dev persists (opened with wrangler's Miniflare on a
// temporary persistence root) copied to a directory in the layout the fine-tune reads.
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventLogObjects, parseEventLogCsv } from "../../../core/event-log/format";
import { exportEventLog } from "../../../scripts/event-log/export";
import { openLocalR2 } from "../../../scripts/event-log/local-r2";

const scratch = await mkdtemp(join(tmpdir(), "event-log-export-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("events:export", () => {
  it("copies every log object of the local bucket to <out>/<key>, skips other keys, and rewrites nothing the second time", async () => {
    const persistTo = join(scratch, "state");
    const objects = eventLogObjects("group_5", 1, 3, [
      { event_id: "a", user_id: "u1", item_id: "v1", type: "click", ts: Date.UTC(2022, 4, 4, 10, 59), surface: 1 },
      { event_id: "b,1", user_id: "u2", item_id: "v2", type: "impression", ts: Date.UTC(2022, 4, 4, 11, 0), surface: 0 },
      { event_id: "c", user_id: "u1", item_id: "v2", type: "like", ts: Date.UTC(2022, 4, 4, 11, 5), surface: 1 },
    ]);
    // written and read by two Miniflare instances on the same root, as wrangler dev and the export are
    const writer = await openLocalR2({ persistTo });
    try {
      for (const object of objects) await writer.bucket.put(object.key, object.body);
      await writer.bucket.put("events/v1/hour=2022050410/notes.txt", "not a log object");
    } finally {
      await writer.dispose();
    }
    const out = join(scratch, "out");
    const reader = await openLocalR2({ persistTo });
    try {
      expect(reader.bucketName).toBe("explore-edge-ranker-events");
      expect(await exportEventLog(reader.bucket, out)).toMatchObject({ objects: 2, unchanged: 0 });
      for (const object of objects) expect(await readFile(join(out, ...object.key.split("/")), "utf8")).toBe(object.body);
      expect(parseEventLogCsv("x", await readFile(join(out, "events/v1/hour=2022050411/group_5-000000000001-000000000003.csv"), "utf8")).map((e) => e.event_id)).toEqual(["b,1", "c"]);
      await expect(readFile(join(out, "events/v1/hour=2022050410/notes.txt"))).rejects.toThrow(/ENOENT/);
      // a damaged copy is repaired, the intact one left alone
      const damaged = join(out, ...(objects[0] as { key: string }).key.split("/"));
      await mkdir(join(damaged, ".."), { recursive: true });
      await writeFile(damaged, "truncated");
      expect(await exportEventLog(reader.bucket, out)).toMatchObject({ objects: 2, unchanged: 1 });
      expect(await readFile(damaged, "utf8")).toBe((objects[0] as { body: string }).body);
    } finally {
      await reader.dispose();
    }
  });
});
