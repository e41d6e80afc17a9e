import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";

const suggested = (body: unknown) => exports.default.fetch("http://ranker.test/v1/suggested", { method: "POST", body: JSON.stringify(body) });

interface Body {
  model_version: string | null;
  cold_start: boolean;
  degraded: boolean;
  items: { item_id: string; author_id: string; seed_id: string | null; seed_type: string; p: unknown }[];
  debug?: { degraded_reasons: string[] };
}

// This file's KV starts empty (storage is isolated per test file): no bundle has ever been published.
describe("POST /v1/suggested in degraded mode", () => {
  it("answers 200 from the stored popular list when no bundle can be loaded, as popular suggestions, and says why", async () => {
    const fallback = Array.from({ length: 8 }, (_, i) => ({ item_id: `p${i}`, author_id: `a${i}`, score: 8 - i }));
    await env.BUNDLES.put(FALLBACK_POPULAR_KEY, JSON.stringify(fallback));
    const response = await suggested({ user_id: "u1", count: 4, exclude: ["p1"], debug: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("server-timing")).toMatch(/fallback;dur=\d.*total;dur=\d/);
    const body = (await response.json()) as Body;
    expect(body).toMatchObject({ model_version: null, cold_start: true, degraded: true });
    expect(body.items.map((item) => item.item_id)).toEqual(["p0", "p2", "p3", "p4"]);
    expect(body.items.every((item) => item.seed_type === "popular" && item.seed_id === null && item.p === null)).toBe(true);
    expect(body.debug?.degraded_reasons.join(" ")).toMatch(/bundle/);
  });

  it("/v1/query answers 503 without a bundle, but still checks the query first", async () => {
    const query = (text: string) => exports.default.fetch("http://ranker.test/v1/query", { method: "POST", body: JSON.stringify({ query: text, user_id: "u1" }), headers: { authorization: "Bearer test-admin-token" } });
    expect((await query("user.popular(n=5)")).status).toBe(503);
    expect((await query("user.popular(n=5")).status).toBe(400);
  });
});
