import { beforeAll, describe, expect, it } from "vitest";
import defaultServingJson from "../../../models/serving-config.json";
import { LABEL_BIT } from "../../../core/features/engagement";
import { parseServingConfig, servingConfigSchema } from "../../../core/config/serving";
import type { RealtimeUserState } from "../../../core/funnel/types";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { COLD_START_BUDGET_FACTOR, COLD_START_REQUESTS, DEFAULT_SUGGESTED_QUERIES, assembleSuggestions, roundRobinBySeed, suggestPosts, type SeededItem, type SuggestedFeed } from "../../../core/suggested";
import { DEFAULT_SERVING_CONFIG } from "../../../models/serving-config";
import { busyUsers, feedUser, fixtureServingBundle, storesFor, testConfig } from "./fixture";

let bundle: ServingBundle;
let busy: number;

beforeAll(async () => {
  bundle = await fixtureServingBundle();
  busy = (busyUsers(bundle)[0] as { row: number }).row;
}, 600_000);

async function suggest(row: number | string, options: { count?: number; config?: ReturnType<typeof testConfig>; realtime?: RealtimeUserState; exclude?: Set<number>; bundle?: ServingBundle } = {}): Promise<SuggestedFeed> {
  const r = options.bundle ?? bundle;
  const config = options.config ?? testConfig(r);
  const realtime = options.realtime ?? { engagements: [], seenItems: new Set<number>(), followedAuthors: new Set<number>() };
  return suggestPosts(r, { user: feedUser(r, row, config, realtime), count: options.count ?? 20, exclude: options.exclude ?? new Set(), nowMs: r.tables.asOfMs, config });
}

/** The shipped config as it was before Suggested Posts: no `suggested` section. */
const { suggested: _shipped, ...olderJson } = defaultServingJson.defaults as typeof defaultServingJson.defaults & { suggested?: unknown };

const RANK: Record<string, number> = { H: 0, R: 1, F: 2, popular: 3 };

describe("the suggested config section", () => {
  it("defaults when absent, so configs written before Suggested Posts still parse", () => {
    const defaults = parseServingConfig(olderJson);
    expect(defaults.suggested.homeSurfaces).toEqual([1]);
    expect(defaults.suggested.queries.H).toEqual(DEFAULT_SUGGESTED_QUERIES.H);
    expect(defaults.suggested.cpuBudgetMs).toBe(50);
    expect(DEFAULT_SERVING_CONFIG.suggested.queries.H.length).toBeGreaterThan(0);
    const partial = parseServingConfig({ ...olderJson, suggested: { homeSurfaces: [1, 2] } });
    expect(partial.suggested.homeSurfaces).toEqual([1, 2]);
    expect(partial.suggested.queries.F).toEqual(DEFAULT_SUGGESTED_QUERIES.F);
  });

  it("refuses a query with a syntax or type error at load, naming the query and where", () => {
    const bad = { ...olderJson, suggested: { queries: { ...DEFAULT_SUGGESTED_QUERIES, R: ["user\n.engaged(surface=other)\n.let(seed_id=account_id)\n.posted_medai(3)"] } } };
    expect(() => parseServingConfig(bad)).toThrow(/suggested\.queries\.R\.0: line 4, column 2: unknown operator posted_medai; did you mean posted_media\?/);
    const untyped = { ...olderJson, suggested: { queries: { ...DEFAULT_SUGGESTED_QUERIES, H: ["user.engaged(surface=home).let(seed_id=account_id)"] } } };
    expect(() => parseServingConfig(untyped)).toThrow(/suggested\.queries\.H\.0: .*media/);
  });

  it("refuses seeded queries that do not bind the seed account, and queries that do not start from the user", () => {
    const unbound = { ...olderJson, suggested: { queries: { ...DEFAULT_SUGGESTED_QUERIES, H: ["user.engaged(surface=home).posted_media(3)"] } } };
    expect(() => parseServingConfig(unbound)).toThrow(/suggested\.queries\.H\.0: a H query must bind the seed account/);
    const literal = { ...olderJson, suggested: { queries: { ...DEFAULT_SUGGESTED_QUERIES, popular: ["media([1, 2]).limit(n=2)"] } } };
    expect(() => parseServingConfig(literal)).toThrow(/suggested\.queries\.popular\.0: .*root user/);
    const overLimit = { ...olderJson, suggested: { queries: { ...DEFAULT_SUGGESTED_QUERIES, F: ["user.engaged(max=1000).let(seed_id=account_id).posted_media(max_media_per_account=1000)"] } } };
    expect(() => parseServingConfig(overLimit)).toThrow(/max_fan_out/);
    expect(servingConfigSchema.safeParse({ ...olderJson, suggested: { homeSurfaces: [] } }).success).toBe(false);
  });
});

