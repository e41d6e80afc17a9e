import { describe, expect, it } from "vitest";
import {
  KV_MAX_VALUE_BYTES,
  chunkByteLength,
  chunkCountFor,
  fileKey,
  fileValueKeys,
  manifestKey,
  parseStoredManifestText,
  splitIntoChunks,
} from "../../../core/bundle/kv-layout";
import { BUNDLE_FORMAT } from "../../../core/bundle/manifest";
import { patternBytes } from "../../../core/bundle/sample";

describe("KV layout", () => {
  it("names keys under the version prefix", () => {
    expect(manifestKey("v1")).toBe("bundle/v1/manifest.json");
    expect(fileKey("v1", "models/mtml.onnx")).toBe("bundle/v1/files/models/mtml.onnx");
    expect(fileValueKeys("v1", "a.bin", 1)).toEqual(["bundle/v1/files/a.bin"]);
    expect(fileValueKeys("v1", "a.bin", 3)).toEqual(["bundle/v1/files/a.bin#0", "bundle/v1/files/a.bin#1", "bundle/v1/files/a.bin#2"]);
    expect(() => manifestKey("a/b")).toThrow(/bad bundle version "a\/b"/);
    expect(() => fileKey("v1", "x#0")).toThrow(/contains #/);
    expect(() => fileKey("v1", `${"d/".repeat(150)}f`)).toThrow(/longer than 300 characters/);
    expect(() => fileKey("v1", "é".repeat(250))).toThrow(/KV key too long[\s\S]*is 516 bytes, KV allows 512/);
  });

  it("counts chunks at the boundaries", () => {
    expect(chunkCountFor(0, 10)).toBe(1);
    expect(chunkCountFor(1, 10)).toBe(1);
    expect(chunkCountFor(10, 10)).toBe(1);
    expect(chunkCountFor(11, 10)).toBe(2);
    expect(chunkCountFor(KV_MAX_VALUE_BYTES, KV_MAX_VALUE_BYTES)).toBe(1);
    expect(chunkCountFor(KV_MAX_VALUE_BYTES + 1, KV_MAX_VALUE_BYTES)).toBe(2);
    expect(() => chunkCountFor(5, 0)).toThrow(/chunk size 0 must be an integer in 1\.\.26214400/);
    expect(() => chunkCountFor(5, KV_MAX_VALUE_BYTES + 1)).toThrow(/the KV value limit/);
    expect([0, 1, 2].map((index) => chunkByteLength(25, 10, index))).toEqual([10, 10, 5]);
  });

  it("splits into views that concatenate back to the input", () => {
    const bytes = patternBytes(25, 3);
    const chunks = splitIntoChunks(bytes, 10);
    expect(chunks.map((chunk) => chunk.byteLength)).toEqual([10, 10, 5]);
    expect(chunks.every((chunk) => chunk.buffer === bytes.buffer)).toBe(true);
    expect(Uint8Array.from(chunks.flatMap((chunk) => Array.from(chunk)))).toEqual(bytes);
    expect(splitIntoChunks(new Uint8Array(0), 10).map((chunk) => chunk.byteLength)).toEqual([0]);
  });

  it("checks a stored manifest's chunk counts against the file sizes", () => {
    const stored = (chunks: Record<string, number>) =>
      JSON.stringify({
        format: BUNDLE_FORMAT,
        version: "v1",
        created_at: "2026-01-01T00:00:00Z",
        files: { "a.bin": { bytes: 25, sha256: "0".repeat(64) } },
        kv_storage: { layout: 1, chunk_bytes: 10, chunks, published_at: "2026-01-01T00:00:00Z" },
      });
    expect(parseStoredManifestText(stored({ "a.bin": 3 }), "m").kv_storage.chunks).toEqual({ "a.bin": 3 });
    expect(() => parseStoredManifestText(stored({ "a.bin": 2 }), "m")).toThrow(/kv_storage.chunks.a.bin: 2 chunks, but 25 bytes in 10-byte chunks take 3/);
    expect(() => parseStoredManifestText(stored({}), "m")).toThrow(/no chunk count for this file/);
    expect(() => parseStoredManifestText(stored({ "a.bin": 3, "b.bin": 1 }), "m")).toThrow(/chunk count for a file the manifest does not list/);
  });

  it("checks layout 2's gzip sizes and left-out files against the manifest", () => {
    const stored = (storage: Record<string, unknown>) =>
      JSON.stringify({
        format: BUNDLE_FORMAT,
        version: "v1",
        created_at: "2026-01-01T00:00:00Z",
        files: { "a.bin": { bytes: 25, sha256: "0".repeat(64) }, "b.bin": { bytes: 5, sha256: "0".repeat(64) } },
        kv_storage: { layout: 2, chunk_bytes: 10, published_at: "2026-01-01T00:00:00Z", ...storage },
      });
    // a.bin stored as an 8-byte gzip takes one chunk; b.bin is left out
    expect(parseStoredManifestText(stored({ chunks: { "a.bin": 1 }, gzip: { "a.bin": 8 }, omitted: ["b.bin"] }), "m").kv_storage).toMatchObject({ gzip: { "a.bin": 8 }, omitted: ["b.bin"] });
    expect(() => parseStoredManifestText(stored({ chunks: { "a.bin": 3 }, gzip: { "a.bin": 8 }, omitted: ["b.bin"] }), "m")).toThrow(/3 chunks, but 8 bytes in 10-byte chunks take 1/);
    expect(() => parseStoredManifestText(stored({ chunks: { "a.bin": 3, "b.bin": 1 }, omitted: ["b.bin"] }), "m")).toThrow(/chunk count for a file left out of KV/);
    expect(() => parseStoredManifestText(stored({ chunks: { "a.bin": 3, "b.bin": 1 }, gzip: { "c.bin": 3 } }), "m")).toThrow(/kv_storage.c.bin: a file the manifest does not list/);
    expect(() => parseStoredManifestText(stored({ layout: 1, chunks: { "a.bin": 1, "b.bin": 1 }, gzip: { "a.bin": 8 } }), "m")).toThrow(/layout 1 stores every file as it is/);
  });
});
