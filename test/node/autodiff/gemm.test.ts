// The wasm SIMD kernel against the JS kernel and a float64 reference, for every layout and awkward sizes.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Rng, gemm, getGemmBackend, setGemmBackend, wasmGemmAvailable, type GemmLayout } from "../../../models/autodiff";
import { randomArray } from "./helpers";

function reference(layout: GemmLayout, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) {
        const av = layout === "TN" ? (a[q * m + i] as number) : (a[i * k + q] as number);
        const bv = layout === "NT" ? (b[j * k + q] as number) : (b[q * n + j] as number);
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

const initialBackend = getGemmBackend();
afterEach(() => setGemmBackend(initialBackend));

describe("gemm", () => {
  it("the wasm SIMD kernel is available in Node and is the default", () => {
    expect(wasmGemmAvailable()).toBe(true);
    expect(initialBackend).toBe("wasm");
  });

  for (const backend of ["wasm", "js"] as const) {
    it(`${backend}: all layouts match a float64 reference, overwrite and accumulate`, () => {
      setGemmBackend(backend);
      fc.assert(
        fc.property(
          fc.constantFrom<GemmLayout>("NN", "NT", "TN"),
          fc.integer({ min: 1, max: 19 }),
          fc.integer({ min: 1, max: 21 }),
          fc.integer({ min: 1, max: 35 }),
          fc.boolean(),
          fc.integer({ min: 1, max: 1e9 }),
          (layout, m, k, n, accumulate, s) => {
            const rng = new Rng(s);
            const a = randomArray(rng, m * k);
            const b = randomArray(rng, k * n);
            const before = randomArray(rng, m * n);
            const c = Float32Array.from(before);
            gemm(layout, a, b, c, m, k, n, accumulate);
            const expected = reference(layout, a, b, m, k, n);
            for (let e = 0; e < m * n; e++) {
              const want = (expected[e] as number) + (accumulate ? (before[e] as number) : 0);
              expect(Math.abs((c[e] as number) - want)).toBeLessThan(1e-5 * (k + 1));
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it("k = 0 gives zeros (or leaves C unchanged when accumulating); m or n = 0 is a no-op", () => {
    const c = Float32Array.from([1, 2]);
    gemm("NN", new Float32Array(0), new Float32Array(0), c, 1, 0, 2, true);
    expect(Array.from(c)).toEqual([1, 2]);
    gemm("NN", new Float32Array(0), new Float32Array(0), c, 1, 0, 2, false);
    expect(Array.from(c)).toEqual([0, 0]);
    expect(() => gemm("NN", new Float32Array(0), new Float32Array(0), c, 0, 3, 2, false)).toThrow(/buffers too small/);
    gemm("NN", new Float32Array(0), new Float32Array(6), c, 0, 3, 2, false);
  });

  it("grows wasm memory for large operands and stays correct afterwards on small ones", () => {
    const rng = new Rng(5);
    const [m, k, n] = [300, 70, 530];
    const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
    const c1 = new Float32Array(m * n), c2 = new Float32Array(m * n);
    setGemmBackend("wasm");
    gemm("NN", a, b, c1, m, k, n, false);
    setGemmBackend("js");
    gemm("NN", a, b, c2, m, k, n, false);
    for (let e = 0; e < m * n; e += 97) expect(c1[e]).toBeCloseTo(c2[e] as number, 4);
    setGemmBackend("wasm");
    const small = new Float32Array(6);
    gemm("NN", Float32Array.from([1, 2]), Float32Array.from([1, 2, 3, 4, 5, 6]), small, 1, 2, 3, false);
    expect(Array.from(small.subarray(0, 3))).toEqual([9, 12, 15]);
  });

  it("rejects undersized buffers with the sizes in the message", () => {
    expect(() => gemm("NT", new Float32Array(5), new Float32Array(6), new Float32Array(4), 2, 3, 2, false)).toThrow(
      "gemm(NT): buffers too small for m=2 k=3 n=2 (a=5 b=6 c=4)",
    );
  });
});
