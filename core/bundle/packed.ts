import { z } from "zod";
import { BundleError } from "./errors";

/**
 * A packed-arrays container: several named typed arrays plus a JSON `meta` value in one byte string, readable
 * without copying (each array becomes a typed-array view over the container's own buffer).
 *
 * Layout, all integers little-endian:
 *
 * | offset | size | what |
 * |---|---|---|
 * | 0  | 4 | magic `EPAK` |
 * | 4  | 4 | u32 format version (1) |
 * | 8  | 8 | u64 total length of the container in bytes (catches truncation and trailing junk) |
 * | 16 | 4 | u32 header length H in bytes |
 * | 20 | 4 | reserved, zero |
 * | 24 | H | header: UTF-8 JSON `{"arrays": [{"name", "dtype", "length", "offset"}], "meta"}` |
 * | …  |   | zero padding to a multiple of 8 — the data section starts here |
 * | data + offset | length × element size | each array's elements, every offset a multiple of 8 |
 *
 * Offsets count from the data section, so the header never depends on its own length. Aligning every array to 8
 * bytes (the largest element) means a container that starts at an 8-aligned address yields views for any dtype.
 */

const MAGIC = [0x45, 0x50, 0x41, 0x4b] as const; // "EPAK"
export const PACKED_FORMAT_VERSION = 1;
const FIXED_HEADER_BYTES = 24;
const ALIGNMENT = 8;

const CONSTRUCTORS = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  bigint64: BigInt64Array,
  biguint64: BigUint64Array,
} as const;

export type PackedDtype = keyof typeof CONSTRUCTORS;
/** Any backing buffer is accepted (a view into a larger or shared buffer packs only its own elements). */
interface PackedArrayTypes {
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  float32: Float32Array;
  float64: Float64Array;
  bigint64: BigInt64Array;
  biguint64: BigUint64Array;
}
export type PackedArrayOf<D extends PackedDtype> = PackedArrayTypes[D];
export type PackedTypedArray = PackedArrayOf<PackedDtype>;
export const PACKED_DTYPES = Object.keys(CONSTRUCTORS) as PackedDtype[];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface UnpackedArrays {
  /** Views in the order they were packed. */
  readonly arrays: Readonly<Record<string, PackedTypedArray>>;
  readonly meta: JsonValue;
  /** False when the input was not 8-byte aligned and had to be copied once to make aligned views. */
  readonly zeroCopy: boolean;
}

const headerSchema = z.object({
  arrays: z.array(
    z.object({
      name: z.string().min(1).max(256),
      dtype: z.enum(PACKED_DTYPES as [PackedDtype, ...PackedDtype[]]),
      length: z.number().int().nonnegative(),
      offset: z.number().int().nonnegative(),
    }),
  ),
  meta: z.unknown(),
});

export function dtypeOf(array: unknown): PackedDtype | undefined {
  for (const dtype of PACKED_DTYPES) {
    // Exact class match: Uint8ClampedArray, Float16Array or a subclass would not round-trip as the same type.
    if (array !== null && typeof array === "object" && Object.getPrototypeOf(array) === CONSTRUCTORS[dtype].prototype) return dtype;
  }
  return undefined;
}

/** Packs named typed arrays (and an optional JSON `meta`) into one container; the inputs are copied, not kept. */
export function packArrays(record: Readonly<Record<string, PackedTypedArray>>, meta: JsonValue = null): Uint8Array {
  assertLittleEndian();
  const metaProblem = jsonProblem(meta, "meta");
  if (metaProblem) throw new BundleError("cannot pack arrays", [metaProblem]);

  const entries = Object.entries(record);
  const descriptors: { name: string; dtype: PackedDtype; length: number; offset: number }[] = [];
  let dataBytes = 0;
  for (const [name, array] of entries) {
    if (name.length === 0 || name.length > 256) throw new BundleError("cannot pack arrays", [`array name ${JSON.stringify(name)} must be 1–256 characters`]);
    const dtype = dtypeOf(array);
    if (dtype === undefined) {
      const kind = array === null || typeof array !== "object" ? typeof array : (Object.getPrototypeOf(array)?.constructor?.name ?? "object");
      throw new BundleError("cannot pack arrays", [`${name}: ${kind} is not one of ${PACKED_DTYPES.join(", ")}`]);
    }
    descriptors.push({ name, dtype, length: array.length, offset: dataBytes });
    dataBytes = alignUp(dataBytes + array.byteLength);
  }

  const header = new TextEncoder().encode(JSON.stringify({ arrays: descriptors, meta }));
  const dataStart = alignUp(FIXED_HEADER_BYTES + header.byteLength);
  const totalBytes = dataStart + dataBytes;
  const out = new Uint8Array(totalBytes);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, PACKED_FORMAT_VERSION, true);
  view.setBigUint64(8, BigInt(totalBytes), true);
  view.setUint32(16, header.byteLength, true);
  out.set(header, FIXED_HEADER_BYTES);
  entries.forEach(([, array], index) => {
    const descriptor = descriptors[index] as (typeof descriptors)[number];
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dataStart + descriptor.offset);
  });
  return out;
}

