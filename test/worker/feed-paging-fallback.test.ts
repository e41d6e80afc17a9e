// Paging without a model bundle: the popular fallback list pages by cursor too, without repeats. This file's KV
// starts empty (storage is isolated per test file), so no bundle is ever loaded.
import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";

interface Page {
  degraded: boolean;
  items: { item_id: string }[];
  cursor: string | null;
}

it("pages through the fallback list once, for each feed", async () => {
  await env.BUNDLES.put(FALLBACK_POPULAR_KEY, JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ item_id: `p${i}`, author_id: `a${i % 3}`, score: 12 - i }))));
  for (const feed of ["explore", "suggested"]) {
    const ids: string[][] = [];
    let cursor: string | null = null;
    for (let p = 0; p < 4; p++) {
      const response = await exports.default.fetch(`http://ranker.test/v1/${feed}`, { method: "POST", body: JSON.stringify({ user_id: "u1", count: 5, ...(cursor ? { cursor } : {}) }) });
      expect(response.status).toBe(200);
      const page = (await response.json()) as Page;
      expect(page.degraded).toBe(true);
      expect(page.cursor).toEqual(expect.any(String));
      cursor = page.cursor;
      ids.push(page.items.map((item) => item.item_id));
    }
    expect(ids.map((page) => page.length), feed).toEqual([5, 5, 2, 0]);
    expect(new Set(ids.flat()).size).toBe(12);
  }
});
