import { beforeAll, describe, expect, it } from "vitest";
import { itemTags } from "../../../core/data/dataset";
import { extendCatalogue, type DeltaEntry } from "../../../core/live-items/catalogue";
import type { LiveItemRecord } from "../../../core/live-items/record";
import { BundleTables } from "../../../core/serving/bundle-tables";
import { loadBundleDirectory } from "../../../scripts/lib/kv-bundle-directory";
import { fixtureBundleDirectory } from "../../support/fixture-bundle";

let tables: BundleTables;

beforeAll(async () => {
  const { bundle } = await fixtureBundleDirectory();
  const files = await loadBundleDirectory(bundle);
  tables = BundleTables.decode(files.manifest, files.files);
}, 600_000);

const record = (itemId: string, overrides: Partial<LiveItemRecord> = {}): LiveItemRecord => ({
  item_id: itemId,
  author_id: tables.items.authors.id(0),
  tags: [],
  created_at: tables.asOfMs - 1000,
  duration: 5000,
  type: tables.items.types.id(0),
  integrity: 0.9,
  ...overrides,
});
const upserted = (value: LiveItemRecord, takenDown = false): DeltaEntry => ({ item_id: value.item_id, record: value, taken_down: takenDown });

describe("extendCatalogue", () => {
  it("appends new ids after the bundle's rows in the delta's order, with the rare embedding row and empty counters, and leaves the bundle as it was", () => {
    const size = tables.items.ids.size;
    const knownTag = tables.items.tags.id(0);
    const extended = extendCatalogue(tables, [upserted(record("new-a", { tags: [knownTag, "no-such-tag"] })), upserted(record("new-b", { type: "hologram", created_at: null, duration: null }))]);
    expect(extended.firstLiveRow).toBe(size);
    expect(extended.items.ids.get("new-a")).toBe(size);
    expect(extended.items.ids.get("new-b")).toBe(size + 1);
    expect(tables.items.ids.size).toBe(size);
    expect(tables.items.types.has("hologram")).toBe(false);
    // a tag the bundle does not know has no row to carry it
    expect(Array.from(itemTags(extended.items, size), (tag) => extended.items.tags.id(tag))).toEqual([knownTag]);
    expect(Array.from(itemTags(extended.items, size + 1))).toEqual([]);
    expect(extended.items.types.id(extended.items.type[size + 1] as number)).toBe("hologram");
    expect(Number.isNaN(extended.items.createdAt[size + 1] as number)).toBe(true);
    expect(extended.itemEmbeddingRow[size]).toBe(0);
    expect(extended.itemCounters.size).toBe(size + 2);
    expect(extended.itemCounters.impressions[size]).toBe(0);
    // the bundle's rows keep every value
    expect(Array.from(extended.items.integrity.subarray(0, size))).toEqual(Array.from(tables.items.integrity));
    expect(Array.from(itemTags(extended.items, size - 1))).toEqual(Array.from(itemTags(tables.items, size - 1)));
  });

  it("keeps an upserted bundle id on its row with the upsert's integrity, maps takedowns to rows, and leaves out an author the bundle does not know", () => {
    const bundleId = tables.items.ids.id(3);
    const author = tables.items.authors.id(tables.items.author[3] as number);
    const extended = extendCatalogue(tables, [
      upserted(record(bundleId, { author_id: author, integrity: 0.01 })),
      upserted(record("live-down"), true),
      { item_id: tables.items.ids.id(5), record: null, taken_down: true },
      upserted(record("orphan", { author_id: "no-such-author" })),
    ]);
    expect(extended.items.ids.size).toBe(tables.items.ids.size + 1);
    expect(extended.items.integrity[3]).toBeCloseTo(0.01);
    expect([...extended.takenDown].sort((a, b) => a - b)).toEqual([5, tables.items.ids.size]);
    expect(extended.takenDownIds).toEqual(new Set(["live-down", tables.items.ids.id(5)]));
    expect(extended.skipped).toEqual([{ item_id: "orphan", reason: expect.stringContaining("no-such-author") }]);
  });
});
