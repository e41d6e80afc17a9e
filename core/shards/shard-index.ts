import { AnnIndex } from "../ann/ann-index";
import type { AnnMetric } from "../ann/abi";
import type { UsearchRuntime } from "../ann/runtime";
import { searchTwoTower } from "../ann/two-tower-search";
import type { ShardAnswer } from "./fan-out";

/**
 * What one item shard serves: the two-tower index over its rows for one bundle version. The Durable Object that
 * holds a shard (worker/shards/item-shard.ts) and the in-process shards of the tests and benchmarks both use it.
 */
export class ItemShardIndex {
  private constructor(
    readonly shard: number,
    readonly version: string,
    readonly rows: readonly [number, number],
    private readonly index: AnnIndex,
  ) {}

  static open(usearch: UsearchRuntime, shard: number, version: string, rows: readonly [number, number], bytes: Uint8Array, options: { readonly dimensions: number; readonly metric: AnnMetric }): ItemShardIndex {
    const index = AnnIndex.load(usearch, bytes, { dimensions: options.dimensions, metric: options.metric });
    if (index.size !== rows[1] - rows[0]) {
      index.dispose();
      throw new Error(`item shard ${shard}: its index holds ${index.size} items, its rows [${rows[0]}, ${rows[1]}) are ${rows[1] - rows[0]}`);
    }
    return new ItemShardIndex(shard, version, rows, index);
  }

  get size(): number {
    return this.index.size;
  }

  /** The shard's best `k` items for `vector`, searched as the whole index would be (`searchTwoTower`). */
  search(vector: Float32Array, k: number, exactMaxItemsPerResult: number): ShardAnswer {
    if (vector.length !== this.index.dimensions) throw new RangeError(`item shard ${this.shard}: a ${vector.length}-dimension vector for a ${this.index.dimensions}-dimension index`);
    if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`item shard ${this.shard}: k ${k} is not a non-negative integer`);
    const started = performance.now();
    const found = k === 0 || this.index.size === 0 ? { keys: new Uint32Array(0), distances: new Float32Array(0) } : searchTwoTower(this.index, vector, k, exactMaxItemsPerResult);
    return { shard: this.shard, version: this.version, keys: Int32Array.from(found.keys), distances: Float32Array.from(found.distances), ms: performance.now() - started };
  }

  dispose(): void {
    this.index.dispose();
  }
}