describe("roundRobinBySeed", () => {
  const item = (id: number, seedType: "H" | "R" | "F" | "popular", seedId: number | undefined, score: number, author = 1000 + id): SeededItem => ({ item: id, author, score, seedId, seedType });

  it("every round takes each seed's next item, the seeds in the order of their best item; a popular candidate is a seed of its own", () => {
    const ranked = [item(1, "F", 9, 0.99), item(2, "H", 1, 0.9), item(3, "R", 5, 0.85), item(9, "popular", undefined, 0.84), item(4, "H", 2, 0.8), item(5, "H", 1, 0.7), item(10, "popular", undefined, 0.65), item(6, "H", 2, 0.6), item(7, "H", 1, 0.5), item(8, "R", 5, 0.4)];
    const page = roundRobinBySeed(ranked, { count: 20, maxPerSeed: 10, maxPerAuthor: 10 });
    // seeds by best item: F9, H1, R5, popular 9, H2, popular 10; round 2 takes H1, R5, H2 again; round 3 H1
    expect(page.map((entry) => entry.item)).toEqual([1, 2, 3, 9, 4, 10, 5, 8, 6, 7]);
  });

  it("with the seed types' boosts 100 apart, every round takes H first, then R, then F, then popular", () => {
    const entries = [
      { item: 1, seedId: 9, seedType: "F" as const },
      { item: 2, seedId: 1, seedType: "H" as const },
      { item: 3, seedId: 5, seedType: "R" as const },
      { item: 4, seedId: undefined, seedType: "popular" as const },
      { item: 5, seedId: 2, seedType: "H" as const },
    ];
    const scores = [0.99, 0.2, 0.9, 0.95, 0.1];
    const author = Int32Array.from({ length: 10 }, (_, i) => 100 + i);
    const settings = { ...DEFAULT_SERVING_CONFIG.suggested, typeBoost: { H: 100, R: 50, F: 0, popular: -50 } };
    expect(assembleSuggestions(entries, scores, author, settings, 10).map((entry) => entry.item)).toEqual([2, 5, 3, 1, 4]);
    // equal boosts: the value model decides which seed leads each round
    const equal = { ...settings, typeBoost: { H: 0, R: 0, F: 0, popular: 0 } };
    expect(assembleSuggestions(entries, scores, author, equal, 10).map((entry) => entry.item)).toEqual([1, 4, 3, 2, 5]);
  });

  it("caps items per seed and per author; a capped author's item is skipped and the seed offers its next", () => {
    const ranked = [item(1, "H", 1, 0.9, 50), item(2, "H", 2, 0.8, 50), item(3, "H", 3, 0.7, 50), item(4, "H", 3, 0.6), item(5, "H", 1, 0.5), item(6, "H", 1, 0.4)];
    const page = roundRobinBySeed(ranked, { count: 10, maxPerSeed: 2, maxPerAuthor: 2 });
    expect(page.map((entry) => entry.item)).toEqual([1, 2, 4, 5]);
    expect(roundRobinBySeed(ranked, { count: 2, maxPerSeed: 2, maxPerAuthor: 2 })).toHaveLength(2);
  });

  it("on a later page of a session, counts the session's last items against the author cap", () => {
    // pages of 3, max 2 per author: the previous page ended with author 50 twice, so 50's best item is skipped; its next
    // comes once the stretch of three has moved past one of them
    const ranked = [item(1, "H", 1, 0.9, 50), item(2, "H", 2, 0.8), item(3, "H", 3, 0.7, 50), item(4, "H", 4, 0.6)];
    expect(roundRobinBySeed(ranked, { count: 3, maxPerSeed: 2, maxPerAuthor: 2, precedingAuthors: [50, 50] }).map((entry) => entry.item)).toEqual([2, 3, 4]);
    expect(roundRobinBySeed(ranked, { count: 3, maxPerSeed: 2, maxPerAuthor: 2 }).map((entry) => entry.item)).toEqual([1, 2, 3]);
  });
});

