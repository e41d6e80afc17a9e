import { afterEach, describe, expect, it } from "vitest";
import { AnnIndex, AnnIndexLostError, BruteForceIndex, DEFAULT_SEARCH_EXPANSION, UsearchRuntime, wasmApi } from "../../../core/ann";
import { buildAnnIndexNative, loadNativeIndex } from "../../../scripts/ann/native";
import { lowRankVectors } from "../../../scripts/ann/synthetic";
import { createNodeUsearchRuntime, usearchWasmModule } from "../../../scripts/ann/usearch-wasm";

// Five 4-d vectors whose cosine distances to e1 are known exactly.
const KNOWN_DIMS = 4;
const KNOWN_VECTORS = new Float32Array([
  1, 0, 0, 0, // key 0: e1, distance 0
  0, 1, 0, 0, // key 1: e2, distance 1
  1, 1, 0, 0, // key 2: 45 degrees, distance 1 - 1/sqrt(2)
  -1, 0, 0, 0, // key 3: opposite, distance 2
  3, 0, 4, 0, // key 4: cosine 0.6, distance 0.4
]);
const E1 = new Float32Array([1, 0, 0, 0]);

const runtimes: UsearchRuntime[] = [];
function runtime(): UsearchRuntime {
  const created = createNodeUsearchRuntime();
  runtimes.push(created);
  return created;
}
afterEach(() => {
  runtimes.length = 0;
});

function knownIndex(target: UsearchRuntime): AnnIndex {
  const index = AnnIndex.create(target, { dimensions: KNOWN_DIMS, metric: "cos" });
  index.add([10, 11, 12, 13, 14], KNOWN_VECTORS);
  return index;
}

describe("AnnIndex on a small known set", () => {
  it("returns the exact neighbours, sorted by cosine distance", () => {
    const index = knownIndex(runtime());
    expect(index.size).toBe(5);
    const result = index.search(E1, 5);
    expect(Array.from(result.keys)).toEqual([10, 12, 14, 11, 13]);
    const expected = [0, 1 - Math.SQRT1_2, 0.4, 1, 2];
    expected.forEach((distance, i) => expect(result.distances[i]).toBeCloseTo(distance, 5));
  });

  it("returns fewer than k when the index is smaller, and the same from an exact scan", () => {
    const index = knownIndex(runtime());
    const approximate = index.search(E1, 50);
    const exact = index.search(E1, 50, { exact: true });
    expect(approximate.keys.length).toBe(5);
    expect(Array.from(exact.keys)).toEqual(Array.from(approximate.keys));
  });

  it("supports ip and l2sq metrics", () => {
    const target = runtime();
    const l2 = AnnIndex.create(target, { dimensions: KNOWN_DIMS, metric: "l2sq" });
    l2.add([0, 1, 2, 3, 4], KNOWN_VECTORS);
    const l2Result = l2.search(new Float32Array([3, 0, 4, 0]), 2);
    expect(Array.from(l2Result.keys)).toEqual([4, 0]);
    expect(l2Result.distances[0]).toBeCloseTo(0, 6);
    expect(l2Result.distances[1]).toBeCloseTo(2 * 2 + 4 * 4, 5);
    expect(l2.metric).toBe("l2sq");
    const ip = AnnIndex.create(target, { dimensions: KNOWN_DIMS, metric: "ip" });
    ip.add([0, 1, 2, 3, 4], KNOWN_VECTORS);
    const ipResult = ip.search(E1, 2);
    // USearch's ip distance is 1 - dot: key 4 has dot 3, keys 0 and 2 dot 1.
    expect(ipResult.keys[0]).toBe(4);
    expect(ipResult.distances[0]).toBeCloseTo(1 - 3, 5);
    expect(ipResult.distances[1]).toBeCloseTo(0, 5);
  });

  it("round-trips through serialize() and loads natively with the same neighbours", () => {
    const target = runtime();
    const vectors = lowRankVectors({ rows: 2000, dims: 16, seed: 5 });
    const index = AnnIndex.create(target, { dimensions: 16 });
    index.add(Uint32Array.from({ length: 2000 }, (_, i) => i), vectors);
    const bytes = index.serialize();
    const reloaded = AnnIndex.load(target, bytes);
    const native = loadNativeIndex(bytes, { dims: 16, expansionSearch: DEFAULT_SEARCH_EXPANSION });
    const queries = lowRankVectors({ rows: 20, dims: 16, seed: 6 });
    for (let q = 0; q < 20; q++) {
      const query = queries.subarray(q * 16, (q + 1) * 16);
      const fromWasm = Array.from(index.search(query, 10).keys);
      expect(Array.from(reloaded.search(query, 10).keys)).toEqual(fromWasm);
      expect(Array.from(native.search(query, 10, 1).keys, Number)).toEqual(fromWasm);
    }
  });
});

