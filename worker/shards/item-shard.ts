import { DurableObject } from "cloudflare:workers";
import usearchWasm from "../../wasm/usearch/usearch.wasm";
import { UsearchRuntime } from "../../core/ann/runtime";
import { loadBundle } from "../../core/bundle/store";
import { workersKvReader } from "../bundle/kv";
import { parseServingManifest } from "../../core/serving/bundle-manifest";
import type { ShardAnswer, ShardSearch } from "../../core/shards/fan-out";
import { ItemShardIndex } from "../../core/shards/shard-index";
import { shardIndexPath } from "../../core/shards/layout";

/** Versions a shard keeps open: the one serving and the one before it, for requests still in flight over a switch. */
const OPEN_VERSIONS = 2;

/**
 * One item shard: the two-tower index over a slice of the catalogue's rows (core/shards/layout.ts), loaded from
 * the bundle in KV for the version a request names, and searched for the Worker's fan-out (core/shards/fan-out.ts).
 * Objects are named `item-shard-<i>`; the shard number travels with each call, so an object never guesses it.
 */
export class ItemShard extends DurableObject<Env> {
  private usearch: UsearchRuntime | undefined;
  private readonly open = new Map<string, Promise<ItemShardIndex>>();

  async search(shard: number, version: string, vector: Float32Array, k: number, exactMaxItemsPerResult: number): Promise<ShardAnswer> {
    const index = await this.indexFor(shard, version);
    return index.search(vector, k, exactMaxItemsPerResult);
  }

  private indexFor(shard: number, version: string): Promise<ItemShardIndex> {
    const key = `${shard} ${version}`;
    let opening = this.open.get(key);
    if (opening === undefined) {
      opening = this.load(shard, version);
      this.open.set(key, opening);
      // a failed load is not kept: the next request tries again
      opening.catch(() => this.open.delete(key));
      while (this.open.size > OPEN_VERSIONS) {
        const [oldest, evicted] = this.open.entries().next().value as [string, Promise<ItemShardIndex>];
        this.open.delete(oldest);
        evicted.then((index) => index.dispose(), () => undefined);
      }
    }
    return opening;
  }

  private async load(shard: number, version: string): Promise<ItemShardIndex> {
    const path = shardIndexPath(shard);
    const files = await loadBundle(workersKvReader(this.env.BUNDLES), version, { files: (file) => file === path });
    const manifest = parseServingManifest(files.manifest);
    const shards = manifest.models.retrieval.shards;
    const rows = shards?.rows[shard];
    if (shards === undefined || rows === undefined || shards.files[shard] !== path) throw new Error(`bundle ${version} has no item shard ${shard}`);
    const bytes = files.files.get(path);
    if (bytes === undefined) throw new Error(`bundle ${version}: ${path} was not loaded`);
    this.usearch ??= new UsearchRuntime(usearchWasm);
    return ItemShardIndex.open(this.usearch, shard, version, rows, bytes, { dimensions: manifest.models.retrieval.dim, metric: manifest.models.retrieval.metric });
  }
}

/** The Worker's side: one search function per shard of `count`, each calling its shard's object. */
export function itemShardSearches(env: Env, count: number, exactMaxItemsPerResult: number): ShardSearch[] {
  return Array.from({ length: count }, (_, shard) => {
    const stub = env.ITEM_SHARDS.get(env.ITEM_SHARDS.idFromName(`item-shard-${shard}`));
    return (version, vector, k) => stub.search(shard, version, vector, k, exactMaxItemsPerResult);
  });
}
