// Takedowns without a model bundle: this file's KV starts empty (storage is isolated per test file), so both feeds
// serve the popular fallback list, which must leave a taken-down item out from the next request on.
import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";

it("leaves a taken-down item out of the popular fallback list of both feeds", async () => {
  await env.BUNDLES.put(FALLBACK_POPULAR_KEY, JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ item_id: `p${i}`, author_id: `a${i % 3}`, score: 12 - i }))));
  const page = async (feed: string) => (await (await exports.default.fetch(`http://ranker.test/v1/${feed}`, { method: "POST", body: JSON.stringify({ user_id: "u1", count: 12 }) })).json()) as { degraded: boolean; items: { item_id: string }[] };
  expect((await page("explore")).items.map((item) => item.item_id)).toContain("p0");
  const takedown = await exports.default.fetch("http://ranker.test/v1/items/p0", { method: "DELETE", headers: { authorization: "Bearer test-admin-token" } });
  expect(takedown.status).toBe(200);
  for (const feed of ["explore", "suggested"]) {
    const answer = await page(feed);
    expect(answer.degraded).toBe(true);
    expect(answer.items.map((item) => item.item_id), feed).toEqual(Array.from({ length: 11 }, (_, i) => `p${i + 1}`));
  }
});