describe("indexes built by the native addon", () => {
  const dims = 32;
  const vectors = lowRankVectors({ rows: 5000, dims, seed: 21 });
  const bytes = buildAnnIndexNative(vectors, dims, { threads: 1 });
  const queries = lowRankVectors({ rows: 50, dims, seed: 22 });

  it.each(["view", "copy"] as const)("load in wasm (%s) and return identical neighbours and distances", (mode) => {
    const index = AnnIndex.load(runtime(), bytes, { mode, dimensions: dims, metric: "cos" });
    expect(index.size).toBe(5000);
    expect(index.dimensions).toBe(dims);
    expect(index.connectivity).toBe(16);
    const native = loadNativeIndex(bytes, { dims, expansionSearch: index.expansionSearch });
    for (let q = 0; q < 50; q++) {
      const query = queries.subarray(q * dims, (q + 1) * dims);
      const fromWasm = index.search(query, 100);
      const fromNative = native.search(query, 100, 1);
      expect(Array.from(fromWasm.keys)).toEqual(Array.from(fromNative.keys, Number));
      fromWasm.distances.forEach((distance, i) => expect(distance).toBeCloseTo(fromNative.distances[i] as number, 5));
    }
  });

  it.each(["f16", "i8"] as const)("%s-quantized native indexes give the native neighbours in wasm too", (scalar) => {
    const small = vectors.subarray(0, 1500 * dims);
    const quantized = buildAnnIndexNative(small, dims, { scalar, threads: 1 });
    const index = AnnIndex.load(runtime(), quantized);
    expect(index.scalar).toBe(scalar);
    const native = loadNativeIndex(quantized, { dims, expansionSearch: index.expansionSearch });
    for (let q = 0; q < 20; q++) {
      const query = queries.subarray(q * dims, (q + 1) * dims);
      expect(Array.from(index.search(query, 10).keys)).toEqual(Array.from(native.search(query, 10, 1).keys, Number));
    }
  });

  it("exact search agrees with the TypeScript brute force", () => {
    const index = AnnIndex.load(runtime(), bytes);
    const brute = new BruteForceIndex(vectors, dims, "cos");
    for (let q = 0; q < 10; q++) {
      const query = queries.subarray(q * dims, (q + 1) * dims);
      const exact = index.search(query, 20, { exact: true });
      const truth = brute.search(query, 20);
      expect(Array.from(exact.keys)).toEqual(Array.from(truth.keys));
      exact.distances.forEach((distance, i) => expect(distance).toBeCloseTo(truth.distances[i] as number, 5));
    }
  });

  // Viewed f32 ip/l2sq indexes scan with the shim's SIMD kernel and a partial selection (what the two-tower
  // source uses for a small catalogue); others fall back to USearch's own exact search.
  it.each(["ip", "l2sq"] as const)("exact search of a viewed %s index is the brute force's top k, for small and large k", (metric) => {
    const metricBytes = buildAnnIndexNative(vectors, dims, { metric, threads: 1 });
    const view = AnnIndex.load(runtime(), metricBytes, { metric });
    const copy = AnnIndex.load(runtime(), metricBytes, { metric, mode: "copy" });
    const brute = new BruteForceIndex(vectors, dims, metric);
    for (let q = 0; q < 10; q++) {
      const query = queries.subarray(q * dims, (q + 1) * dims);
      for (const k of [1, 20, 1000]) {
        const exact = view.search(query, k, { exact: true });
        const truth = brute.search(query, k);
        // the same distances rank by rank; every key clearly inside the top k found (the two sum in a different
        // order, so an exact f32 tie at the k-th place may go either way)
        expect(exact.keys.length).toBe(k);
        exact.distances.forEach((distance, i) => expect(distance).toBeCloseTo(truth.distances[i] as number, 4));
        const kth = truth.distances[k - 1] as number;
        const found = new Set(exact.keys);
        truth.keys.forEach((key, i) => {
          if ((truth.distances[i] as number) < kth - 1e-5) expect(found.has(key)).toBe(true);
        });
      }
      // the copy has no scan tables: USearch's exact search answers, the same
      expect(Array.from(copy.search(query, 50, { exact: true }).keys)).toEqual(Array.from(view.search(query, 50, { exact: true }).keys));
    }
    const everything = view.search(queries.subarray(0, dims), 6000, { exact: true });
    expect(everything.keys.length).toBe(5000);
    expect(new Set(everything.keys).size).toBe(5000);
    for (let i = 1; i < everything.distances.length; i++) expect(everything.distances[i]).toBeGreaterThanOrEqual(everything.distances[i - 1] as number);
  });

  it("exact search breaks equal distances by the lower key", () => {
    const target = runtime();
    const built = AnnIndex.create(target, { dimensions: KNOWN_DIMS, metric: "ip" });
    const twice = new Float32Array([...KNOWN_VECTORS, ...KNOWN_VECTORS, ...KNOWN_VECTORS]);
    built.add([40, 7, 22, 31, 5, 12, 3, 44, 18, 9, 27, 1, 35, 14, 50], twice);
    const view = AnnIndex.load(target, built.serialize(), { metric: "ip" });
    // rows r hold KNOWN_VECTORS[r % 5]; dot with e1: vector 4 → 3 (keys 5, 9, 50), vectors 0 and 2 → 1 (keys 40,
    // 12, 27 and 22, 44, 35), vector 1 → 0 (keys 7, 3, 1), vector 3 → −1 (keys 31, 18, 14)
    expect(Array.from(view.search(E1, 15, { exact: true }).keys)).toEqual([5, 9, 50, 12, 22, 27, 35, 40, 44, 1, 3, 7, 14, 18, 31]);
  });

  it("a copy-loaded index accepts more rows; a viewed one refuses them", () => {
    const target = runtime();
    const copy = AnnIndex.load(target, bytes, { mode: "copy" });
    copy.add([9000], vectors.subarray(0, dims));
    expect(copy.size).toBe(5001);
    expect(Array.from(copy.search(vectors.subarray(0, dims), 2).keys).sort()).toEqual([0, 9000]);
    const view = AnnIndex.load(target, bytes);
    expect(() => view.add([9000], vectors.subarray(0, dims))).toThrow(/read-only view/);
  });

  describe("bad input gives a clear Error", () => {
    const target = createNodeUsearchRuntime();
    const index = AnnIndex.load(target, bytes);
    const query = queries.subarray(0, dims);

    it("wrong query dimension", () => {
      expect(() => index.search(new Float32Array(dims + 1), 10)).toThrow(/has 33 dimensions, the index has 32/);
    });

    it("NaN or Infinity in a query", () => {
      const bad = Float32Array.from(query);
      bad[7] = Number.NaN;
      expect(() => index.search(bad, 10)).toThrow(/NaN at dimension 7/);
      bad[7] = Number.POSITIVE_INFINITY;
      expect(() => index.search(bad, 10)).toThrow(/Infinity at dimension 7/);
    });

    it("k <= 0 or not an integer; bad expansion", () => {
      expect(() => index.search(query, 0)).toThrow(/k must be an integer/);
      expect(() => index.search(query, -3)).toThrow(/k must be an integer/);
      expect(() => index.search(query, 2.5)).toThrow(/k must be an integer/);
      expect(() => index.search(query, 10, { expansion: 0 })).toThrow(/expansion must be an integer/);
    });

    it("a query that is not a Float32Array", () => {
      expect(() => index.search(Array.from(query) as unknown as Float32Array, 10)).toThrow(/Float32Array/);
    });

    it("NaN, bad keys or duplicate keys in add()", () => {
      const created = AnnIndex.create(target, { dimensions: 2 });
      expect(() => created.add([0], new Float32Array([1, Number.NaN]))).toThrow(/row 0 holds NaN at dimension 1/);
      expect(() => created.add([-1], new Float32Array([1, 0]))).toThrow(/Key at position 0/);
      expect(() => created.add([2 ** 32], new Float32Array([1, 0]))).toThrow(/Key at position 0/);
      expect(() => created.add([1, 1], new Float32Array([1, 0, 0, 1]))).toThrow(/unique/);
      expect(() => created.add([1, 2], new Float32Array([1, 0]))).toThrow(/expected 2 rows x 2 dimensions/);
      created.add([1], new Float32Array([1, 0]));
      expect(() => created.add([1], new Float32Array([0, 1]))).toThrow(/Key 1 is already in the index/);
      expect(created.size).toBe(1);
    });

    it("truncated index buffers", () => {
      for (const length of [0, 50, 200, bytes.length - 1, Math.floor(bytes.length / 2)]) {
        expect(() => AnnIndex.load(target, bytes.slice(0, length)), `length ${length}`).toThrow(/truncated|corrupt/i);
      }
    });

    it("corrupt index buffers: bad magic, trailing bytes, wrong counts, bad links", () => {
      const badMagic = bytes.slice();
      const headerAt = 8 + 5000 * dims * 4;
      badMagic[headerAt] = 0x58;
      expect(() => AnnIndex.load(target, badMagic)).toThrow(/not a USearch index/);

      const padded = new Uint8Array(bytes.length + 16);
      padded.set(bytes);
      expect(() => AnnIndex.load(target, padded)).toThrow(/unexpected bytes after the graph/);

      const wrongRows = bytes.slice();
      new DataView(wrongRows.buffer).setUint32(0, 4999, true);
      expect(() => AnnIndex.load(target, wrongRows)).toThrow(/not a USearch index|corrupt|truncated/i);

      // Point the first neighbour of the last node past the end of the graph.
      const badLink = bytes.slice();
      const lastNodeNeighbour = findLastBaseNeighbour(badLink);
      new DataView(badLink.buffer).setUint32(lastNodeNeighbour, 123_456, true);
      expect(() => AnnIndex.load(target, badLink)).toThrow(/invalid neighbour link/);

      // A NaN stored in a vector would poison every distance to it.
      const nanVector = bytes.slice();
      new DataView(nanVector.buffer).setFloat32(8 + 4 * (3 * dims + 5), Number.NaN, true);
      expect(() => AnnIndex.load(target, nanVector)).toThrow(/NaN or Infinity in the vector of row 3/);

      const random = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
      expect(() => AnnIndex.load(target, random)).toThrow(/Cannot load the ANN index/);
    });

    it("an index that does not match the expected shape", () => {
      expect(() => AnnIndex.load(target, bytes, { dimensions: 64 })).toThrow(/has 32 dimensions, expected 64/);
      expect(() => AnnIndex.load(target, bytes, { metric: "l2sq" })).toThrow(/uses metric cos, expected l2sq/);
    });

    it("use after dispose", () => {
      const disposable = AnnIndex.load(target, bytes);
      disposable.dispose();
      disposable.dispose();
      expect(() => disposable.search(query, 10)).toThrow(/disposed/);
    });

    it("failed loads leave the runtime usable", () => {
      expect(index.search(query, 10).keys.length).toBe(10);
    });
  });
});

