import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app";
import { RATE_LIMIT_PERIOD_SECONDS } from "../../worker/contract/errors";

const BASE = "http://ranker.test";

/** A limiter that lets `allowed` requests of each key through, recording every key it was asked about. */
function countingLimiter(allowed: number): { limiter: RateLimit; keys: string[] } {
  const keys: string[] = [];
  const counts = new Map<string, number>();
  const limiter = {
    async limit({ key }: RateLimitOptions): Promise<RateLimitOutcome> {
      keys.push(key);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return { success: (counts.get(key) as number) <= allowed };
    },
  };
  return { limiter, keys };
}

const call = (limiter: RateLimit, path: string, init: RequestInit) => createApp().fetch(new Request(`${BASE}${path}`, init), { ...env, RATE_LIMITER: limiter }, createExecutionContext());
const experiment = (token: string) => ({ method: "GET", headers: { authorization: `Bearer ${token}` } });

describe("rate limits", () => {
  it("lets a client's requests through up to the limit, then answers 429 with Retry-After and the error body", async () => {
    const { limiter } = countingLimiter(3);
    for (let i = 0; i < 3; i++) expect((await call(limiter, "/v1/admin/experiments/none", experiment("test-admin-token"))).status).toBe(404);
    const refused = await call(limiter, "/v1/admin/experiments/none", experiment("test-admin-token"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe(String(RATE_LIMIT_PERIOD_SECONDS));
    expect(await refused.json()).toEqual({ error: { code: "rate_limited", message: `this client is over its request rate on ADMIN_TOKEN routes; retry after ${RATE_LIMIT_PERIOD_SECONDS} s` } });
  });

  it("counts per token and route class, never with the token itself in the key, and only clients that passed the token check", async () => {
    const { limiter, keys } = countingLimiter(1_000);
    await call(limiter, "/v1/admin/experiments/none", experiment("test-admin-token"));
    await call(limiter, "/v1/admin/experiments/none", experiment("test-admin-token"));
    await call(limiter, "/v1/events", { method: "POST", body: "{}", headers: { authorization: "Bearer test-ingest-token" } });
    expect((await call(limiter, "/v1/admin/experiments/none", experiment("wrong-token"))).status).toBe(401);
    // an open feed route counts by the client's address
    await call(limiter, "/v1/explore", { method: "POST", body: "{}", headers: { "cf-connecting-ip": "192.0.2.7" } });
    expect(keys).toHaveLength(4);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).toMatch(/^ADMIN_TOKEN:token:[0-9a-f]{32}$/);
    expect(keys[2]).toMatch(/^INGEST_TOKEN:token:[0-9a-f]{32}$/);
    expect(keys[3]).toBe("FEED_TOKEN:address:192.0.2.7");
    expect(keys.join()).not.toContain("test-admin-token");
  });

  it("runs on the real binding in workerd, and the open routes are not limited", async () => {
    expect(env.RATE_LIMITER).toBeDefined();
    const { limiter, keys } = countingLimiter(0);
    expect((await call(limiter, "/health", { method: "GET" })).status).not.toBe(429);
    expect(keys).toHaveLength(0);
    const response = await createApp().fetch(new Request(`${BASE}/v1/admin/experiments/none`, experiment("test-admin-token")), env, createExecutionContext());
    expect(response.status).toBe(404);
  });
});
