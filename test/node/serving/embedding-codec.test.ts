import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEmbeddings, encodeEmbeddings, encodedEmbeddingBytes, storedEmbeddings } from "../../../core/serving/embedding-codec";

const matrix = (dim: number) =>
  fc
    .array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), { minLength: dim, maxLength: dim * 20 })
    .map((values) => Float32Array.from(values.slice(0, values.length - (values.length % dim))));

describe("embedding codec", () => {
  it("stores f32 exactly", () => {
    fc.assert(
      fc.property(matrix(8), (vectors) => {
        const bytes = encodeEmbeddings(vectors, 8, "f32");
        expect(bytes.byteLength).toBe(encodedEmbeddingBytes(vectors.length / 8, 8, "f32"));
        expect(Array.from(decodeEmbeddings(bytes, vectors.length / 8, 8, "f32"))).toEqual(Array.from(vectors));
      }),
    );
  });

  it("stores i8-row within half a step of each row's scale, in a quarter of the bytes plus a scale per row", () => {
    fc.assert(
      fc.property(matrix(16), (vectors) => {
        const rows = vectors.length / 16;
        const bytes = encodeEmbeddings(vectors, 16, "i8-row");
        expect(bytes.byteLength).toBe(rows * 4 + rows * 16);
        const decoded = decodeEmbeddings(bytes, rows, 16, "i8-row");
        for (let row = 0; row < rows; row++) {
          const values = Array.from(vectors.subarray(row * 16, (row + 1) * 16));
          const halfStep = Math.max(...values.map(Math.abs)) / 127 / 2;
          values.forEach((value, d) => expect(Math.abs((decoded[row * 16 + d] as number) - value)).toBeLessThanOrEqual(halfStep * (1 + 1e-5) + 1e-12));
        }
      }),
    );
  });

  it("keeps zero rows zero and the largest value of a row exact up to float rounding", () => {
    const vectors = Float32Array.from([0, 0, 0, 0, 0.5, -0.25, 0.125, 0.0625]);
    const decoded = storedEmbeddings(vectors, 4, "i8-row");
    expect(Array.from(decoded.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(decoded[4]).toBeCloseTo(0.5, 6);
    // storing the stored vectors again changes nothing: the pipeline builds the index from them
    expect(Array.from(storedEmbeddings(decoded, 4, "i8-row"))).toEqual(Array.from(decoded));
  });

  it("refuses a truncated file, a negative scale and a value that is not finite", () => {
    const bytes = encodeEmbeddings(Float32Array.from([1, 2, 3, 4]), 4, "i8-row");
    expect(() => decodeEmbeddings(bytes.subarray(0, bytes.byteLength - 1), 1, 4, "i8-row")).toThrow(/7 bytes, expected 8/);
    expect(() => decodeEmbeddings(encodeEmbeddings(Float32Array.from([1, 2, 3, 4]), 4, "f32"), 2, 4, "f32")).toThrow(/expected 32/);
    const negative = bytes.slice();
    new DataView(negative.buffer).setFloat32(0, -1, true);
    expect(() => decodeEmbeddings(negative, 1, 4, "i8-row")).toThrow(/row 0 has scale -1/);
    expect(() => encodeEmbeddings(Float32Array.from([1, Number.NaN]), 2, "i8-row")).toThrow(/row 0 holds NaN/);
    expect(() => encodeEmbeddings(Float32Array.from([1, 2, 3]), 2, "i8-row")).toThrow(/not rows of 2/);
  });
});
