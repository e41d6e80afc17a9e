import { describe, expect, it } from "vitest";
import { BundleError } from "../../../core/bundle/errors";
import { MemoryKv } from "../../../core/bundle/kv";
import { ACTIVE_KEY, KV_MAX_VALUE_BYTES, VERSIONS_KEY, manifestKey, type StoredManifest } from "../../../core/bundle/kv-layout";
import { packArrays, unpackArrays } from "../../../core/bundle/packed";
import { patternBytes, sampleBundle } from "../../../core/bundle/sample";
import { bundleFromFiles, loadBundle, publishBundle, readActiveVersion, readVersionsIndex } from "../../../core/bundle/store";

async function bundle(version: string, seed = 1) {
  return sampleBundle(
    version,
    {
      "models/mtml.onnx": patternBytes(1000, seed),
      "tables/items.bin": packArrays({ author: new Int32Array([4, 5, 6]), embedding: new Float32Array(48).fill(seed) }, { dims: 16 }),
      "lists/popular.json": JSON.stringify([3, 1, 2]),
      "empty.txt": "",
    },
    { feature_spec: { seed } },
  );
}

async function reasonsOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BundleError);
    return (error as BundleError).reasons.join("\n");
  }
  throw new Error("expected a BundleError");
}

/** A file gzip cannot shrink (seeded noise) and one it shrinks to a fraction (a repeated pattern). */
function noise(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

describe("KV layout 2: gzip and files left out", () => {
  async function compressible() {
    return sampleBundle("v2", {
      "tables/repetitive.bin": new Uint8Array(5000).map((_, i) => i % 7),
      "models/noise.onnx": noise(2000, 3),
      "models/offline-only.onnx": noise(800, 4),
      "empty.txt": "",
    });
  }

  it("stores a file's gzip where it saves a tenth, cuts chunks from the gzip, and loads the original bytes", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await compressible();
    await publishBundle(kv, manifest, files, { chunkBytes: 100 });
    const loaded = await loadBundle(kv, "v2");
    const storage = (loaded.manifest as unknown as StoredManifest).kv_storage;
    expect(storage.layout).toBe(2);
    expect(Object.keys(storage.gzip)).toEqual(["tables/repetitive.bin"]);
    const gzipBytes = storage.gzip["tables/repetitive.bin"] as number;
    expect(gzipBytes).toBeLessThan(500);
    expect(storage.chunks["tables/repetitive.bin"]).toBe(Math.ceil(gzipBytes / 100));
    expect(storage.chunks["models/noise.onnx"]).toBe(20);
    const storedValues = kv.keys("bundle/v2/files/tables/repetitive.bin").length;
    expect(storedValues).toBe(storage.chunks["tables/repetitive.bin"]);
    for (const [path, bytes] of files) expect(loaded.files.get(path)).toEqual(bytes);
  });

  it("leaves out the files it is told to: no values, listed as omitted, absent from the loaded files", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await compressible();
    const report = await publishBundle(kv, manifest, files, { omit: ["models/offline-only.onnx"] });
    expect(kv.keys("bundle/v2/files/models/offline-only.onnx")).toEqual([]);
    const loaded = await loadBundle(kv, "v2");
    expect((loaded.manifest as unknown as StoredManifest).kv_storage.omitted).toEqual(["models/offline-only.onnx"]);
    expect(loaded.manifest.files["models/offline-only.onnx"]).toBeDefined();
    expect([...loaded.files.keys()]).toEqual(Object.keys(manifest.files).filter((path) => path !== "models/offline-only.onnx"));
    expect(report.bytesWritten).toBeLessThan([...files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0));
    await expect(publishBundle(new MemoryKv(), manifest, files, { omit: ["models/nope.onnx"] })).rejects.toThrow(/cannot leave out files it does not have/);
  });

  it("names the file whose stored gzip is corrupt or inflates to the wrong size", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await compressible();
    await publishBundle(kv, manifest, files);
    const key = "bundle/v2/files/tables/repetitive.bin";
    const stored = (await kv.getBytes(key)) as Uint8Array;
    const broken = stored.slice();
    broken[broken.length - 6] = (broken[broken.length - 6] as number) ^ 0xff; // the gzip trailer's CRC
    await kv.put(key, broken);
    expect(await reasonsOf(loadBundle(kv, "v2"))).toMatch(/tables\/repetitive.bin: its stored gzip does not inflate/);
  });

  it("still loads a layout-1 bundle (every file stored as it is), published before layout 2", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await compressible();
    await publishBundle(kv, manifest, files, { compress: false });
    const text = (await kv.getText(manifestKey("v2"))) as string;
    const { gzip: _gzip, omitted: _omitted, ...storage } = (JSON.parse(text) as { kv_storage: Record<string, unknown> }).kv_storage;
    await kv.put(manifestKey("v2"), JSON.stringify({ ...JSON.parse(text), kv_storage: { ...storage, layout: 1 } }));
    const loaded = await loadBundle(kv, "v2");
    for (const [path, bytes] of files) expect(loaded.files.get(path)).toEqual(bytes);
  });
});