/** Byte offset of the first base-level neighbour slot of the last node in a serialized index. */
function findLastBaseNeighbour(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = view.getUint32(0, true);
  const cols = view.getUint32(4, true);
  const graph = 8 + rows * cols + 64;
  const connectivity = Number(view.getBigUint64(graph + 8, true));
  const connectivityBase = Number(view.getBigUint64(graph + 16, true));
  const levelsAt = graph + 40;
  let node = levelsAt + 2 * rows;
  for (let slot = 0; slot < rows - 1; slot++) {
    const level = view.getInt16(levelsAt + 2 * slot, true);
    node += 10 + 4 * (1 + connectivityBase) + level * 4 * (1 + connectivity);
  }
  expect(view.getUint32(node + 10, true)).toBeGreaterThan(0);
  return node + 10 + 4;
}

describe("trap recovery", () => {
  const dims = 16;
  const vectors = lowRankVectors({ rows: 3000, dims, seed: 31 });
  const bytes = buildAnnIndexNative(vectors, dims, { threads: 1 });
  const query = lowRankVectors({ rows: 1, dims, seed: 32 });

  it("a trap during search replaces the instance, reloads the index and answers the same", () => {
    const traps: string[] = [];
    const target = new UsearchRuntime(usearchWasmModule(), { onTrap: (error) => traps.push(error.message) });
    const index = AnnIndex.load(target, bytes);
    const before = index.search(query, 25);
    target.debugTrapAfter(1);
    const during = index.search(query, 25);
    expect(Array.from(during.keys)).toEqual(Array.from(before.keys));
    expect(Array.from(during.distances)).toEqual(Array.from(before.distances));
    expect(target.stats()).toMatchObject({ instancesCreated: 2, trapsRecovered: 1, liveIndexes: 1 });
    expect(traps).toEqual([expect.stringMatching(/unreachable/)]);
    expect(Array.from(index.search(query, 25).keys)).toEqual(Array.from(before.keys));
  });

  it("the trap is real: without the runtime's recovery the raw export throws a RuntimeError", () => {
    const target = runtime();
    target.debugTrapAfter(1);
    expect(() => target.exports.ann_create(4, 0, 0, 16, 0, 0)).toThrow(wasmApi.RuntimeError);
  });

  it("other indexes of the runtime are rebuilt lazily, including rows added in wasm", () => {
    const target = runtime();
    const loaded = AnnIndex.load(target, bytes, { mode: "copy" });
    loaded.add([777_777], query);
    const created = AnnIndex.create(target, { dimensions: dims });
    created.add(Uint32Array.from({ length: 500 }, (_, i) => i), vectors.subarray(0, 500 * dims));
    const loadedBefore = Array.from(loaded.search(query, 10).keys);
    const createdBefore = Array.from(created.search(query, 10).keys);
    expect(loadedBefore[0]).toBe(777_777);

    target.debugTrapAfter(1);
    expect(Array.from(created.search(query, 10).keys)).toEqual(createdBefore);
    expect(Array.from(loaded.search(query, 10).keys)).toEqual(loadedBefore);
    expect(created.size).toBe(500);
    expect(loaded.size).toBe(3001);
    expect(target.stats().trapsRecovered).toBe(1);
  });

  it("a trap while loading is recovered too", () => {
    const target = runtime();
    target.debugTrapAfter(1);
    const index = AnnIndex.load(target, bytes);
    expect(index.size).toBe(3000);
    expect(target.stats().trapsRecovered).toBe(1);
  });

  it("without retained bytes, a trap loses the index with a clear error", () => {
    const target = runtime();
    const kept = AnnIndex.load(target, bytes);
    const dropped = AnnIndex.load(target, bytes, { retainForRecovery: false });
    dropped.search(query, 5);
    target.debugTrapAfter(1);
    kept.search(query, 5);
    expect(() => dropped.search(query, 5)).toThrow(AnnIndexLostError);
  });
});

