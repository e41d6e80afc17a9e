import { beforeAll, describe, expect, it } from "vitest";
import { LABEL_BIT } from "../../../core/features/engagement";
import type { ServingConfig, SourceName } from "../../../core/config/serving";
import { EXPLORE_STAGES, createFeedState, runFeed } from "../../../core/funnel/explore";
import { filterStage } from "../../../core/funnel/stages/filters";
import { firstStage } from "../../../core/funnel/stages/first-stage";
import { rerankStage } from "../../../core/funnel/stages/rerank";
import { byRetrievalScore, retrievalStage, runSource } from "../../../core/funnel/stages/retrieval";
import { secondStage } from "../../../core/funnel/stages/second-stage";
import { NO_REALTIME_STATE, type Candidate, type FeedRequest } from "../../../core/funnel/types";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../../core/funnel/user";
import { exploreLogPrior, exploreScore, priorSourceScore, retrievalAffinity } from "../../../core/ranking/value-model";
import type { AnnIndex, AnnSearchOptions } from "../../../core/ann";
import type { ModelSession } from "../../../core/inference/types";
import { embedUser } from "../../../core/serving/bundle-models";
import { neighboursOf } from "../../../core/serving/serving-index";
import { fixtureFeedRequest, fixtureServingBundle, mostActiveUser, type FixtureRequestOptions } from "./serving-bundle-fixture";
import type { FeedState } from "../../../core/funnel/feed-state";

let bundle: ServingBundle;
let warmUser: string;
beforeAll(async () => {
  bundle = await fixtureServingBundle();
  warmUser = mostActiveUser(bundle);
}, 300_000);

const request = (userId: string, options: FixtureRequestOptions = {}): FeedRequest => fixtureFeedRequest(bundle, userId, options);

function state(req: FeedRequest, models: ServingBundle["models"] = bundle.models): Promise<FeedState> {
  return createFeedState({ ...bundle, models, problems: [] }, req);
}

const withSources = (only: Partial<Record<SourceName, { weight: number; quota: number }>>): Partial<ServingConfig> => ({
  retrieval: { ...bundle.tables.config.retrieval, sources: Object.fromEntries(Object.entries(bundle.tables.config.retrieval.sources).map(([name, source]) => [name, { ...source, ...(only[name as SourceName] ?? { weight: 0, quota: 0 }) }])) as ServingConfig["retrieval"]["sources"] },
});