describe("publishBundle / loadBundle", () => {
  it("round-trips a bundle through KV, chunking files larger than the chunk size", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await bundle("v1");
    // stored as they are (no gzip), so the chunks are cut from the files themselves
    const report = await publishBundle(kv, manifest, files, { chunkBytes: 300, compress: false, now: () => new Date("2026-05-04T00:00:00Z") });
    expect(report).toMatchObject({ version: "v1", upload: "uploaded", previousActive: null, activated: true, pruned: [] });
    // 1000 bytes in 300-byte chunks -> 4 values; items.bin (>300 bytes) chunked too; json and empty file whole.
    expect(kv.keys("bundle/v1/files/models/")).toEqual(["bundle/v1/files/models/mtml.onnx#0", "bundle/v1/files/models/mtml.onnx#1", "bundle/v1/files/models/mtml.onnx#2", "bundle/v1/files/models/mtml.onnx#3"]);
    expect(kv.keys("bundle/v1/files/lists/")).toEqual(["bundle/v1/files/lists/popular.json"]);
    expect(kv.keys("bundle/v1/files/empty.txt")).toEqual(["bundle/v1/files/empty.txt"]);
    expect(await readActiveVersion(kv)).toBe("v1");

    const loaded = await loadBundle(kv, "v1");
    expect(loaded.version).toBe("v1");
    expect([...loaded.files.keys()]).toEqual(Object.keys(manifest.files));
    for (const [path, bytes] of files) expect(loaded.files.get(path)).toEqual(bytes);
    expect(loaded.manifest.feature_spec).toEqual({ seed: 1 });
    expect(loaded.manifest.kv_storage).toMatchObject({ chunk_bytes: 300, chunks: { "models/mtml.onnx": 4, "empty.txt": 1 }, published_at: "2026-05-04T00:00:00.000Z" });
    const table = unpackArrays(loaded.files.get("tables/items.bin") as Uint8Array);
    expect(table.zeroCopy).toBe(true); // reassembled and whole values both start 8-aligned
    expect(Array.from(table.arrays.author as Int32Array)).toEqual([4, 5, 6]);
  });

  it("writes every file, then the manifest, then the versions index, and the active pointer last", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await bundle("v1");
    await publishBundle(kv, manifest, files, { chunkBytes: 300, concurrency: 3, compress: false });
    const puts = kv.log.filter((entry) => entry.op === "put").map((entry) => entry.key);
    expect(puts.slice(-3)).toEqual([manifestKey("v1"), VERSIONS_KEY, ACTIVE_KEY]);
    expect(puts.slice(0, -3).every((key) => key.startsWith("bundle/v1/files/"))).toBe(true);
    expect(puts.length - 3).toBe(kv.keys("bundle/v1/files/").length);
  });

  it("refuses a corrupt bundle before writing anything", async () => {
    const kv = new MemoryKv();
    const { manifest, files } = await bundle("v1");
    const corrupt = new Map(files);
    const flipped = (files.get("models/mtml.onnx") as Uint8Array).slice();
    flipped[500] = (flipped[500] as number) ^ 0x10;
    corrupt.set("models/mtml.onnx", flipped);
    corrupt.delete("lists/popular.json");
    const reasons = await reasonsOf(publishBundle(kv, manifest, corrupt));
    expect(reasons).toMatch(/bundle v1 is corrupt; nothing was uploaded: lists\/popular.json: missing/);
    expect(reasons).toMatch(/models\/mtml.onnx: sha256 [0-9a-f]+ does not match/);
    expect(kv.log.filter((entry) => entry.op === "put")).toEqual([]);
    await expect(publishBundle(kv, { ...manifest, format: "x" }, files)).rejects.toThrow(/not a valid bundle manifest[\s\S]*format/);
  });

  it("is idempotent for the same bytes and refuses different bytes under a published version", async () => {
    const kv = new MemoryKv();
    const first = await bundle("v1", 1);
    await publishBundle(kv, first.manifest, first.files);
    const putsBefore = kv.log.filter((entry) => entry.op === "put").length;
    const again = await publishBundle(kv, first.manifest, first.files);
    expect(again).toMatchObject({ upload: "already-published", valuesWritten: 0, previousActive: "v1" });
    expect(kv.log.filter((entry) => entry.op === "put").length).toBe(putsBefore); // not even the pointer

    const different = await bundle("v1", 2);
    const reasons = await reasonsOf(publishBundle(kv, different.manifest, different.files));
    expect(reasons).toMatch(/version v1 is already published with different files; give this bundle a new version: models\/mtml.onnx: different contents/);
    expect(reasons).toMatch(/manifest field feature_spec: different value/);
    expect((await loadBundle(kv, "v1")).files.get("models/mtml.onnx")).toEqual(first.files.get("models/mtml.onnx"));
  });

  it("can upload without activating, and activates later by publishing again", async () => {
    const kv = new MemoryKv();
    const v1 = await bundle("v1", 1);
    const v2 = await bundle("v2", 2);
    await publishBundle(kv, v1.manifest, v1.files);
    const staged = await publishBundle(kv, v2.manifest, v2.files, { activate: false });
    expect(staged).toMatchObject({ upload: "uploaded", activated: false });
    expect(await readActiveVersion(kv)).toBe("v1");
    const flipped = await publishBundle(kv, v2.manifest, v2.files);
    expect(flipped).toMatchObject({ upload: "already-published", previousActive: "v1", activated: true });
    expect(await readActiveVersion(kv)).toBe("v2");
  });

  it("prunes all but the newest versions, never the active one", async () => {
    const kv = new MemoryKv();
    for (const [index, version] of ["v1", "v2", "v3"].entries()) {
      const b = await bundle(version, index + 1);
      await publishBundle(kv, b.manifest, b.files, { chunkBytes: 300 });
    }
    // Roll back to v1, then publish v4 without activating, keeping 2: v1 is active (kept), v3 and v4 are newest.
    await kv.put(ACTIVE_KEY, "v1");
    const v4 = await bundle("v4", 4);
    const report = await publishBundle(kv, v4.manifest, v4.files, { activate: false, keepVersions: 2, chunkBytes: 300 });
    expect(report.pruned).toEqual(["v2"]);
    expect(kv.keys("bundle/v2/")).toEqual([]);
    expect((await readVersionsIndex(kv)).versions.map((entry) => entry.version)).toEqual(["v1", "v3", "v4"]);
    for (const version of ["v1", "v3", "v4"]) expect((await loadBundle(kv, version)).version).toBe(version);
  });

  it("stores and reassembles a real 30 MiB file with the default 25 MiB chunks", async () => {
    const kv = new MemoryKv();
    const big = patternBytes(30 * 1024 * 1024, 9);
    const { manifest, files } = await sampleBundle("big", { "index/items.usearch": big });
    await publishBundle(kv, manifest, files);
    expect(kv.keys("bundle/big/files/")).toEqual(["bundle/big/files/index/items.usearch#0", "bundle/big/files/index/items.usearch#1"]);
    expect(kv.values.get("bundle/big/files/index/items.usearch#0")?.byteLength).toBe(KV_MAX_VALUE_BYTES);
    const loaded = await loadBundle(kv, "big");
    const back = loaded.files.get("index/items.usearch") as Uint8Array;
    // Byte comparison through Buffer: vitest's deep equality is far too slow for 31 million elements.
    expect(back.byteLength).toBe(big.byteLength);
    expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(big.buffer, big.byteOffset, big.byteLength))).toBe(true);
    // The fake enforces the KV limit, so this proves no value went over it.
    await expect(kv.put("too-big", new Uint8Array(KV_MAX_VALUE_BYTES + 1))).rejects.toThrow(/over the 26214400-byte limit/);
  });

  describe("load failures name what is wrong", () => {
    async function published() {
      const kv = new MemoryKv();
      const { manifest, files } = await bundle("v1");
      // stored as they are, so the tests can cut and change the values themselves
      await publishBundle(kv, manifest, files, { chunkBytes: 300, compress: false });
      return kv;
    }

    it("missing manifest", async () => {
      const kv = await published();
      await kv.delete(manifestKey("v1"));
      expect(await reasonsOf(loadBundle(kv, "v1"))).toBe("bundle v1 cannot be loaded: manifest missing (no KV key bundle/v1/manifest.json)");
    });

    it("missing and truncated chunks, a changed whole file, and a short whole file — all at once", async () => {
      const kv = await published();
      await kv.delete("bundle/v1/files/models/mtml.onnx#2");
      const chunk = kv.values.get("bundle/v1/files/tables/items.bin#0") as Uint8Array;
      kv.values.set("bundle/v1/files/tables/items.bin#0", chunk.subarray(0, 299));
      kv.values.set("bundle/v1/files/lists/popular.json", new TextEncoder().encode("[3,1,9]"));
      kv.values.set("bundle/v1/files/empty.txt", new Uint8Array(1));
      const reasons = (await reasonsOf(loadBundle(kv, "v1"))).split("\n");
      expect(reasons).toEqual([
        "bundle v1 cannot be loaded: empty.txt: 1 bytes in KV, the manifest says 0",
        expect.stringMatching(/^bundle v1 cannot be loaded: lists\/popular.json: sha256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}$/),
        "bundle v1 cannot be loaded: models/mtml.onnx: chunk 3 of 4 missing (no KV key bundle/v1/files/models/mtml.onnx#2)",
        "bundle v1 cannot be loaded: tables/items.bin: chunk 1 of 2 (bundle/v1/files/tables/items.bin#0) has 299 bytes, expected 300",
      ]);
    });

    it("a manifest that describes another version, or is not JSON", async () => {
      const kv = await published();
      const text = (await kv.getText(manifestKey("v1"))) as string;
      await kv.put(manifestKey("v2"), text);
      expect(await reasonsOf(loadBundle(kv, "v2"))).toBe("bundle v2 cannot be loaded: bundle/v2/manifest.json describes version v1");
      await kv.put(manifestKey("v1"), text.slice(0, 20));
      expect(await reasonsOf(loadBundle(kv, "v1"))).toMatch(/^bundle\/v1\/manifest.json is not valid JSON/);
    });

    it("an active pointer that is not a version", async () => {
      const kv = new MemoryKv();
      expect(await readActiveVersion(kv)).toBeNull();
      await kv.put(ACTIVE_KEY, "../../etc");
      await expect(readActiveVersion(kv)).rejects.toThrow(/bundle\/active holds "..\/..\/etc", not a version/);
    });
  });

  it("bundleFromFiles gives Node tools the same verified BundleFiles", async () => {
    const { manifest, files } = await bundle("v1");
    const loaded = await bundleFromFiles(manifest, files);
    expect(loaded.version).toBe("v1");
    expect(loaded.files.get("lists/popular.json")).toEqual(files.get("lists/popular.json"));
    const broken = new Map(files);
    broken.set("lists/popular.json", new TextEncoder().encode("[]"));
    await expect(bundleFromFiles(manifest, broken)).rejects.toThrow(/bundle v1 is corrupt:[\s\S]*lists\/popular.json: 2 bytes, the manifest says 7/);
  });
});
