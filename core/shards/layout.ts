import { z } from "zod";

/**
 * A catalogue too large for one isolate is split into item shards: shard i holds the two-tower's index over a
 * contiguous range of item rows (keys are the global rows), in its own bundle file. Each shard is served by its own
 * Durable Object (worker/shards/item-shard.ts); the Worker fans the user's embedding out and merges
 * (core/shards/fan-out.ts). The files live under the bundle's version like every other file, so publishing and the
 * `active` switch cover them; the front Worker does not load them.
 */
export const SHARD_FILES_PREFIX = "shards/";

export const itemShardsSchema = z.object({
  count: z.number().int().min(1).max(256),
  /** `[first, end)` item rows per shard, contiguous and in order, covering the catalogue. */
  rows: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
  /** Each shard's index file (a USearch index over its rows, keyed by global row). */
  files: z.array(z.string().startsWith(SHARD_FILES_PREFIX)),
});
export type ItemShards = z.infer<typeof itemShardsSchema>;

/** Splits `itemCount` rows into `shardCount` contiguous ranges whose sizes differ by at most one. */
export function shardRowRanges(itemCount: number, shardCount: number): [number, number][] {
  if (!Number.isSafeInteger(itemCount) || itemCount < 0) throw new RangeError(`item count ${itemCount} is not a non-negative integer`);
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) throw new RangeError(`shard count ${shardCount} is not a positive integer`);
  const base = Math.floor(itemCount / shardCount);
  const larger = itemCount % shardCount;
  const ranges: [number, number][] = [];
  let first = 0;
  for (let shard = 0; shard < shardCount; shard++) {
    const end = first + base + (shard < larger ? 1 : 0);
    ranges.push([first, end]);
    first = end;
  }
  return ranges;
}

export function shardIndexPath(shard: number): string {
  return `${SHARD_FILES_PREFIX}${String(shard).padStart(3, "0")}/retrieval.usearch`;
}

/** Why a manifest's shard section cannot describe `itemCount` rows, or undefined when it can. */
export function itemShardsProblem(shards: ItemShards, itemCount: number): string | undefined {
  if (shards.rows.length !== shards.count || shards.files.length !== shards.count) return `${shards.count} shards but ${shards.rows.length} row ranges and ${shards.files.length} files`;
  let expected = 0;
  for (const [shard, [first, end]] of shards.rows.entries()) {
    if (first !== expected || end < first) return `shard ${shard} covers rows [${first}, ${end}), expected to start at ${expected}`;
    expected = end;
  }
  if (expected !== itemCount) return `the shards cover ${expected} rows, the catalogue has ${itemCount}`;
  return undefined;
}
