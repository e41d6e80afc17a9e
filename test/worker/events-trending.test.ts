// The global trending Durable Object: decay math through RPC, top-n, weights, bounds and persistence.
// Storage is per test file and the instance is shared by every test here, so each test uses its own items.
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOUR_MS } from "../../core/realtime/decayed-counter";
import { TRENDING_LIMITS, trendingOptions, trendingStub, type Trending, type TrendingEvent } from "../../worker/state/trending";

const HALF_LIFE = 6 * HOUR_MS;

function items(count: number): string[] {
  const prefix = crypto.randomUUID();
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

function clicks(itemId: string, count: number, ts: number, type: TrendingEvent["type"] = "click"): TrendingEvent[] {
  return Array.from({ length: count }, () => ({ item_id: itemId, type, ts }));
}

async function scoresOf(ids: readonly string[], asOfMs?: number): Promise<Array<[string, number]>> {
  const top = await trendingStub(env).top(TRENDING_LIMITS.top, asOfMs);
  return top.filter((entry) => ids.includes(entry.item_id)).map((entry) => [entry.item_id, entry.score]);
}

describe("Trending", () => {
  it("ranks items by engagement decayed with a 6-hour half-life", async () => {
    const [a, b, c] = items(3) as [string, string, string];
    const ts = Date.now() - 60_000;
    const result = await trendingStub(env).record([...clicks(a, 4, ts), ...clicks(b, 2, ts), ...clicks(c, 3, ts - HALF_LIFE)]);
    expect(result.counted).toBe(9);
    const later = await scoresOf([a, b, c], ts + HALF_LIFE);
    expect(later.map(([id]) => id)).toEqual([a, b, c]);
    expect(later.map(([, score]) => score)).toEqual([2, 1, 0.75].map((score) => expect.closeTo(score, 9)));
    const now = await scoresOf([a], ts);
    expect(now[0]?.[1]).toBeCloseTo(4, 9);
  });

  it("returns at most n items, best first", async () => {
    const ids = items(5);
    const ts = Date.now();
    await trendingStub(env).record(ids.flatMap((id, i) => clicks(id, 100 + i, ts))); // far above the other tests' items
    const top = await trendingStub(env).top(3, ts);
    expect(top.map((entry) => entry.item_id)).toEqual([ids[4], ids[3], ids[2]]);
    expect(top.map((entry) => entry.score)).toEqual([104, 103, 102].map((score) => expect.closeTo(score, 9)));
    expect(await trendingStub(env).top(0)).toEqual([]);
  });

  it("does not count impressions or hates", async () => {
    const [shown, hated] = items(2) as [string, string];
    const result = await trendingStub(env).record([...clicks(shown, 5, Date.now(), "impression"), ...clicks(hated, 5, Date.now(), "hate")]);
    expect(result.counted).toBe(0);
    expect(await scoresOf([shown, hated])).toEqual([]);
  });

  it("forgets items whose score fell below the threshold", async () => {
    await abortAllDurableObjects(); // a fresh instance prunes on its first record
    const [stale, fresh] = items(2) as [string, string];
    const now = Date.now();
    await trendingStub(env).record([...clicks(stale, 1, now - 10 * HALF_LIFE), ...clicks(fresh, 1, now)]); // 2^-10 < 0.01
    expect((await scoresOf([stale, fresh], now)).map(([id]) => id)).toEqual([fresh]);
    const storedStale = await runInDurableObject(trendingStub(env), (_instance: Trending, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM item_scores WHERE item_id = ?", stale).one().n,
    );
    expect(storedStale).toBe(0);
  });

  it("tracks at most 10,000 items, in memory and in storage", async () => {
    const ids = items(10_500);
    const ts = Date.now();
    let tracked = 0;
    for (let from = 0; from < ids.length; from += TRENDING_LIMITS.record) {
      tracked = (await trendingStub(env).record(ids.slice(from, from + TRENDING_LIMITS.record).map((id) => ({ item_id: id, type: "like" as const, ts })))).trackedItems;
      expect(tracked).toBeLessThanOrEqual(10_000);
    }
    const stored = await runInDurableObject(trendingStub(env), (_instance: Trending, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM item_scores").one().n);
    expect(stored).toBe(tracked);
  });

  it("comes back with the same scores after a restart", async () => {
    const [a, b] = items(2) as [string, string];
    const ts = Date.now() - HOUR_MS;
    await trendingStub(env).record([...clicks(a, 30, ts), ...clicks(b, 20, ts - HOUR_MS)]); // above the other tests' items
    const before = await scoresOf([a, b], ts + HOUR_MS);
    await abortAllDurableObjects();
    expect(await scoresOf([a, b], ts + HOUR_MS)).toEqual(before);
    expect(before).toHaveLength(2);
  });

  // Error paths go through runInDurableObject: a rejecting RPC through a stub leaks an unhandled
  // rejection in vitest-pool-workers 0.15 (cloudflare/workers-sdk#14736).
  it("rejects bad arguments with a message", async () => {
    await runInDurableObject(trendingStub(env), (instance: Trending) => {
      expect(() => instance.top(-1)).toThrow(/n must be/);
      expect(() => instance.top(TRENDING_LIMITS.top + 1)).toThrow(/n must be/);
      expect(() => instance.top(1, Number.NaN)).toThrow(/asOfMs/);
      expect(() => instance.record([{ item_id: "", type: "click", ts: 1 }])).toThrow(/item_id/);
      expect(() => instance.record([{ item_id: "x", type: "buy" as TrendingEvent["type"], ts: 1 }])).toThrow(/type/);
      expect(() => instance.record([{ item_id: "x", type: "click", ts: 1.5 }])).toThrow(/ts/);
    });
  });
});

describe("trendingOptions", () => {
  it("reads the half-life from TRENDING_HALF_LIFE_HOURS, defaulting to 6 hours", () => {
    expect(trendingOptions({}).halfLifeMs).toBe(HALF_LIFE);
    expect(trendingOptions({ TRENDING_HALF_LIFE_HOURS: "" }).halfLifeMs).toBe(HALF_LIFE);
    expect(trendingOptions({ TRENDING_HALF_LIFE_HOURS: "1.5" }).halfLifeMs).toBe(1.5 * HOUR_MS);
    for (const bad of ["0", "-2", "six", "Infinity"]) expect(() => trendingOptions({ TRENDING_HALF_LIFE_HOURS: bad })).toThrow(/TRENDING_HALF_LIFE_HOURS/);
  });
});
