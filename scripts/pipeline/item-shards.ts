import { shardIndexPath, shardRowRanges, type ItemShards } from "../../core/shards/layout";
import { buildAnnIndexNative } from "../ann/native";

/**
 * The item shards' files: the two-tower index over each shard's contiguous rows of `vectors` (the stored retrieval
 * item embeddings), keyed by global row, built like the bundle's whole index. With the manifest section that names
 * them (core/shards/layout.ts).
 */
export function buildItemShardFiles(vectors: Float32Array, dim: number, shardCount: number): { files: Map<string, Uint8Array>; section: ItemShards } {
  const itemCount = vectors.length / dim;
  const rows = shardRowRanges(itemCount, shardCount);
  const files = new Map<string, Uint8Array>();
  for (const [shard, [first, end]] of rows.entries()) {
    files.set(shardIndexPath(shard), buildAnnIndexNative(vectors.subarray(first * dim, end * dim), dim, { metric: "ip", threads: 1, firstKey: first }));
  }
  return { files, section: { count: shardCount, rows, files: [...files.keys()] } };
}
