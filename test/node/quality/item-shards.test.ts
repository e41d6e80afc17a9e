// Item shards on the real data: the two-tower's top-1,000 over four shards, merged, is exactly what the bundle's
// whole index returns, for 300 users (core/shards). The Worker's own path (shards as Durable Objects) is tested in
// workerd (test/worker/item-shards.test.ts).
import { describe, expect, it } from "vitest";
import { scoredNeighbours, searchTwoTower } from "../../../core/ann/two-tower-search";
import { resolveFeedUser } from "../../../core/funnel/user";
import { NO_REALTIME_STATE } from "../../../core/funnel/types";
import { embedUser } from "../../../core/serving/bundle-models";
import { openServingBundle } from "../../../core/serving/serving-bundle";
import { searchShards, type ShardSearch } from "../../../core/shards/fan-out";
import { ItemShardIndex } from "../../../core/shards/shard-index";
import { createNodeUsearchRuntime } from "../../../scripts/ann/usearch-wasm";
import { loadBundleDirectory } from "../../../scripts/lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { buildItemShardFiles } from "../../../scripts/pipeline/item-shards";
import { snapshotUsers } from "../../support/feed-snapshot";
import { realDataBundle } from "../../support/real-bundle";

describe("item shards on the real bundle", () => {
  it("return the whole index's top-1,000, item for item and score for score", async () => {
    const files = await loadBundleDirectory(await realDataBundle());
    const usearch = createNodeUsearchRuntime();
    const bundle = await openServingBundle(files.manifest, files.files, createNodeOrtWebAdapter(), usearch);
    const { tables } = bundle;
    const { dim, metric } = tables.manifest.models.retrieval;
    const sharded = buildItemShardFiles(tables.retrievalItemEmbeddings, dim, 4);
    const shards = sharded.section.files.map((path, shard) => ItemShardIndex.open(usearch, shard, bundle.version, sharded.section.rows[shard] as [number, number], sharded.files.get(path) as Uint8Array, { dimensions: dim, metric }));
    const exactMax = tables.config.retrieval.exactSearchMaxItemsPerResult;
    const searches: ShardSearch[] = shards.map((shard) => async (_version, vector, k) => shard.search(vector, k, exactMax));
    const whole = bundle.models.retrievalIndex;
    const tower = bundle.models.retrievalUserTower;
    if (!whole || !tower) throw new Error("the real bundle lacks its index or user tower");
    let compared = 0;
    for (const row of snapshotUsers(tables.users.ids.size, 300, 7)) {
      const user = resolveFeedUser(tables, tables.users.ids.id(row), NO_REALTIME_STATE, tables.config);
      const embedding = await embedUser(tower, tables, user.context);
      const expected = scoredNeighbours(searchTwoTower(whole, embedding, 1000, exactMax)).sort((a, b) => b.score - a.score || a.id - b.id);
      const merged = await searchShards(searches, embedding, 1000, { version: bundle.version, timeoutMs: 10_000 });
      expect(merged.problems).toEqual([]);
      expect(merged.hits).toEqual(expected);
      compared++;
    }
    expect(compared).toBe(300);
    for (const shard of shards) shard.dispose();
    await bundle.release();
  }, 20 * 60_000);
});
