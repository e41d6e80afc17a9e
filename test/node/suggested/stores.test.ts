import { beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../../core/data/labels";
import { ENGAGED_BITS, LABEL_BIT } from "../../../core/features/engagement";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { executeQuery, planQuery, runQuery, type QueryPlan } from "../../../core/query";
import { retrievalAffinity, suggestedLogValue } from "../../../core/ranking/value-model";
import { embedUser } from "../../../core/serving/bundle-models";
import { historyOf } from "../../../core/serving/assets";
import { neighboursOf } from "../../../core/serving/serving-index";
import { suggestedPlanOptions } from "../../../core/config/suggested";
import { UNKNOWN_USER_ID } from "../../../core/funnel/stores";
import { busyUsers, feedUser, fixtureServingBundle, storesFor, testConfig } from "./fixture";
import { mtmlProbabilities } from "../../../core/funnel/scoring";

let bundle: ServingBundle;
let user: number;
const plan = (text: string): QueryPlan => planQuery(text, suggestedPlanOptions(10_000));

beforeAll(async () => {
  bundle = await fixtureServingBundle();
  user = (busyUsers(bundle)[0] as { row: number }).row;
}, 600_000);

/** Authors (or items) of a user's events matching `keep`, most recent first: the engagement ports' contract, recomputed. */
function recentDistinct(row: number, keep: (event: { surface: number; labels: number }) => boolean, key: (item: number) => number): number[] {
  const events = historyOf(bundle.tables.histories, row).filter(keep);
  const order: number[] = [];
  for (let i = events.length - 1; i >= 0; i--) {
    const id = key((events[i] as { item: number }).item);
    if (!order.includes(id)) order.push(id);
  }
  return order;
}

describe("SuggestedStores over the fixture bundle", () => {
  it("engaged(surface=home|other) splits the user's engaged authors by the configured Home surfaces", async () => {
    const config = testConfig(bundle);
    const stores = await storesFor(bundle, user, config);
    const author = (item: number) => bundle.tables.items.author[item] as number;
    const home = recentDistinct(user, (e) => (e.labels & ENGAGED_BITS) !== 0 && e.surface === 1, author);
    const other = recentDistinct(user, (e) => (e.labels & ENGAGED_BITS) !== 0 && e.surface !== 1, author);
    expect(home.length).toBeGreaterThan(0);
    expect(other.length).toBeGreaterThan(0);
    const homeRun = await executeQuery(plan("user.engaged(surface=home, max=1000).posted_media(1).filter(exclude_seen=false, exclude_followed_authors=false)"), stores, { userId: stores.userId });
    expect(homeRun.candidates.map((c) => c.path[1]?.id)).toEqual(home.filter((a) => neighboursOf(bundle.index.authorMedia, a).length > 0));
    expect((await stores.engagedAccounts(stores.userId, "home", 1000)).map((e) => e.id)).toEqual(home);
    expect((await stores.engagedAccounts(stores.userId, "other", 1000)).map((e) => e.id)).toEqual(other);

    // the Home surfaces are a setting: with tab 0 as Home, what was "other" on tab 0 becomes Home
    const tabZero = await storesFor(bundle, user, testConfig(bundle, { homeSurfaces: [0] }));
    const homeZero = recentDistinct(user, (e) => (e.labels & ENGAGED_BITS) !== 0 && e.surface === 0, author);
    expect((await tabZero.engagedAccounts(tabZero.userId, "home", 1000)).map((e) => e.id)).toEqual(homeZero);
  });

  it("liked, liked_media and engaged_media read the like and engaged bits, most recent first", async () => {
    const stores = await storesFor(bundle, user, testConfig(bundle));
    const author = (item: number) => bundle.tables.items.author[item] as number;
    expect((await stores.likedAccounts(stores.userId, 1000)).map((e) => e.id)).toEqual(recentDistinct(user, (e) => (e.labels & LABEL_BIT.like) !== 0, author));
    expect((await stores.likedMedia(stores.userId, 1000)).map((e) => e.id)).toEqual(recentDistinct(user, (e) => (e.labels & LABEL_BIT.like) !== 0, (item) => item));
    expect((await stores.engagedMedia(stores.userId, "any", 3)).map((e) => e.id)).toEqual(recentDistinct(user, (e) => (e.labels & ENGAGED_BITS) !== 0, (item) => item).slice(0, 3));
  });

  it("adds real-time engagements after the bundle history: they become the most recent seeds", async () => {
    const config = testConfig(bundle);
    const item = bundle.tables.popular.items[5] as number;
    const realtime = { engagements: [{ item, ts: bundle.tables.asOfMs + 60_000, surface: 4, labels: LABEL_BIT.click | LABEL_BIT.like }], seenItems: new Set<number>(), followedAuthors: new Set<number>() };
    const stores = await storesFor(bundle, user, config, { realtime });
    const author = bundle.tables.items.author[item] as number;
    expect((await stores.engagedAccounts(stores.userId, "other", 1))[0]?.id).toBe(author);
    expect((await stores.likedMedia(stores.userId, 1))[0]?.id).toBe(item);
    expect((await stores.seenMedia(stores.userId)).has(item)).toBe(true);
  });

  it("account_nn returns the nearest accounts by the bundle's account embeddings, never the seed", async () => {
    const stores = await storesFor(bundle, user, testConfig(bundle));
    const embeddings = bundle.tables.accountEmbeddings;
    expect(embeddings).toBeDefined();
    const { vectors, dim } = embeddings as { vectors: Float32Array; dim: number };
    const seed = (await stores.engagedAccounts(stores.userId, "any", 1))[0]?.id as number;
    const dot = (a: number, b: number) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (vectors[a * dim + d] as number) * (vectors[b * dim + d] as number);
      return s;
    };
    const nonzero = (a: number) => vectors.subarray(a * dim, (a + 1) * dim).some((v) => v !== 0);
    const expected = Array.from({ length: bundle.tables.items.authors.size }, (_, a) => a)
      .filter((a) => a !== seed && nonzero(a))
      .sort((a, b) => dot(seed, b) - dot(seed, a) || a - b)
      .slice(0, 5);
    const result = await runQuery(`account(${seed}).account_nn(k=5).posted_media(1).filter(exclude_seen=false, exclude_followed_authors=false)`, stores, { userId: stores.userId }, suggestedPlanOptions(10_000));
    const reached = result.candidates.map((c) => c.path[1]?.id);
    expect(reached).toEqual(expected.filter((a) => neighboursOf(bundle.index.authorMedia, a).length > 0));
    expect(reached).not.toContain(seed);
  });

  it("media_nn searches the USearch index with the item's own embedding and agrees with exact search", async () => {
    const stores = await storesFor(bundle, user, testConfig(bundle));
    const { retrievalItemEmbeddings: table, manifest } = bundle.tables;
    const dim = manifest.models.retrieval.dim;
    const item = bundle.tables.popular.items[0] as number;
    const dot = (a: number, b: number) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (table[a * dim + d] as number) * (table[b * dim + d] as number);
      return s;
    };
    const exact = Array.from({ length: bundle.tables.items.ids.size }, (_, i) => i).filter((i) => i !== item).sort((a, b) => dot(item, b) - dot(item, a)).slice(0, 10);
    const result = await runQuery(`media(${item}).media_nn(k=10)`, stores, { userId: stores.userId }, suggestedPlanOptions(10_000));
    const ids = result.candidates.map((c) => c.id);
    expect(ids).toHaveLength(10);
    expect(ids).not.toContain(item);
    expect(ids.filter((id) => exact.includes(id)).length).toBeGreaterThanOrEqual(9);
    result.candidates.forEach((c) => expect(c.score).toBeCloseTo(dot(item, c.id), 4));
  });

  it("cooccurred reads the bundle's co-occurrence list; posted_media is each author's media newest first, within max_age_hours", async () => {
    const stores = await storesFor(bundle, user, testConfig(bundle));
    const { cooccurrence, items } = bundle.tables;
    const item = bundle.tables.popular.items[0] as number;
    const listed = Array.from(cooccurrence.items.subarray(cooccurrence.offsets[item], cooccurrence.offsets[item + 1])).filter((other) => other !== item).slice(0, 4);
    expect((await runQuery(`media(${item}).cooccurred(k=4)`, stores, { userId: stores.userId }, suggestedPlanOptions(10_000))).candidates.map((c) => c.id)).toEqual(listed);

    const author = items.author[item] as number;
    const media = Array.from({ length: items.ids.size }, (_, i) => i).filter((i) => items.author[i] === author && (items.createdAt[i] as number) <= bundle.tables.asOfMs);
    media.sort((a, b) => (items.createdAt[b] as number) - (items.createdAt[a] as number) || a - b);
    const [posted] = await stores.postedMedia([author], 1000, undefined);
    expect(posted?.map((e) => e.id)).toEqual(media);
    const newest = items.createdAt[media[0] as number] as number;
    const hours = (bundle.tables.asOfMs - newest) / 3_600_000 + 1e-6;
    const [young] = await stores.postedMedia([author], 1000, hours);
    expect(young?.map((e) => e.id)).toEqual(media.filter((i) => bundle.tables.asOfMs - (items.createdAt[i] as number) < hours * 3_600_000));
    expect(young?.[0]?.id).toBe(media[0]);
  });

  it("two_hop counts the authors engaged by the recent engagers of an account, leaving the user out", async () => {
    const stores = await storesFor(bundle, user, testConfig(bundle));
    const account = (await stores.engagedAccounts(stores.userId, "any", 1))[0]?.id as number;
    const { histories, items } = bundle.tables;
    // recomputed from the histories: users who engaged the account (by their first engagement's order), then their authors
    const engagers: number[] = [];
    const authorsOf = (row: number) => [...new Set(historyOf(histories, row).filter((e) => e.labels & ENGAGED_BITS).map((e) => items.author[e.item] as number))];
    for (let row = 0; row < bundle.tables.users.ids.size; row++) if (authorsOf(row).includes(account)) engagers.push(row);
    const counts = new Map<number, number>();
    for (const other of engagers.slice(-50)) {
      if (other === user) continue;
      for (const a of authorsOf(other)) if (a !== account) counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    const expected = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 5).map(([id, score]) => ({ id, score }));
    const [found] = await stores.twoHopAccounts([account], 5);
    expect(found).toEqual(expected);
  });

  it("filter drops seen items, followed authors' items and non-recommendable items", async () => {
    const config = testConfig(bundle);
    const popular = Array.from(bundle.tables.popular.items.subarray(0, 40));
    const followedAuthor = bundle.tables.items.author[popular[0] as number] as number;
    const seenItem = popular[1] as number;
    const excluded = popular[2] as number;
    const realtime = { engagements: [], seenItems: new Set([seenItem]), followedAuthors: new Set([followedAuthor]) };
    const stores = await storesFor(bundle, "someone-new", config, { realtime, exclude: new Set([excluded]) });
    expect(stores.userId).toBe(UNKNOWN_USER_ID);
    const result = await runQuery("user.popular(n=40).filter(non_recommendable_model_threshold=0.5)", stores, { userId: stores.userId }, suggestedPlanOptions(10_000));
    const kept = result.candidates.map((c) => c.id);
    const { integrity, author } = bundle.tables.items;
    const expected = popular.filter((item) => item !== seenItem && item !== excluded && author[item] !== followedAuthor && 1 - (integrity[item] as number) <= 0.5 + 1e-9);
    expect(kept).toEqual(expected);
    expect(kept.length).toBeLessThan(popular.length);
  });

  it("rank scores with the MTML and the log-linear value model, best first, and keeps the probabilities", async () => {
    const config = testConfig(bundle);
    const stores = await storesFor(bundle, user, config);
    const items = Array.from(bundle.tables.popular.items.subarray(0, 30));
    const context = feedUser(bundle, user, config).context;
    const probabilities = await mtmlProbabilities(bundle.tables, { mtml: bundle.models.mtml as NonNullable<ServingBundle["models"]["mtml"]>, mtmlOneUser: bundle.models.mtmlOneUser }, context, items, 1, bundle.tables.asOfMs);
    // the prior's affinity: the retrieval two-tower's (cos − 1)/τ for this user
    const embedding = await embedUser(bundle.models.retrievalUserTower!, bundle.tables, context);
    const { dim, temperature } = bundle.tables.manifest.models.retrieval;
    const affinity = (item: number) => config.suggestedValueModel.retrievalExponent > 0 ? retrievalAffinity(embedding, bundle.tables.retrievalItemEmbeddings, item, dim, temperature) : 0;
    const expected = items.map((item, r) => suggestedLogValue(config.suggestedValueModel, probabilities, r, bundle.tables.relativeExposure(item), affinity(item)));
    const result = await runQuery(`media([${items.join(", ")}]).rank(ranking_model=default)`, stores, { userId: stores.userId }, suggestedPlanOptions(10_000));
    const order = items.map((_, i) => i).sort((a, b) => (expected[b] as number) - (expected[a] as number) || a - b);
    expect(result.candidates.map((c) => c.id)).toEqual(order.map((i) => items[i]));
    result.candidates.forEach((c) => expect(c.score).toBeCloseTo(expected[items.indexOf(c.id)] as number, 6));
    expect(stores.probabilitiesOf(items[0] as number)).toHaveLength(LABELS.length);
    await expect(stores.rank(stores.userId, items, "nonexistent")).rejects.toThrow(/unknown ranking model/);
  });

  it("popular is the bundle's list; trending merges the real-time list over the bundle's", async () => {
    const realtimeTop = bundle.tables.popular.items[100] as number;
    const stores = await storesFor(bundle, user, testConfig(bundle), { trending: { items: Int32Array.of(realtimeTop), scores: Float32Array.of(1000) } });
    expect((await stores.popularMedia(stores.userId, 5)).map((e) => e.id)).toEqual(Array.from(bundle.tables.popular.items.subarray(0, 5)));
    const trending = await stores.trendingMedia(stores.userId, 500);
    expect(trending.map((e) => e.id)).toContain(realtimeTop);
    const plain = await (await storesFor(bundle, user, testConfig(bundle))).trendingMedia(stores.userId, 500);
    expect(plain.map((e) => e.id)).toEqual(Array.from(bundle.index.trending.items.subarray(0, 500)));
  });

  it("answers for its own user only and refuses ids outside the tables", async () => {
    const stores = await storesFor(bundle, user, testConfig(bundle));
    expect(() => stores.likedAccounts(user + 1, 5)).toThrow(/answer for user/);
    expect(() => stores.postedMedia([bundle.tables.items.authors.size], 1, undefined)).toThrow(/not an author row/);
    expect(() => stores.authorsOf([-1])).toThrow(/not an item row/);
    expect(() => stores.accountNeighbours([0], 3, "other_space")).toThrow(/unknown embedding_config/);
  });

  it("runs the design's seed query end to end: seeds, provenance, filter, rank, round robin", async () => {
    const config = testConfig(bundle);
    const stores = await storesFor(bundle, user, config);
    const result = await runQuery(
      "user\n.engaged(surface=home, max=10)\n.let(seed_id=account_id)\n.account_nn(k=5)\n.posted_media(max_media_per_account=3)\n.filter(non_recommendable_model_threshold=0.98)\n.rank(ranking_model=default)\n.diversify_by(seed_id, method=round_robin)",
      stores,
      { userId: stores.userId, seedType: "H" },
      suggestedPlanOptions(10_000),
    );
    const seeds = new Set((await stores.engagedAccounts(stores.userId, "home", 10)).map((e) => e.id));
    const followed = await stores.followedAuthors(stores.userId);
    const seen = await stores.seenMedia(stores.userId);
    expect(result.candidates.length).toBeGreaterThan(0);
    for (const candidate of result.candidates) {
      expect(seeds.has(candidate.seedId as number)).toBe(true);
      expect(candidate.seedType).toBe("H");
      expect(seen.has(candidate.id)).toBe(false);
      expect(followed.has(bundle.tables.items.author[candidate.id] as number)).toBe(false);
    }
    // round robin: the first len(distinct seeds) candidates come from distinct seeds
    const distinct = new Set(result.candidates.map((c) => c.seedId)).size;
    expect(new Set(result.candidates.slice(0, distinct).map((c) => c.seedId)).size).toBe(distinct);
    expect(result.trace.steps.map((s) => s.operator)).toEqual(["user", "engaged", "let", "account_nn", "posted_media", "filter", "rank", "diversify_by"]);
  });
});
