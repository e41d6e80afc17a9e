// The committed USearch wasm inside workerd: imported as a compiled module (workerd refuses to compile
// wasm from bytes), instantiated synchronously, and fed an index that the native addon built.
import { describe, expect, it } from "vitest";
import { AnnIndex, BruteForceIndex, UsearchRuntime } from "../../core/ann";
import usearchWasm from "../../wasm/usearch/usearch.wasm";
import {
  TINY_DIMS,
  TINY_INDEX_BASE64,
  TINY_K,
  TINY_NATIVE_NEIGHBOURS,
  TINY_QUERIES,
  TINY_ROWS,
  TINY_VECTORS,
} from "../fixtures/ann/tiny-index";

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

describe("USearch wasm in workerd", () => {
  it("is imported as a precompiled WebAssembly.Module", () => {
    expect(usearchWasm).toBeInstanceOf(WebAssembly.Module);
  });

  it("builds and searches a small known set exactly", () => {
    const runtime = new UsearchRuntime(usearchWasm);
    const index = AnnIndex.create(runtime, { dimensions: 4 });
    index.add([10, 11, 12, 13, 14], new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, -1, 0, 0, 0, 3, 0, 4, 0]));
    const result = index.search(new Float32Array([1, 0, 0, 0]), 5);
    expect(Array.from(result.keys)).toEqual([10, 12, 14, 11, 13]);
    [0, 1 - Math.SQRT1_2, 0.4, 1, 2].forEach((distance, i) => expect(result.distances[i]).toBeCloseTo(distance, 5));
    index.dispose();
    expect(runtime.stats().liveIndexes).toBe(0);
  });

  it("loads an index saved by the native addon and returns the native neighbours", () => {
    const runtime = new UsearchRuntime(usearchWasm);
    const index = AnnIndex.load(runtime, fromBase64(TINY_INDEX_BASE64), { dimensions: TINY_DIMS, metric: "cos" });
    expect(index.size).toBe(TINY_ROWS);
    const brute = new BruteForceIndex(TINY_VECTORS, TINY_DIMS, "cos");
    TINY_NATIVE_NEIGHBOURS.forEach((expected, q) => {
      const query = TINY_QUERIES.subarray(q * TINY_DIMS, (q + 1) * TINY_DIMS);
      const found = index.search(query, TINY_K);
      expect(Array.from(found.keys)).toEqual(expected);
      // On 48 items the graph walk is exhaustive, so it must also match a brute-force scan.
      expect(Array.from(found.keys)).toEqual(Array.from(brute.search(query, TINY_K).keys));
    });
  });

  it("turns bad input into clear errors and survives a trap", () => {
    const runtime = new UsearchRuntime(usearchWasm);
    const bytes = fromBase64(TINY_INDEX_BASE64);
    expect(() => AnnIndex.load(runtime, bytes.slice(0, bytes.length - 7))).toThrow(/truncated/);
    const index = AnnIndex.load(runtime, bytes);
    expect(() => index.search(new Float32Array(TINY_DIMS + 1), 3)).toThrow(/dimensions/);
    expect(() => index.search(new Float32Array(TINY_DIMS).fill(Number.NaN), 3)).toThrow(/NaN/);
    const query = TINY_QUERIES.subarray(0, TINY_DIMS);
    runtime.debugTrapAfter(1);
    expect(Array.from(index.search(query, TINY_K).keys)).toEqual(TINY_NATIVE_NEIGHBOURS[0]);
    expect(runtime.stats()).toMatchObject({ instancesCreated: 2, trapsRecovered: 1 });
  });
});
