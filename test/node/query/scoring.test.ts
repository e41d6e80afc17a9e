// The operators retrieval sources are written with: plan parameters, how expansions score and merge children,
// the rescoring and reordering steps, and the user-level sources. Expected values are worked out from the
// fixture graph (fixture-graph.ts) by hand, with the in-memory stores' documented rules.
import { describe, expect, it } from "vitest";
import { QueryError, planQuery, runQuery, type Candidate, type PlanOptions } from "../../../core/query";
import { ALICE, DAVE, FIXTURE_GRAPH, fixtureStores, frozenClock } from "./fixture-graph";

const run = async (text: string, options: PlanOptions = {}, userId = ALICE) => (await runQuery(text, fixtureStores(), { userId }, { clock: frozenClock, ...options })).candidates;
const scores = (candidates: readonly Candidate[]) => Object.fromEntries(candidates.map((c) => [c.id, c.score]));
const ids = (candidates: readonly Candidate[]) => candidates.map((c) => c.id);

const media = FIXTURE_GRAPH.mediaEmbeddings?.default as Record<number, readonly number[]>;
function cosine(a: number, b: number): number {
  const x = media[a] as readonly number[];
  const y = media[b] as readonly number[];
  return (x[0]! * y[0]! + x[1]! * y[1]!) / (Math.hypot(x[0]!, x[1]!) * Math.hypot(y[0]!, y[1]!));
}

describe("plan parameters", () => {
  it("a bare word names a number the caller binds when planning", async () => {
    expect(ids(await run("user.popular(n=quota)", { parameters: { quota: 2 } }))).toEqual([300, 100]);
  });

  it("an unknown word is a type error at its line and column, naming the parameters there are", () => {
    const error = (() => {
      try {
        planQuery("user\n.popular(n=quotta)", { parameters: { quota: 2 } });
      } catch (caught) {
        return caught as QueryError;
      }
      throw new Error("expected a planning error");
    })();
    expect(error).toBeInstanceOf(QueryError);
    expect([error.line, error.column]).toEqual([2, 12]);
    expect(error.message).toMatch(/quota/);
    expect(() => planQuery("user.popular(n=quota)")).toThrow(/expects a number, found word quota/);
  });

  it("a bound value is range-checked like a literal", () => {
    expect(() => planQuery("user.popular(n=quota)", { parameters: { quota: 0 } })).toThrow(/between 1 and/);
  });
});

describe("scoring and merging children", () => {
  it("position_weight, scale and normalize rescore without reordering", async () => {
    // alice's engagements, most recent first: 300, 110, 101, 100
    expect(scores(await run("user.engaged_media(max=4).position_weight(decay=1)"))).toEqual({ 300: 1, 110: 1 / 2, 101: 1 / 3, 100: 1 / 4 });
    const rescored = await run("user.engaged_media(max=4).position_weight(decay=1).scale(by=4).normalize()");
    expect(ids(rescored)).toEqual([300, 110, 101, 100]);
    expect(rescored.map((c) => c.score)).toEqual([1, 1 / 2, 1 / 3, 1 / 4].map((s) => (s * 4) / 4));
  });

  it("combine=sum adds an item's scores over the inputs that reached it, and exclude_inputs drops the inputs", async () => {
    // co-engaged users per pair, summed over alice's four items (each list without the item itself)
    expect(scores(await run("user.engaged_media(max=4).cooccurred(k=10, combine=sum)"))).toEqual({ 100: 4, 101: 3, 110: 4, 120: 1, 200: 1, 210: 2, 300: 3 });
    // the default keeps the first path's score
    expect(scores(await run("user.engaged_media(max=4).cooccurred(k=10)"))).toEqual({ 100: 1, 101: 1, 110: 1, 120: 1, 200: 1, 210: 1, 300: 1 });
    // top: best first, equal scores by lower id
    expect(ids(await run("user.engaged_media(max=4).cooccurred(k=10, combine=sum, exclude_inputs=true).top(n=2)"))).toEqual([210, 120]);
  });

  it("score=product weighs each neighbour by its seed, combine=max keeps the best path's weight", async () => {
    // seeds 300 (no vector: no neighbours), 110 (½), 101 (⅓), 100 (¼); five neighbours each, seeds never returned
    const found = scores(await run("user.engaged_media(max=4).position_weight(decay=1).media_nn(k=5, score=product, combine=max, exclude_inputs=true)"));
    expect(Object.keys(found).map(Number).sort((a, b) => a - b)).toEqual([111, 200, 210]);
    expect(found[210]).toBeCloseTo(Math.max(cosine(110, 210) / 2, cosine(101, 210) / 3, cosine(100, 210) / 4), 12);
    expect(found[111]).toBeCloseTo(Math.max(cosine(110, 111) / 2, cosine(101, 111) / 3, cosine(100, 111) / 4), 12);
    expect(found[200]).toBeCloseTo(cosine(101, 200) / 3, 12);
  });

  it("score=rank decays the parent's score by the child's place in its list", async () => {
    // affinity: 30 followed (10) + one engagement; 10 two likes (2 + 2); 11 one like (2)
    const candidates = await run("user.author_affinity(max=10, follow_weight=10).posted_media(max_media_per_account=2, score=rank)");
    expect(candidates.map((c) => [c.path[1]?.id, c.path[1]?.score])).toEqual([[30, 11], [10, 4], [10, 4], [11, 2], [11, 2]]);
    expect(scores(candidates)).toEqual({ 300: 11, 100: 4, 101: 2, 110: 2, 111: 1 });
  });

  it("share splits a number of children among the inputs", async () => {
    // two inputs share 2: one neighbour each, never the item itself
    expect(ids(await run("media([100, 110]).media_nn(k=5, share=2)"))).toEqual([101, 210]);
  });
});

describe("user-level sources and filters", () => {
  it("user_nn searches the media space with the user's vector; a user without one gets nothing", async () => {
    expect(ids(await run("user.user_nn(n=3)"))).toEqual([100, 101, 200]);
    expect(await run("user.user_nn(n=3)", {}, DAVE)).toEqual([]);
  });

  it("followed_or_liked lists follows then liked authors, and nothing below min_accounts", async () => {
    const newest = ".posted_media(max_media_per_account=1)";
    expect((await run(`user.followed_or_liked(min_accounts=3)${newest}`)).map((c) => c.path[1]?.id)).toEqual([30, 11, 10]);
    expect(await run(`user.followed_or_liked(min_accounts=4)${newest}`)).toEqual([]);
    expect(await run(`user.followed_or_liked(min_accounts=2)${newest}`, {}, DAVE)).toEqual([]);
  });

  it("filter(min_integrity) drops items below the bar, and only those", async () => {
    expect(ids(await run("user.popular(n=4).filter(min_integrity=0.6, exclude_seen=false, exclude_followed_authors=false)"))).toEqual([300, 100, 200]);
  });

  it("exclude_inputs exists only where children have the inputs' type", () => {
    expect(() => planQuery("user.followed(max=5).posted_media(exclude_inputs=true)")).toThrow(/has no argument exclude_inputs/);
  });
});