describe("suggestPosts on the fixture bundle", () => {
  it("seeds from Home (H) and other surfaces (R), merged H >> R >> F >> popular, each item with its seed", async () => {
    // one item per seed, so that H runs out and R, then the popular candidates, show; strict priority by seed type
    const feed = await suggest(busy, { count: 40, config: testConfig(bundle, { maxPerSeed: 1, typeBoost: { H: 100, R: 50, F: 0, popular: -50 } }) });
    expect(feed.cold).toBe(false);
    expect(feed.items.length).toBe(40);
    const types = feed.items.map((entry) => RANK[entry.seedType] as number);
    expect(types).toEqual([...types].sort((a, b) => a - b));
    expect(feed.counts.page.H).toBeGreaterThan(0);
    expect(feed.counts.page.R).toBeGreaterThan(0);
    expect(feed.counts.page.popular).toBeGreaterThan(0);
    expect(feed.counts.page.H).toBe(feed.seeds.H.length);
    const stores = await storesFor(bundle, busy, testConfig(bundle));
    const homeSeeds = new Set(stores.engagedAccounts(stores.userId, "home", 20).map((e) => e.id));
    const otherSeeds = new Set(stores.engagedAccounts(stores.userId, "other", 10).map((e) => e.id));
    for (const entry of feed.items) {
      if (entry.seedType === "H") expect(homeSeeds.has(entry.seedId as number)).toBe(true);
      if (entry.seedType === "R") expect(otherSeeds.has(entry.seedId as number)).toBe(true);
      if (entry.seedType === "popular") expect(entry.seedId).toBeUndefined();
      expect(entry.probabilities).toHaveLength(7);
    }
    // H seeds come from the H queries only: their traces ran, in order
    expect(feed.queries.filter((run) => run.type === "H").map((run) => run.index)).toEqual([0, 1]);
  });

  it("within H, the first items come from distinct seeds (round robin), best item first", async () => {
    const feed = await suggest(busy, { count: 40, config: testConfig(bundle, { maxPerAuthor: 100 }) });
    const h = feed.items.filter((entry) => entry.seedType === "H");
    const seeds = new Set(h.map((entry) => entry.seedId));
    expect(seeds.size).toBeGreaterThan(1);
    expect(new Set(h.slice(0, seeds.size).map((entry) => entry.seedId)).size).toBe(seeds.size);
    const perSeed = new Map<number, number>();
    for (const entry of h) perSeed.set(entry.seedId as number, (perSeed.get(entry.seedId as number) ?? 0) + 1);
    for (const count of perSeed.values()) expect(count).toBeLessThanOrEqual(testConfig(bundle).suggested.maxPerSeed);
  });

  it("never suggests followed authors' items, seen items or excluded items", async () => {
    const first = await suggest(busy, { count: 30 });
    const followedAuthor = (first.items[0] as { author: number }).author;
    const seenItem = (first.items[1] as { item: number }).item;
    const excluded = (first.items[2] as { item: number }).item;
    const realtime = { engagements: [], seenItems: new Set([seenItem]), followedAuthors: new Set([followedAuthor]) };
    const second = await suggest(busy, { count: 30, realtime, exclude: new Set([excluded]) });
    const base = await storesFor(bundle, busy, testConfig(bundle));
    const history = base.seenMedia(base.userId);
    expect(history.size).toBeGreaterThan(0);
    for (const entry of second.items) {
      expect(entry.author).not.toBe(followedAuthor);
      expect(entry.item).not.toBe(seenItem);
      expect(entry.item).not.toBe(excluded);
      expect(history.has(entry.item)).toBe(false);
    }
    const authors = new Map<number, number>();
    for (const entry of second.items) authors.set(entry.author, (authors.get(entry.author) ?? 0) + 1);
    for (const count of authors.values()) expect(count).toBeLessThanOrEqual(2);
  });

  it("serves cold users popular media, best value first", async () => {
    const feed = await suggest("never-seen-user", { count: 15 });
    expect(feed.cold).toBe(true);
    expect(feed.items).toHaveLength(15);
    expect(feed.items.every((entry) => entry.seedType === "popular" && entry.seedId === undefined)).toBe(true);
    const scores = feed.items.map((entry) => entry.score);
    // the per-author cap may skip an item, never reorder: scores never rise
    scores.slice(1).forEach((score, i) => expect(score).toBeLessThanOrEqual(scores[i] as number));
    const popular = new Set([...bundle.tables.popular.items.subarray(0, 200), ...bundle.index.trending.items.subarray(0, 50)]);
    for (const entry of feed.items) expect(popular.has(entry.item)).toBe(true);
    expect(feed.fallback.ran).toBe(true);
  });

  it("a user the bundle does not know gets H seeds from real-time likes on Home", async () => {
    const items = Array.from(bundle.tables.popular.items.subarray(0, 3));
    const engagements = items.map((item, i) => ({ item, ts: bundle.tables.asOfMs + 1000 * (i + 1), surface: 1, labels: LABEL_BIT.click | LABEL_BIT.like }));
    const feed = await suggest("fresh-user", { count: 20, realtime: { engagements, seenItems: new Set(items), followedAuthors: new Set() } });
    expect(feed.seeds.H.length).toBeGreaterThan(0);
    expect(feed.items.some((entry) => entry.seedType === "H")).toBe(true);
    for (const entry of feed.items) expect(items).not.toContain(entry.item);
  });

  it("runs F (graph exploration) only for sparse users", async () => {
    const sparse = await suggest(busy, { config: testConfig(bundle, { fallbackMinSeeds: 1000 }) });
    expect(sparse.fallback.ran).toBe(true);
    expect(sparse.queries.some((run) => run.type === "F")).toBe(true);
    expect(sparse.counts.merged.F).toBeGreaterThan(0);
    const dense = await suggest(busy, { count: 5, config: testConfig(bundle, { fallbackMinSeeds: 0 }) });
    expect(dense.fallback.ran).toBe(false);
    expect(dense.queries.some((run) => run.type === "F")).toBe(false);
  });

  it("keeps serving, degraded, when a query's port fails (a bundle without account embeddings)", async () => {
    const tables = Object.create(bundle.tables, { accountEmbeddings: { value: undefined } }) as ServingBundle["tables"];
    const withoutAccounts: ServingBundle = { ...bundle, tables };
    const feed = await suggest(busy, { bundle: withoutAccounts, count: 20 });
    expect(feed.items).toHaveLength(20);
    expect(feed.degraded.join(" ")).toMatch(/H query 0 failed: .*account_nn.*no account embeddings/);
    const failed = feed.queries.find((run) => run.type === "H" && run.index === 0);
    expect(failed?.error).toMatchObject({ kind: "runtime", code: "port_failed" });
    expect(feed.queries.find((run) => run.type === "H" && run.index === 1)?.error).toBeUndefined();
  });

  it("without the MTML, ranks by decayed impressions and says degraded", async () => {
    const withoutMtml: ServingBundle = { ...bundle, models: { ...bundle.models, mtml: undefined } } as ServingBundle;
    const feed = await suggest("never-seen-user", { bundle: withoutMtml, count: 10 });
    expect(feed.degraded.join(" ")).toMatch(/second-stage model unavailable/);
    expect(feed.items.every((entry) => entry.probabilities === undefined)).toBe(true);
    const decayed = bundle.tables.itemCounters.decayedImpressions;
    const values = feed.items.map((entry) => decayed[entry.item] as number);
    values.slice(1).forEach((value, i) => expect(value).toBeLessThanOrEqual(values[i] as number));
  });

  it("a query over its CPU budget is reported and skipped, not thrown; a bundle's first request gets the cold-start grace", async () => {
    const config = testConfig(bundle, { cpuBudgetMs: 5 });
    const user = feedUser(bundle, busy, config);
    const run = (r: ServingBundle) => {
      let now = 0; // every clock read is one more millisecond
      return suggestPosts(r, { user, count: 10, exclude: new Set(), nowMs: r.tables.asOfMs, config, clock: () => (now += 1) });
    };
    expect(COLD_START_BUDGET_FACTOR * 5).toBe(50);
    const fresh: ServingBundle = { ...bundle }; // a bundle object no request has used: cold
    for (let request = 0; request < COLD_START_REQUESTS; request++) {
      const cold = await run(fresh);
      expect(cold.queries.filter((q) => q.error).map((q) => q.error?.code)).toEqual([]);
    }
    const warm = await run(fresh);
    expect(warm.queries.some((q) => q.error?.code === "cpu_budget_ms")).toBe(true);
    expect(warm.degraded.join(" ")).toMatch(/CPU budget of 5 ms/);
  });
});
