// The inspection's trace (core/funnel/trace.ts) and what it explains (core/funnel/explain.ts), on the fixture bundle:
// recording changes nothing, the cut is what the first stage left, and each item's terms add up to its score.
import { beforeAll, describe, expect, it } from "vitest";
import { ENGAGED_BITS } from "../../../core/features/engagement";
import { runFeed } from "../../../core/funnel/explore";
import { explainFeed, recentHistory } from "../../../core/funnel/explain";
import { runTracedFeed } from "../../../core/funnel/trace";
import { NO_REALTIME_STATE, type FeedRequest } from "../../../core/funnel/types";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { fixtureFeedRequest, fixtureServingBundle, mostActiveUser, type FixtureRequestOptions } from "./serving-bundle-fixture";

let bundle: ServingBundle;
let warmUser: string;
beforeAll(async () => {
  bundle = await fixtureServingBundle();
  warmUser = mostActiveUser(bundle);
}, 300_000);

const request = (userId: string, options: FixtureRequestOptions = {}): FeedRequest => fixtureFeedRequest(bundle, userId, options);

const relative = (actual: number, expected: number) => Math.abs(actual - expected) / Math.max(1e-12, Math.abs(expected));

describe("an inspected request", () => {
  it("serves the page a feed request serves, with each stage's candidates recorded", async () => {
    const plain = await runFeed(bundle, request(warmUser));
    const traced = await runTracedFeed(bundle, request(warmUser));
    expect(traced.result.candidates.map((candidate) => candidate.item)).toEqual(plain.candidates.map((candidate) => candidate.item));
    expect(traced.candidates.stages.map((stage) => stage.stage)).toEqual(["retrieval", "filters", "first_stage", "second_stage", "rerank"]);
    for (const [i, stage] of traced.result.trace.stages.entries()) {
      const recorded = traced.candidates.stages[i];
      expect([recorded?.input.length, recorded?.output.length], stage.stage).toEqual([stage.in, stage.out]);
    }
  });

  it("lists what the first stage cut, best first, every one below what it kept", async () => {
    const traced = await runTracedFeed(bundle, request(warmUser));
    const { cut } = explainFeed(traced);
    const first = traced.candidates.of("first_stage");
    expect(first).toBeDefined();
    const kept = new Set(first?.output);
    expect(cut.length).toBe((first?.input.length ?? 0) - kept.size);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.every(({ candidate }) => !kept.has(candidate) && candidate.firstStageScore !== undefined)).toBe(true);
    const scores = cut.map(({ candidate }) => candidate.firstStageScore as number);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // the first stage keeps the best `keep` by its score (an exploration tail adds its own picks on top)
    const keptScores = [...kept].map((candidate) => candidate.firstStageScore as number).sort((a, b) => b - a);
    const keepth = keptScores[Math.min(keptScores.length, traced.state.request.config.firstStage.keep) - 1] as number;
    expect(Math.max(...scores)).toBeLessThanOrEqual(keepth);
    for (const { candidate, rank, firstStageEstimate } of cut) {
      expect(rank).toBeGreaterThan(traced.state.request.config.firstStage.keep - 1);
      expect(firstStageEstimate).toBeCloseTo((candidate.firstStageScore as number) - (candidate.logPrior as number), 9);
    }
  });

  it("takes each item's score apart into the value model's terms, which add up to it", async () => {
    const traced = await runTracedFeed(bundle, request(warmUser, { config: { rerank: { ...bundle.tables.config.rerank, integrityDownrank: 1 } } }));
    const { items } = explainFeed(traced);
    expect(items).toHaveLength(20);
    for (const { candidate, terms, position } of items) {
      expect(terms, `item at ${position}`).toBeDefined();
      if (!terms) continue;
      const { exposure, affinity, sources } = terms.logPrior;
      expect(exposure + affinity + sources).toBeCloseTo(candidate.logPrior as number, 5);
      expect(Object.values(terms.expected).reduce((sum, term) => sum + term, 0)).toBeCloseTo(terms.expectedValue, 9);
      expect(relative(terms.value, candidate.value as number)).toBeLessThan(1e-5);
      expect(relative(terms.score, candidate.score)).toBeLessThan(1e-5);
      expect(terms.expected.hate).toBeLessThanOrEqual(0);
    }
    // an item's rank by value and by score differ exactly when integrity downranking moved it
    for (const item of items) expect(item.rules.some((rule) => rule.rule === "integrity_downrank")).toBe(item.valueRank !== item.scoreRank);
  });

  it("names the rules that passed an item over or dropped it", async () => {
    const config = { rerank: { ...bundle.tables.config.rerank, maxPerAuthor: 1, noAdjacentSameAuthor: true } };
    const seen = [...request(warmUser).user.seen];
    const traced = await runTracedFeed(bundle, request(warmUser, { config, exclude: new Set(bundle.tables.popular.items.slice(0, 5)) }));
    const { items, dropped } = explainFeed(traced);
    const authors = items.map(({ candidate }) => bundle.tables.items.author[candidate.item]);
    expect(new Set(authors).size).toBe(authors.length);
    const capped = dropped.filter((entry) => entry.rule === "max_per_author");
    expect(capped.length).toBeGreaterThan(0);
    for (const { candidate, stage } of capped) {
      expect(stage).toBe("rerank");
      expect(authors).toContain(bundle.tables.items.author[candidate.item]);
    }
    const rules = new Set(dropped.map((entry) => entry.rule));
    expect(rules.has("exclude_requested") || rules.has("drop_seen")).toBe(true);
    for (const entry of dropped.filter((each) => each.rule === "drop_seen")) expect(seen).toContain(entry.candidate.item);
    const filtered = traced.result.trace.rules.filter((rule) => rule.rule === "exclude_requested" || rule.rule === "drop_seen" || rule.rule === "min_integrity");
    expect(dropped.filter((entry) => entry.stage === "filters")).toHaveLength(filtered.reduce((sum, rule) => sum + (rule.removed ?? 0), 0));
  });

  it("reads the user's recent engagements newest first, real-time events after the bundle's", () => {
    const event = { item: 3, ts: bundle.tables.asOfMs + 60_000, surface: 1, labels: ENGAGED_BITS };
    const user = request(warmUser, { realtime: { ...NO_REALTIME_STATE, engagements: [event] } }).user;
    const history = recentHistory(bundle.tables, user, 5);
    expect(history[0]).toEqual({ event, origin: "realtime" });
    expect(history.slice(1).every((entry) => entry.origin === "bundle" && (entry.event.labels & ENGAGED_BITS) !== 0)).toBe(true);
    expect(history.map((entry) => entry.event.ts)).toEqual(history.map((entry) => entry.event.ts).sort((a, b) => b - a));
    expect(recentHistory(bundle.tables, request("never-seen-user").user, 5)).toEqual([]);
  });
});