describe("retrieval", () => {
  it("mixes sources by weight × (1 − rank/quota) and keeps every source that found an item", async () => {
    const sources = withSources({ popular: { weight: 2, quota: 50 }, two_tower: { weight: 1, quota: 50 } });
    const req = request(warmUser, { config: { retrieval: { ...sources.retrieval!, exposureWeight: 0, affinityWeight: 0 } } });
    const candidates = await retrievalStage.run(await state(req), []);
    // with the mix's item terms: a · log(E_i/Ē + π) + b · affinity on top of the sources' scores
    const mixed = request(warmUser, { config: { retrieval: { ...sources.retrieval!, exposureWeight: 0.7, affinityWeight: 0.3 } } });
    const withTerms = new Map((await retrievalStage.run(await state(mixed), [])).map((c) => [c.item, c.retrievalScore]));
    const embedding = await embedUser(bundle.models.retrievalUserTower!, bundle.tables, mixed.user.context);
    const { dim, temperature } = bundle.tables.manifest.models.retrieval;
    for (const candidate of candidates) {
      const expected = candidate.sources.reduce((sum, hit) => sum + (hit.source === "popular" ? 2 : 1) * (1 - hit.rank / 50), 0);
      expect(candidate.retrievalScore).toBeCloseTo(expected, 10);
      const terms = 0.7 * Math.log(bundle.tables.relativeExposure(candidate.item) + mixed.config.valueModel.exposurePriorShare) + 0.3 * retrievalAffinity(embedding, bundle.tables.retrievalItemEmbeddings, candidate.item, dim, temperature);
      expect(withTerms.get(candidate.item)).toBeCloseTo(expected + terms, 5);
      expect(new Set(candidate.sources.map((hit) => hit.source)).size).toBe(candidate.sources.length);
    }
    expect(candidates.some((candidate) => candidate.sources.length === 2)).toBe(true);
    const ordered = byRetrievalScore(candidates);
    for (let i = 1; i < ordered.length; i++) expect(ordered[i - 1]!.retrievalScore).toBeGreaterThanOrEqual(ordered[i]!.retrievalScore);
  });

  it("keeps at most maxCandidates, the best by mixed score", async () => {
    const all = await retrievalStage.run(await state(request(warmUser)), []);
    const cap = Math.floor(all.length / 2);
    const capped = await retrievalStage.run(await state(request(warmUser, { config: { retrieval: { ...bundle.tables.config.retrieval, maxCandidates: cap } } })), []);
    expect(capped).toHaveLength(cap);
    const threshold = Math.min(...capped.map((c) => c.retrievalScore));
    const keptItems = new Set(capped.map((c) => c.item));
    for (const candidate of all) if (!keptItems.has(candidate.item)) expect(candidate.retrievalScore).toBeLessThanOrEqual(threshold);
  });

  it("skips sources with weight or quota 0, and gives cold users only the cold-start sources", async () => {
    const warm = await state(request(warmUser, { config: withSources({ popular: { weight: 1, quota: 30 }, history: { weight: 0, quota: 30 }, cooccurrence: { weight: 1, quota: 0 } }) }));
    await retrievalStage.run(warm, []);
    expect(Object.keys(warm.trace.sources)).toEqual(["popular"]);
    const cold = await state(request("nobody-knows-me"));
    await retrievalStage.run(cold, []);
    expect(cold.request.user.cold).toBe(true);
    expect(Object.keys(cold.trace.sources).sort()).toEqual(["graph", "popular", "trending"]);
  });
});