/**
 * Reads a container made by `packArrays`. The arrays are views over `bytes` (no copy) when `bytes` starts at an
 * 8-aligned offset of its buffer — true for anything KV or `fs.readFile` returns whole; otherwise the container is
 * copied once. Truncated, padded or corrupt input throws a BundleError saying what is wrong.
 */
export function unpackArrays(bytes: Uint8Array, source = "packed arrays"): UnpackedArrays {
  assertLittleEndian();
  const fail = (reason: string): never => {
    throw new BundleError(`${source} is not a valid packed-arrays container`, [reason]);
  };
  if (bytes.byteLength < FIXED_HEADER_BYTES) fail(`truncated: ${bytes.byteLength} bytes, shorter than the ${FIXED_HEADER_BYTES}-byte fixed header`);
  if (MAGIC.some((byte, index) => bytes[index] !== byte)) fail(`wrong magic number (expected "EPAK", got bytes ${[...bytes.subarray(0, 4)].join(",")})`);
  const fixed = new DataView(bytes.buffer, bytes.byteOffset, FIXED_HEADER_BYTES);
  const version = fixed.getUint32(4, true);
  if (version !== PACKED_FORMAT_VERSION) fail(`format version ${version} is not supported (this reader knows version ${PACKED_FORMAT_VERSION})`);
  const declaredTotal = fixed.getBigUint64(8, true);
  if (declaredTotal !== BigInt(bytes.byteLength)) {
    fail(
      declaredTotal > BigInt(bytes.byteLength)
        ? `truncated: ${bytes.byteLength} bytes, the container says ${declaredTotal}`
        : `${bytes.byteLength} bytes, the container says ${declaredTotal} (trailing bytes)`,
    );
  }
  const headerBytes = fixed.getUint32(16, true);
  if (FIXED_HEADER_BYTES + headerBytes > bytes.byteLength) fail(`the header length ${headerBytes} runs past the end of the container`);

  let headerValue: unknown;
  try {
    headerValue = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + headerBytes)));
  } catch (error) {
    fail(`the header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  const parsed = headerSchema.safeParse(headerValue);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`header ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  const header = parsed.data;
  const metaProblem = jsonProblem(header.meta, "meta");
  if (metaProblem) fail(metaProblem);

  const dataStart = alignUp(FIXED_HEADER_BYTES + headerBytes);
  const dataBytes = bytes.byteLength - dataStart;
  const names = new Set<string>();
  let previousEnd = 0;
  for (const { name, dtype, length, offset } of header.arrays) {
    if (names.has(name)) fail(`array ${JSON.stringify(name)} appears twice`);
    names.add(name);
    if (offset % ALIGNMENT !== 0) fail(`${name}: offset ${offset} is not a multiple of ${ALIGNMENT}`);
    if (offset < previousEnd) fail(`${name}: offset ${offset} overlaps the previous array (which ends at ${previousEnd})`);
    const end = offset + length * CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
    if (end > dataBytes) fail(`truncated: ${name} (${dtype} × ${length}) ends at data byte ${end}, the data section has ${dataBytes}`);
    previousEnd = end;
  }

  let base = bytes;
  const zeroCopy = bytes.byteOffset % ALIGNMENT === 0;
  if (!zeroCopy) base = bytes.slice();
  const arrays = Object.fromEntries(
    header.arrays.map(({ name, dtype, length, offset }) => [name, new CONSTRUCTORS[dtype](base.buffer as ArrayBuffer, base.byteOffset + dataStart + offset, length)]),
  ) as Record<string, PackedTypedArray>;
  return { arrays, meta: header.meta as JsonValue, zeroCopy };
}

/** The array `name` of dtype `dtype`, or a BundleError naming what is missing or mismatched. */
export function requireArray<D extends PackedDtype>(unpacked: UnpackedArrays, name: string, dtype: D, source = "packed arrays"): PackedArrayOf<D> {
  const array = Object.hasOwn(unpacked.arrays, name) ? unpacked.arrays[name] : undefined;
  if (array === undefined) throw new BundleError(`${source} has no array ${JSON.stringify(name)}`, [`it has: ${Object.keys(unpacked.arrays).join(", ") || "(none)"}`]);
  const actual = dtypeOf(array);
  if (actual !== dtype) throw new BundleError(`${source}: array ${JSON.stringify(name)} is ${actual}, expected ${dtype}`);
  return array as PackedArrayOf<D>;
}

function alignUp(value: number): number {
  return Math.ceil(value / ALIGNMENT) * ALIGNMENT;
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("packed arrays are little-endian; this platform is big-endian");
}

/** Why `value` would not survive JSON.stringify/parse unchanged, or undefined when it would. */
function jsonProblem(value: unknown, path: string): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot represent`;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const problem = jsonProblem(value[index], `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === "object" && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(item, `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  const kind = typeof value === "object" ? (Object.getPrototypeOf(value)?.constructor?.name ?? "object") : typeof value;
  return `${path} is a ${kind}, not a JSON value`;
}
