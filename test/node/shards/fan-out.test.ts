import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeTopK, searchShards, type ShardAnswer, type ShardSearch } from "../../../core/shards/fan-out";
import { itemShardsProblem, shardRowRanges } from "../../../core/shards/layout";

/** Shards over `distances` (one per item row): each answers its own best `k` rows, best first. */
function shardsOver(distances: readonly number[], shardCount: number, version = "v1"): ShardSearch[] {
  return shardRowRanges(distances.length, shardCount).map(([first, end], shard) => async (_version, _vector, k) => {
    const rows = Array.from({ length: end - first }, (_, i) => first + i).sort((a, b) => (distances[a] as number) - (distances[b] as number) || a - b).slice(0, k);
    return { shard, version, keys: Int32Array.from(rows), distances: Float32Array.from(rows, (row) => distances[row] as number), ms: 0 } satisfies ShardAnswer;
  });
}

const vector = new Float32Array(4);

describe("shard row ranges", () => {
  it("cover the catalogue in contiguous ranges whose sizes differ by at most one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 64 }), (items, shards) => {
        const ranges = shardRowRanges(items, shards);
        expect(ranges).toHaveLength(shards);
        const sizes = ranges.map(([first, end]) => end - first);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(itemShardsProblem({ count: shards, rows: ranges, files: ranges.map((_, i) => `shards/${i}`) }, items)).toBeUndefined();
      }),
    );
  });

  it("are refused by the manifest check when they leave a gap, overlap or miss rows", () => {
    expect(itemShardsProblem({ count: 2, rows: [[0, 5], [6, 10]], files: ["shards/a", "shards/b"] }, 10)).toMatch(/shard 1 covers rows \[6, 10\), expected to start at 5/);
    expect(itemShardsProblem({ count: 2, rows: [[0, 5], [5, 9]], files: ["shards/a", "shards/b"] }, 10)).toMatch(/cover 9 rows, the catalogue has 10/);
    expect(itemShardsProblem({ count: 2, rows: [[0, 10]], files: ["shards/a"] }, 10)).toMatch(/2 shards but 1 row ranges/);
  });
});

describe("the fan-out", () => {
  it("merges the shards' top-k into exactly the whole catalogue's top-k", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 50 }), async (distances, shardCount, k) => {
        const result = await searchShards(shardsOver(distances, shardCount), vector, k, { version: "v1", timeoutMs: 1000 });
        const whole = distances.map((distance, row) => ({ row, distance })).sort((a, b) => a.distance - b.distance || a.row - b.row).slice(0, k);
        expect(result.hits.map((hit) => hit.id)).toEqual(whole.map((entry) => entry.row));
        result.hits.forEach((hit, i) => expect(hit.score).toBe(1 - Math.fround(whole[i]?.distance as number)));
        expect(result.problems).toEqual([]);
      }),
    );
  });

  it("leaves out a shard that is too slow, fails, answers for another version or garbles its answer, and names it", async () => {
    const distances = Array.from({ length: 40 }, (_, row) => row / 40);
    const [zero, , , three, four] = shardsOver(distances, 5) as [ShardSearch, ShardSearch, ShardSearch, ShardSearch, ShardSearch];
    const never: ShardSearch = () => new Promise(() => undefined);
    const failing: ShardSearch = async () => Promise.reject(new Error("storage unavailable"));
    const otherVersion: ShardSearch = async (version, v, k) => ({ ...(await three(version, v, k)), version: "v0" });
    const garbled: ShardSearch = async (version, v, k) => ({ ...(await four(version, v, k)), distances: new Float32Array(1) });
    const started = Date.now();
    const result = await searchShards([zero, never, failing, otherVersion, garbled], vector, 10, { version: "v1", timeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.problems).toEqual([
      "item shard 1 did not answer within 50 ms",
      "item shard 2 failed: storage unavailable",
      "item shard 3 holds bundle v0, not v1: not used",
      "item shard 4 answered 8 items with 1 distances: not used",
    ]);
    // shard 0 holds rows 0..7: all that is left
    expect(result.hits.map((hit) => hit.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Number.isNaN(result.shardMs[1] as number)).toBe(true);
  });

  it("counts an item that two shards return once", () => {
    const answer = { keys: Int32Array.from([3, 1]), distances: Float32Array.from([0.1, 0.2]) };
    expect(mergeTopK([answer, answer, undefined], 5).map((hit) => hit.id)).toEqual([3, 1]);
  });
});