describe("sources", () => {
  it("two_tower returns the ANN's nearest items to the user embedding, best first", async () => {
    const result = await runSource(await state(request(warmUser)), "two_tower", 20);
    expect(result.items).toHaveLength(20);
    for (let i = 1; i < result.scores.length; i++) expect(result.scores[i - 1]!).toBeGreaterThanOrEqual(result.scores[i]!);
  });

  it("two_tower scans the index exactly while the catalogue is small next to its quota, and walks the graph beyond", async () => {
    const index = bundle.models.retrievalIndex as AnnIndex;
    const searches: { k: number; exact: boolean }[] = [];
    const spy = { size: index.size, search: (query: Float32Array, k: number, options: AnnSearchOptions = {}) => (searches.push({ k, exact: options.exact === true }), index.search(query, k, options)) } as unknown as AnnIndex;
    const catalogue = bundle.tables.items.ids.size;
    const quota = Math.min(200, catalogue);
    const withRatio = (ratio: number) => request(warmUser, { config: { retrieval: { ...bundle.tables.config.retrieval, exactSearchMaxItemsPerResult: ratio } } });
    const embedding = await embedUser(bundle.models.retrievalUserTower as ModelSession, bundle.tables, withRatio(0).user.context);
    const scanned = await runSource(await state(withRatio(catalogue / quota + 0.01), { ...bundle.models, retrievalIndex: spy }), "two_tower", quota);
    const walked = await runSource(await state(withRatio(catalogue / quota - 0.01), { ...bundle.models, retrievalIndex: spy }), "two_tower", quota);
    expect(searches).toEqual([{ k: quota, exact: true }, { k: quota, exact: false }]);
    expect(Array.from(scanned.items)).toEqual(Array.from(index.search(embedding, quota, { exact: true }).keys));
    expect(Array.from(walked.items)).toEqual(Array.from(index.search(embedding, quota).keys));
  });

  it("history expands recent engagements through the ANN and never returns any of its seeds", async () => {
    const req = request(warmUser);
    const s = await state(req);
    // the seeds: the 40 most recent engagements, those with integrity ≥ 0.05, the first 20
    const recent = (await s.stores.engagedMedia(s.stores.userId, "any", 40)).map((entry) => entry.id);
    const seeds = recent.filter((item) => (bundle.tables.items.integrity[item] as number) >= 0.05).slice(0, 20);
    expect(seeds.length).toBeGreaterThan(1);
    // some seed's share of the quota (its nearest ceil(200 / seeds) + 1) holds another seed: the test would pass vacuously otherwise
    const dim = bundle.tables.manifest.models.retrieval.dim;
    const seedSet = new Set(seeds);
    const perSeed = Math.ceil(200 / seeds.length) + 1;
    const others = seeds.filter((seed) => Array.from(bundle.models.retrievalIndex!.search(bundle.tables.retrievalItemEmbeddings.subarray(seed * dim, (seed + 1) * dim), perSeed).keys).some((key) => key !== seed && seedSet.has(key)));
    expect(others.length).toBeGreaterThan(0);
    const result = await runSource(s, "history", 200);
    expect(result.items.length).toBeGreaterThan(0);
    for (const item of result.items) expect(seedSet.has(item)).toBe(false);
    // with an integrity bar no seed clears, the source says where it found nothing and proposes nothing
    const strictQuery = (req.config.retrieval.sources.history.query as string).replace("min_integrity=0.05", "min_integrity=1");
    const strict = await state(request(warmUser, { config: { retrieval: { ...req.config.retrieval, sources: { ...req.config.retrieval.sources, history: { ...req.config.retrieval.sources.history, query: strictQuery } } } } }));
    if (seeds.every((seed) => (bundle.tables.items.integrity[seed] as number) < 1)) {
      const filtered = await runSource(strict, "history", 50);
      expect(filtered.items).toHaveLength(0);
      expect(filtered.note).toMatch(/filter/);
    }
  });

  it("cooccurrence sums the co-occurrence scores of the recent engagements' neighbours", async () => {
    const req = request(warmUser);
    const result = await runSource(await state(req), "cooccurrence", 1000);
    const { offsets, items, scores } = bundle.tables.cooccurrence;
    const expected = new Map<number, number>();
    for (const seed of req.user.context.activity.recentItems(20)) {
      for (let n = offsets[seed]!; n < offsets[seed + 1]!; n++) expected.set(items[n]!, (expected.get(items[n]!) ?? 0) + scores[n]!);
    }
    result.items.forEach((item, i) => expect(result.scores[i]).toBeCloseTo(expected.get(item) ?? Number.NaN, 5));
  });

  it("authors puts followed authors' newest media first", async () => {
    const followed = bundle.tables.items.author[0] as number;
    const req = request(warmUser, { realtime: { engagements: [], seenItems: new Set(), followedAuthors: new Set([followed]) } });
    const result = runSource(await state(req), "authors", 200);
    const newest = neighboursOf(bundle.index.authorMedia, followed)[0] as number;
    expect((await result).items).toContain(newest);
  });

  it("trending merges the real-time list over the bundle's", async () => {
    const realtime = { items: Int32Array.from([5, 6]), scores: Float32Array.from([10, 5]) };
    const result = await runSource(await state(request(warmUser, { trending: realtime })), "trending", 500);
    expect(result.items).toContain(5);
    expect(result.items).toContain(6);
  });

  it("popular is the bundle's list, in order", async () => {
    const result = await runSource(await state(request(warmUser)), "popular", 10);
    expect(Array.from(result.items)).toEqual(Array.from(bundle.tables.popular.items.subarray(0, 10)));
  });

  it("graph starts only with enough followed or liked authors, then explores one and two hops", async () => {
    const none = await runSource(await state(request("sparse-user")), "graph", 50);
    expect(none.items).toHaveLength(0);
    expect(none.note).toMatch(/followed_or_liked/);
    const liked = [0, 1, 2].map((item) => ({ item: item * 7, ts: bundle.tables.asOfMs - 1000 + item, surface: 1, labels: LABEL_BIT.click | LABEL_BIT.like }));
    const req = request("sparse-user", { realtime: { engagements: liked, seenItems: new Set(), followedAuthors: new Set() } });
    const result = await runSource(await state(req), "graph", 50);
    expect(result.items.length).toBeGreaterThan(0);
    const seedAuthors = new Set(liked.map((event) => bundle.tables.items.author[event.item] as number));
    // one hop: the seed authors' own media; two hops: media of other authors
    expect(Array.from(result.items).some((item) => seedAuthors.has(bundle.tables.items.author[item] as number))).toBe(true);
    expect(Array.from(result.items).some((item) => !seedAuthors.has(bundle.tables.items.author[item] as number))).toBe(true);
  });
});