describe("memory", () => {
  const dims = 32;
  const vectors = lowRankVectors({ rows: 4000, dims, seed: 41 });
  const bytes = buildAnnIndexNative(vectors, dims, { threads: 1 });
  const query = lowRankVectors({ rows: 1, dims, seed: 42 });

  function cycle(target: UsearchRuntime, mode: "view" | "copy", dispose: boolean): void {
    const index = AnnIndex.load(target, bytes, { mode });
    for (let i = 0; i < 5; i++) index.search(query, 50);
    index.serialize();
    if (dispose) index.dispose();
  }

  it.each(["view", "copy"] as const)("many load/search/dispose cycles (%s) do not grow wasm memory", (mode) => {
    const target = runtime();
    for (let i = 0; i < 10; i++) cycle(target, mode, true);
    const settled = target.stats().memoryBytes;
    for (let i = 0; i < 150; i++) cycle(target, mode, true);
    expect(target.stats().memoryBytes).toBe(settled);
    expect(target.stats().liveIndexes).toBe(0);
  });

  it("the measurement does see leaks: without dispose(), memory grows", () => {
    const target = runtime();
    for (let i = 0; i < 10; i++) cycle(target, "view", true);
    const settled = target.stats().memoryBytes;
    for (let i = 0; i < 30; i++) cycle(target, "view", false);
    expect(target.stats().memoryBytes).toBeGreaterThan(settled + 20 * bytes.length);
    expect(target.stats().liveIndexes).toBe(30);
  });

  it("reports the memory an index holds", () => {
    const index = AnnIndex.load(runtime(), bytes);
    expect(index.memoryUsage()).toBeGreaterThanOrEqual(bytes.length);
    expect(index.memoryUsage()).toBeLessThan(3 * bytes.length);
  });
});
