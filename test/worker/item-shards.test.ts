// The two-tower source over item shards (Durable Objects, worker/shards/item-shard.ts) instead of the Worker's own
// index: the same feeds, and a shard that cannot answer degrades the feed, naming the shard, instead of failing it.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { fileKey } from "../../core/bundle/kv-layout";
import { shardIndexPath } from "../../core/shards/layout";
import "../support/fixture-types";
import { seedShardedFixtureBundle } from "./setup/seed-bundle";

interface ExploreBody {
  model_version: string;
  degraded: boolean;
  items: { item_id: string; score: number; sources: string[] }[];
  debug?: { degraded_reasons: string[]; sources: Record<string, { candidates: number }> };
}

/** The first answer from `version` (a newly activated version is swapped in by the request after the one that saw it). */
async function exploreOn(version: string, body: unknown): Promise<ExploreBody> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const answer = await explore(body);
    if (answer.model_version === version) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`version ${version} was never served`);
}

const explore = async (body: unknown): Promise<ExploreBody> => {
  const response = await exports.default.fetch("http://ranker.test/v1/explore", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  expect(response.status).toBe(200);
  return (await response.json()) as ExploreBody;
};

describe("item shards", () => {
  it("serve the feeds the Worker's own index serves (the funnel run in Node on the unsharded bundle)", async () => {
    const version = await seedShardedFixtureBundle("fixture-sharded");
    const fixture = inject("fixtureBundle");
    for (const expected of fixture.expectations) {
      const body = await exploreOn(version, { user_id: expected.userId, count: 20, at_ms: fixture.asOfMs, debug: true });
      expect(body.model_version).toBe(version);
      expect(body.degraded, JSON.stringify(body.debug?.degraded_reasons)).toBe(false);
      expect(body.items.map((item) => item.item_id), `user ${expected.userId}`).toEqual(expected.items);
      body.items.forEach((item, i) => expect(Math.abs(item.score - (expected.scores[i] as number))).toBeLessThanOrEqual(1e-6 * Math.abs(expected.scores[i] as number)));
    }
  });

  it("serve a degraded feed without a shard that cannot load its slice, and name it", async () => {
    const version = await seedShardedFixtureBundle("fixture-sharded-missing-1");
    await env.BUNDLES.delete(fileKey(version, shardIndexPath(1)));
    const user = inject("fixtureBundle").expectations[0]?.userId;
    const body = await exploreOn(version, { user_id: user, count: 20, debug: true });
    expect(body.model_version).toBe(version);
    expect(body.items).toHaveLength(20);
    expect(body.degraded).toBe(true);
    expect(body.debug?.degraded_reasons.some((reason) => /^item shard 1 failed: .*retrieval\.usearch/.test(reason)), JSON.stringify(body.debug?.degraded_reasons)).toBe(true);
    expect(body.debug?.degraded_reasons.some((reason) => /item shard [02]/.test(reason))).toBe(false);
    // the two shards that answered still fed the two-tower source
    expect(body.debug?.sources.two_tower?.candidates ?? 0).toBeGreaterThan(0);
  });

  it("answer only for a bundle version they can load", async () => {
    const stub = env.ITEM_SHARDS.get(env.ITEM_SHARDS.idFromName("item-shard-0"));
    const refused = await stub.search(0, "no-such-version", new Float32Array(64), 10, 10).then(
      () => "answered",
      (error: unknown) => (error as Error).message,
    );
    expect(refused).toMatch(/bundle no-such-version cannot be loaded/);
  });
});