describe("filters, stages and rules", () => {
  it("filters drop excluded, seen and low-integrity items and count each", async () => {
    const req0 = request(warmUser);
    const retrieved = await retrievalStage.run(await state(req0), []);
    const excluded = retrieved[0]!.item;
    const req = request(warmUser, { exclude: new Set([excluded]), config: { rerank: { ...bundle.tables.config.rerank, minIntegrity: 0.5 } } });
    const s = await state(req);
    const kept = filterStage.run(s, retrieved) as Candidate[];
    expect(kept.some((candidate) => candidate.item === excluded)).toBe(false);
    expect(kept.every((candidate) => !req.user.seen.has(candidate.item) && (bundle.tables.items.integrity[candidate.item] as number) >= 0.5)).toBe(true);
    const removed = Object.fromEntries(s.trace.rules.map((rule) => [rule.rule, rule.removed]));
    expect((removed.exclude_requested ?? 0) + (removed.drop_seen ?? 0) + (removed.min_integrity ?? 0)).toBe(retrieved.length - kept.length);
    expect(removed.exclude_requested).toBe(1);
  });

  it("the first stage keeps the best `keep` by the first-stage dot product, or the retrieval order without its model", async () => {
    const req = request(warmUser, { config: { firstStage: { keep: 25 }, exploration: { from: 1000, exposureExponent: 0 } } });
    const retrieved = await retrievalStage.run(await state(req), []);
    const kept = await firstStage.run(await state(req), retrieved.map((c) => ({ ...c, sources: [...c.sources] })));
    expect(kept).toHaveLength(25);
    const threshold = Math.min(...kept.map((c) => c.firstStageScore as number));
    expect(retrieved.filter((c) => !kept.some((k) => k.item === c.item)).every((c) => (c.firstStageScore ?? -Infinity) <= threshold)).toBe(true);
    const degraded = await state(req, { ...bundle.models, firstStageUserTower: undefined });
    const fallback = await firstStage.run(degraded, retrieved);
    expect(fallback.map((c) => c.item)).toEqual(byRetrievalScore(retrieved).slice(0, 25).map((c) => c.item));
    expect(degraded.degraded.join()).toMatch(/first-stage model unavailable/);
  });

  it("with an exploration tail, the first stage also keeps the tail's best by the prior with the tail's exposure exponent", async () => {
    // a negative tail exponent lifts what few have been shown
    const exploration = { from: 5, exposureExponent: -0.5 };
    const req = request(warmUser, { count: 20, config: { firstStage: { keep: 25 }, exploration, valueModel: { ...bundle.tables.config.valueModel, exposureExponent: 1.5 } } });
    const retrieved = await retrievalStage.run(await state(req), []);
    const kept = await firstStage.run(await state(req), retrieved.map((c) => ({ ...c, sources: [...c.sources] })));
    expect(kept.length).toBeGreaterThan(25);
    expect(kept.length).toBeLessThanOrEqual(25 + 15);
    // the head's best 25 come first, as without a tail
    const threshold = Math.min(...kept.slice(0, 25).map((c) => c.firstStageScore as number));
    expect(retrieved.filter((c) => !kept.some((k) => k.item === c.item)).every((c) => (c.firstStageScore ?? -Infinity) <= threshold)).toBe(true);
    const { valueModel } = req.config;
    for (const candidate of kept.slice(0, 5)) {
      const exposure = Math.log(bundle.tables.relativeExposure(candidate.item) + valueModel.exposurePriorShare);
      expect(candidate.tailLogPrior).toBeCloseTo((candidate.logPrior as number) - 2 * exposure, 8);
    }
    const off = await firstStage.run(await state(request(warmUser, { count: 20, config: { firstStage: { keep: 25 }, exploration: { from: 20, exposureExponent: 0 } } })), retrieved.map((c) => ({ ...c, sources: [...c.sources] })));
    expect(off).toHaveLength(25);
    expect(off.every((c) => c.tailLogPrior === undefined)).toBe(true);
  });

  it("the second stage scores with the MTML and the value model, and steps aside without it", async () => {
    const req = request(warmUser);
    const candidates = (await retrievalStage.run(await state(req), [])).slice(0, 30);
    const scored = await secondStage.run(await state(req), candidates.map((c) => ({ ...c, sources: [...c.sources] })));
    for (const candidate of scored) {
      expect(candidate.probabilities).toHaveLength(7);
      expect(candidate.value).toBe(candidate.score);
    }
    // value = EV · prior, the prior from the item's relative exposure, the user's affinity and the retrieval score
    const { valueModel } = req.config;
    const { dim, temperature } = bundle.tables.manifest.models.retrieval;
    const embedding = await embedUser(bundle.models.retrievalUserTower!, bundle.tables, req.user.context);
    for (const candidate of scored.slice(0, 5)) {
      const signals = { relativeExposure: bundle.tables.relativeExposure(candidate.item), affinity: retrievalAffinity(embedding, bundle.tables.retrievalItemEmbeddings, candidate.item, dim, temperature), sourceScore: priorSourceScore(valueModel, candidate.sources, req.config.retrieval.sources) };
      expect(candidate.logPrior).toBeCloseTo(exploreLogPrior(valueModel, signals), 5);
      expect(candidate.value! / exploreScore(valueModel, candidate.probabilities!, 0, signals)).toBeCloseTo(1, 5);
    }
    const degraded = await state(req, { ...bundle.models, mtml: undefined });
    await secondStage.run(degraded, candidates);
    expect(degraded.degraded.join()).toMatch(/second-stage model unavailable/);
  });

  it("rerank caps items per author, never repeats an author twice in a row, and downranks by integrity", async () => {
    const { author } = bundle.tables.items;
    // a crafted pool: the most prolific author's items have the best scores
    const counts = new Map<number, number>();
    for (const a of author) counts.set(a, (counts.get(a) ?? 0) + 1);
    const prolific = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const theirs = Array.from({ length: bundle.tables.items.ids.size }, (_, i) => i).filter((i) => author[i] === prolific).slice(0, 4);
    expect(theirs).toHaveLength(4);
    const others = Array.from({ length: bundle.tables.items.ids.size }, (_, i) => i).filter((i) => author[i] !== prolific).slice(0, 8);
    const pool: Candidate[] = [...theirs.map((item, i) => ({ item, sources: [], retrievalScore: 0, value: 100 - i, score: 100 - i })), ...others.map((item, i) => ({ item, sources: [], retrievalScore: 0, value: 50 - i, score: 50 - i }))];
    const req = request(warmUser, { count: 8, config: { rerank: { ...bundle.tables.config.rerank, maxPerAuthor: 2, noAdjacentSameAuthor: true, integrityDownrank: 0 } } });
    const s = await state(req);
    const page = rerankStage.run(s, pool) as Candidate[];
    const authors = page.map((c) => author[c.item]);
    expect(authors.filter((a) => a === prolific)).toHaveLength(2);
    authors.slice(1).forEach((a, i) => expect(a).not.toBe(authors[i]));
    expect(page[0]!.item).toBe(theirs[0]);
    expect(s.trace.rules.find((rule) => rule.rule === "max_per_author")?.removed).toBe(2);
    // integrity downranking: score = value × integrity^k
    const req2 = request(warmUser, { count: 12, config: { rerank: { ...bundle.tables.config.rerank, integrityDownrank: 1, maxPerAuthor: 100, noAdjacentSameAuthor: false } } });
    const page2 = rerankStage.run(await state(req2), pool.map((c) => ({ ...c }))) as Candidate[];
    for (const c of page2) expect(c.score).toBeCloseTo((c.value as number) * (bundle.tables.items.integrity[c.item] as number), 8);
  });

  it("rerank fills the head by score and, from the exploration tail on, by the tail's score, under the same author rules", async () => {
    const items = Array.from({ length: 12 }, (_, i) => i);
    // value falls with the index; the tail's value rises with it
    const pool: Candidate[] = items.map((item) => ({ item, sources: [], retrievalScore: 0, value: 100 - item, tailValue: item, score: 100 - item }));
    const req = request(warmUser, { count: 6, config: { exploration: { from: 2, exposureExponent: 0 }, rerank: { ...bundle.tables.config.rerank, integrityDownrank: 0, maxPerAuthor: 100, noAdjacentSameAuthor: false } } });
    const s = await state(req);
    const page = rerankStage.run(s, pool.map((c) => ({ ...c }))) as Candidate[];
    expect(page.map((c) => c.item)).toEqual([0, 1, 11, 10, 9, 8]);
    expect(s.trace.rules.find((rule) => rule.rule === "exploration_tail")?.moved).toBe(4);
    const withoutTail = rerankStage.run(await state(request(warmUser, { count: 6, config: { ...req.config, exploration: { from: 6, exposureExponent: 0 } } })), pool.map((c) => ({ ...c }))) as Candidate[];
    expect(withoutTail.map((c) => c.item)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("runFeed traces each stage's counts in and out, and returns `count` items", async () => {
    const result = await runFeed(bundle, request(warmUser, { count: 15 }), EXPLORE_STAGES);
    expect(result.candidates).toHaveLength(15);
    expect(result.trace.stages.map((s) => s.stage)).toEqual(["retrieval", "filters", "first_stage", "second_stage", "rerank"]);
    result.trace.stages.slice(1).forEach((stage, i) => expect(stage.in).toBe(result.trace.stages[i]!.out));
    expect(result.degraded).toEqual([]);
  });
});

describe("the feed user", () => {
  it("merges real-time engagements after the bundle history and unions the seen sets", () => {
    const base = resolveFeedUser(bundle.tables, warmUser, NO_REALTIME_STATE, bundle.tables.config);
    const fresh = { item: 3, ts: bundle.tables.asOfMs + 1000, surface: 1, labels: LABEL_BIT.click };
    const merged = resolveFeedUser(bundle.tables, warmUser, { engagements: [fresh], seenItems: new Set([4]), followedAuthors: new Set([9]) }, bundle.tables.config);
    expect(merged.context.activity.impressions).toBe(base.context.activity.impressions + 1);
    expect(merged.context.activity.recentItems(1)).toEqual([3]);
    expect(merged.seen.has(3) && merged.seen.has(4)).toBe(true);
    expect(merged.followedAuthors.has(9)).toBe(true);
    expect(resolveFeedUser(bundle.tables, "unknown-user", NO_REALTIME_STATE, bundle.tables.config).cold).toBe(true);
  });
});
