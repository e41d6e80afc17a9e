import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BundleError } from "../../../core/bundle/errors";
import { PACKED_DTYPES, dtypeOf, packArrays, requireArray, unpackArrays, type PackedTypedArray } from "../../../core/bundle/packed";

function sampleArrays(): Record<string, PackedTypedArray> {
  return {
    i8: new Int8Array([-128, -1, 0, 1, 127]),
    u8: new Uint8Array([0, 1, 254, 255]),
    i16: new Int16Array([-32768, -2, 3, 32767]),
    u16: new Uint16Array([0, 65535, 7]),
    i32: new Int32Array([-2147483648, -5, 0, 2147483647]),
    u32: new Uint32Array([0, 1, 4294967295]),
    f32: new Float32Array([0, -1.5, 3.25, Number.NaN, Number.POSITIVE_INFINITY, 1e-40]),
    f64: new Float64Array([Math.PI, -0, Number.MAX_VALUE, Number.MIN_VALUE]),
    i64: new BigInt64Array([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n]),
    u64: new BigUint64Array([0n, 2n ** 64n - 1n]),
    empty: new Float32Array(0),
  };
}

describe("packArrays / unpackArrays", () => {
  it("round-trips every dtype with its class, length and exact bits", () => {
    const input = sampleArrays();
    const { arrays, meta, zeroCopy } = unpackArrays(packArrays(input, { rows: 5, note: "ünïcode" }));
    expect(zeroCopy).toBe(true);
    expect(Object.keys(arrays)).toEqual(Object.keys(input));
    for (const [name, original] of Object.entries(input)) {
      const back = arrays[name] as PackedTypedArray;
      expect(back.constructor).toBe(original.constructor);
      expect(back.length).toBe(original.length);
      // Compare raw bytes: NaN and -0 must survive bit for bit.
      expect(new Uint8Array(back.buffer, back.byteOffset, back.byteLength)).toEqual(new Uint8Array(original.buffer, original.byteOffset, original.byteLength));
    }
    expect(meta).toEqual({ rows: 5, note: "ünïcode" });
    expect(new Set(Object.values(arrays).map(dtypeOf)).size).toBe(PACKED_DTYPES.length);
  });

  it("gives zero-copy views over the container, every one 8-byte aligned", () => {
    const packed = packArrays({ a: new Uint8Array([1, 2, 3]), b: new Float64Array([1, 2]), c: new Int16Array([5]), d: new BigInt64Array([9n]) });
    const { arrays } = unpackArrays(packed);
    for (const array of Object.values(arrays)) {
      expect(array.buffer).toBe(packed.buffer);
      expect(array.byteOffset % 8).toBe(0);
    }
    packed[(arrays.a as Uint8Array).byteOffset] = 42; // a view, not a copy
    expect((arrays.a as Uint8Array)[0]).toBe(42);
  });

  it("packs views into larger buffers using only the viewed elements", () => {
    const backing = new Float32Array([9, 9, 1, 2, 3, 9]);
    const { arrays } = unpackArrays(packArrays({ slice: backing.subarray(2, 5) }));
    expect(Array.from(arrays.slice as Float32Array)).toEqual([1, 2, 3]);
  });

  it("copies once when the container does not start on an 8-byte boundary, and still reads correctly", () => {
    const packed = packArrays({ x: new Float64Array([1.5, -2.5]), y: new Int32Array([7]) }, [1, 2]);
    const shifted = new Uint8Array(packed.byteLength + 3);
    shifted.set(packed, 3);
    const { arrays, meta, zeroCopy } = unpackArrays(shifted.subarray(3));
    expect(zeroCopy).toBe(false);
    expect(Array.from(arrays.x as Float64Array)).toEqual([1.5, -2.5]);
    expect(Array.from(arrays.y as Int32Array)).toEqual([7]);
    expect(meta).toEqual([1, 2]);
  });

  it("round-trips arbitrary float32/int32/uint8 contents (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true }), { maxLength: 50 }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 50 }),
        fc.uint8Array({ maxLength: 37 }),
        (floats, ints, bytes) => {
          const { arrays } = unpackArrays(packArrays({ floats: new Float32Array(floats), ints: new Int32Array(ints), bytes }));
          expect(Array.from(arrays.floats as Float32Array)).toEqual(Array.from(new Float32Array(floats)));
          expect(Array.from(arrays.ints as Int32Array)).toEqual(ints);
          expect(Array.from(arrays.bytes as Uint8Array)).toEqual(Array.from(bytes));
        },
      ),
    );
  });

  it("refuses inputs it could not round-trip", () => {
    expect(() => packArrays({ clamped: new Uint8ClampedArray(2) as unknown as Uint8Array })).toThrow(/clamped: Uint8ClampedArray is not one of int8, uint8/);
    expect(() => packArrays({ plain: [1, 2] as unknown as Float32Array })).toThrow(/plain: Array is not one of/);
    expect(() => packArrays({ "": new Uint8Array(1) })).toThrow(/must be 1–256 characters/);
    expect(() => packArrays({ a: new Uint8Array(1) }, { bad: Number.NaN })).toThrow(/meta.bad is NaN/);
    expect(() => packArrays({ a: new Uint8Array(1) }, { when: new Date() as unknown as string })).toThrow(/meta.when is a Date/);
  });

  describe("corrupt input", () => {
    const good = packArrays({ a: new Float32Array([1, 2, 3]), b: new BigInt64Array([4n]) }, { k: "v" });

    it("rejects every truncation with a BundleError, never a wrong result", () => {
      for (let length = 0; length < good.byteLength; length++) {
        expect(() => unpackArrays(good.slice(0, length)), `truncated to ${length}`).toThrow(BundleError);
      }
      expect(() => unpackArrays(good.slice(0, 10))).toThrow(/truncated: 10 bytes, shorter than the 24-byte fixed header/);
      expect(() => unpackArrays(good.slice(0, good.byteLength - 1))).toThrow(/truncated: \d+ bytes, the container says \d+/);
    });

    it("rejects trailing bytes, a wrong magic number and an unknown version", () => {
      const longer = new Uint8Array(good.byteLength + 8);
      longer.set(good);
      expect(() => unpackArrays(longer)).toThrow(/trailing bytes/);
      const wrongMagic = good.slice();
      wrongMagic[0] = 0x58;
      expect(() => unpackArrays(wrongMagic, "tables/items.bin")).toThrow(/tables\/items.bin is not a valid packed-arrays container:[\s\S]*wrong magic number/);
      const wrongVersion = good.slice();
      new DataView(wrongVersion.buffer).setUint32(4, 2, true);
      expect(() => unpackArrays(wrongVersion)).toThrow(/format version 2 is not supported/);
    });

    it("rejects a header that is not JSON, names an unknown dtype, or points outside or into another array", () => {
      const headerLength = new DataView(good.buffer).getUint32(16, true);
      const header = () => JSON.parse(new TextDecoder().decode(good.subarray(24, 24 + headerLength)));
      const withHeader = (value: unknown) => {
        // Same length as the original header (padded with spaces) so the layout stays otherwise valid.
        const text = JSON.stringify(value);
        expect(text.length).toBeLessThanOrEqual(headerLength);
        const copy = good.slice();
        copy.set(new TextEncoder().encode(text.padEnd(headerLength, " ")), 24);
        return copy;
      };
      const garbled = good.slice();
      garbled[24] = 0x7b + 1;
      expect(() => unpackArrays(garbled)).toThrow(/the header is not valid UTF-8 JSON/);
      const original = header();
      expect(() => unpackArrays(withHeader({ ...original, arrays: [{ ...original.arrays[0], dtype: "float16" }, original.arrays[1]] }))).toThrow(/header arrays.0.dtype/);
      expect(() => unpackArrays(withHeader({ ...original, arrays: [original.arrays[0], { ...original.arrays[1], offset: 8 }] }))).toThrow(/b: offset 8 overlaps the previous array/);
      expect(() => unpackArrays(withHeader({ ...original, arrays: [original.arrays[0], { ...original.arrays[1], length: 2 }] }))).toThrow(/truncated: b \(bigint64 × 2\) ends at data byte 32/);
      expect(() => unpackArrays(withHeader({ ...original, arrays: [{ ...original.arrays[0], offset: 4 }] }))).toThrow(/a: offset 4 is not a multiple of 8/);
      expect(() => unpackArrays(withHeader({ ...original, arrays: [original.arrays[0], { ...original.arrays[0] }] }))).toThrow(/appears twice/);
    });
  });

  it("requireArray returns a typed array or names what is wrong", () => {
    const unpacked = unpackArrays(packArrays({ ids: new Int32Array([1]), score: new Float32Array([0.5]) }));
    const ids: Int32Array = requireArray(unpacked, "ids", "int32");
    expect(Array.from(ids)).toEqual([1]);
    expect(() => requireArray(unpacked, "score", "float64", "items.bin")).toThrow(/items.bin: array "score" is float32, expected float64/);
    expect(() => requireArray(unpacked, "missing", "int32")).toThrow(/no array "missing"[\s\S]*it has: ids, score/);
  });
});
