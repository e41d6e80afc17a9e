import { z } from "zod";

/**
 * How a bundle stores a matrix of embeddings (rows × dim):
 * - `f32`: little-endian float32 values, row after row (bundles before int8 storage);
 * - `i8-row`: one float32 scale per row, then every row's values as int8, value ≈ q × scale with
 *   scale = max |value| / 127 — a quarter of the bytes, so a cold isolate fetches less from KV. The pipeline builds
 *   the ANN index and everything downstream from the decoded values, so serving and evaluation see one set of vectors.
 */
export const embeddingFormatSchema = z.enum(["f32", "i8-row"]);
export type EmbeddingFormat = z.infer<typeof embeddingFormatSchema>;

const INT8_MAX = 127;

export function encodedEmbeddingBytes(rows: number, dim: number, format: EmbeddingFormat): number {
  return format === "f32" ? rows * dim * 4 : rows * 4 + rows * dim;
}

export function encodeEmbeddings(vectors: Float32Array, dim: number, format: EmbeddingFormat): Uint8Array {
  if (dim <= 0 || vectors.length % dim !== 0) throw new Error(`embeddings: ${vectors.length} values are not rows of ${dim}`);
  const rows = vectors.length / dim;
  if (format === "f32") return new Uint8Array(vectors.buffer.slice(vectors.byteOffset, vectors.byteOffset + vectors.byteLength));
  const out = new Uint8Array(encodedEmbeddingBytes(rows, dim, format));
  const scales = new DataView(out.buffer, 0, rows * 4);
  const values = new Int8Array(out.buffer, rows * 4, rows * dim);
  for (let row = 0; row < rows; row++) {
    let maxAbs = 0;
    for (let d = 0; d < dim; d++) {
      const value = vectors[row * dim + d] as number;
      if (!Number.isFinite(value)) throw new Error(`embeddings: row ${row} holds ${value}`);
      maxAbs = Math.max(maxAbs, Math.abs(value));
    }
    const scale = Math.fround(maxAbs / INT8_MAX);
    scales.setFloat32(row * 4, scale, true);
    if (scale === 0) continue;
    for (let d = 0; d < dim; d++) values[row * dim + d] = Math.max(-INT8_MAX, Math.min(INT8_MAX, Math.round((vectors[row * dim + d] as number) / scale)));
  }
  return out;
}

/** Decodes `rows` × `dim` embeddings; throws when the byte count does not match the format (a truncated file, say). */
export function decodeEmbeddings(bytes: Uint8Array, rows: number, dim: number, format: EmbeddingFormat): Float32Array {
  const expected = encodedEmbeddingBytes(rows, dim, format);
  if (bytes.byteLength !== expected) throw new Error(`${bytes.byteLength} bytes, expected ${expected} for ${rows} × ${dim} ${format}`);
  if (format === "f32") return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, rows * dim) : new Float32Array(bytes.slice().buffer);
  const scales = new DataView(bytes.buffer, bytes.byteOffset, rows * 4);
  const values = new Int8Array(bytes.buffer, bytes.byteOffset + rows * 4, rows * dim);
  const out = new Float32Array(rows * dim);
  for (let row = 0; row < rows; row++) {
    const scale = scales.getFloat32(row * 4, true);
    if (!Number.isFinite(scale) || scale < 0) throw new Error(`row ${row} has scale ${scale}`);
    for (let d = 0; d < dim; d++) out[row * dim + d] = (values[row * dim + d] as number) * scale;
  }
  return out;
}

/** The vectors serving will see after the bundle stores `vectors` in `format`. */
export function storedEmbeddings(vectors: Float32Array, dim: number, format: EmbeddingFormat): Float32Array {
  return decodeEmbeddings(encodeEmbeddings(vectors, dim, format), vectors.length / dim, dim, format);
}
