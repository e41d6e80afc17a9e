import { describe, expect, it } from "vitest";
import { BundleError } from "../../../core/bundle/errors";
import { packArrays } from "../../../core/bundle/packed";
import { UNKNOWN, buildItemTable, isKnown, type ItemTable } from "../../../core/data";
import { decodeCatalogue, encodeCatalogue } from "../../../core/serving/assets";

const BEFORE_1970 = Date.UTC(1931, 1, 14);

function catalogue(): ItemTable {
  return buildItemTable([
    { id: "old-film", author: "x", tags: [], createdAt: BEFORE_1970, durationMs: 4_500_000, type: "video", integrity: 1 },
    { id: "just-before-epoch", author: "x", tags: ["t"], createdAt: -1, durationMs: 0, type: "photo", integrity: 1 },
    { id: "unknown", author: "y", tags: [], createdAt: UNKNOWN, durationMs: UNKNOWN, type: "photo", integrity: 0.5 },
  ]);
}

const embeddingRows = { itemEmbeddingRow: Int32Array.from([1, 2, 0]), authorEmbeddingRow: Int32Array.from([1, 0]) };

/** The catalogue as bundles wrote it before times could be negative: no `unknown` marker, -1 for unknown. */
function legacyCatalogue(createdAt: number[], durationMs: number[]): Uint8Array {
  const items = catalogue();
  return packArrays(
    {
      author: items.author,
      tagOffsets: items.tagOffsets,
      tagIds: items.tagIds,
      createdAt: Float64Array.from(createdAt),
      durationMs: Float64Array.from(durationMs),
      type: items.type,
      integrity: items.integrity,
      ...embeddingRows,
    },
    { ids: [...items.ids.ids()], authors: [...items.authors.ids()], tags: [...items.tags.ids()], types: [...items.types.ids()] },
  );
}

describe("catalogue times in a bundle", () => {
  it("round-trip times before 1970 and unknown (NaN) times and durations", () => {
    const { items } = decodeCatalogue(encodeCatalogue({ items: catalogue(), ...embeddingRows }));
    expect(Array.from(items.createdAt)).toEqual([BEFORE_1970, -1, Number.NaN]);
    expect(Array.from(items.durationMs)).toEqual([4_500_000, 0, Number.NaN]);
    expect(Array.from(items.createdAt, isKnown)).toEqual([true, true, false]);
  });

  it("read an older bundle's -1 as unknown", () => {
    const { items } = decodeCatalogue(legacyCatalogue([1_650_000_000_000, -1, 0], [-1, 15_000, -1]));
    expect(Array.from(items.createdAt)).toEqual([1_650_000_000_000, Number.NaN, 0]);
    expect(Array.from(items.durationMs)).toEqual([Number.NaN, 15_000, Number.NaN]);
  });

  it("refuse a catalogue whose times or durations no loader could have written", () => {
    const items = catalogue();
    const bad = { ...items, createdAt: Float64Array.from([Number.POSITIVE_INFINITY, 0, 9e15]), durationMs: Float64Array.from([-5, 0, UNKNOWN]) };
    const error = (() => {
      try {
        decodeCatalogue(encodeCatalogue({ items: bad, ...embeddingRows }));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).reasons).toEqual([
      "tables/catalogue.bin is inconsistent: item 0 has createdAt Infinity, outside the range of a Date",
      "tables/catalogue.bin is inconsistent: item 2 has createdAt 9000000000000000, outside the range of a Date",
      "tables/catalogue.bin is inconsistent: item 0 has durationMs -5, not a non-negative number",
    ]);
  });

  it("refuse an unknown-value marker it does not know", () => {
    const items = catalogue();
    const bytes = packArrays(
      { author: items.author, tagOffsets: items.tagOffsets, tagIds: items.tagIds, createdAt: items.createdAt, durationMs: items.durationMs, type: items.type, integrity: items.integrity, ...embeddingRows },
      { ids: [...items.ids.ids()], authors: [...items.authors.ids()], tags: [...items.tags.ids()], types: [...items.types.ids()], unknown: "-2" },
    );
    expect(() => decodeCatalogue(bytes)).toThrow(/catalogue\.bin has malformed metadata:\s+- unknown must be "NaN", found "-2"/);
  });
});
