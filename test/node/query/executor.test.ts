import { describe, expect, it } from "vitest";
import { InMemoryQueryStores, QueryError, executeQuery, planQuery, runQuery, type Candidate, type QueryContext, type QueryStores } from "../../../core/query";
import { ALICE, DAVE, DEFAULT_RANK, FIXTURE_GRAPH, SEED_QUERY, fixtureStores, frozenClock } from "./fixture-graph";

const run = (text: string, context: QueryContext, stores: QueryStores = fixtureStores()) => runQuery(text, stores, context, { clock: frozenClock });
const ids = (candidates: readonly Candidate[]) => candidates.map((c) => c.id);
const pathOf = (candidate: Candidate | undefined) => candidate?.path.map((step) => `${step.operator}:${step.id}`).join(" > ");

/** Cosine similarities in the fixture's 2-d account space, worked out by hand. */
const COS_NEAR = 0.9 / Math.hypot(0.9, 0.1); // 20~10 and 21~11
const COS_FAR = 0.1 / Math.hypot(0.9, 0.1); // 21~10 and 20~11
const freshness = (ageHours: number) => 1 / (1 + ageHours);

async function runError(promise: Promise<unknown>): Promise<QueryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(QueryError);
    return error as QueryError;
  }
  throw new Error("expected the query to fail");
}

describe("executor on the fixture graph", () => {
  it("runs the seed query for alice: liked accounts -> neighbours -> their media, filtered, ranked", async () => {
    const result = await run(SEED_QUERY, { userId: ALICE });
    // liked: 11 (most recent like), 10. Neighbours of 11: 21, 12, 20, 10, 30; of 10 only 11 is new.
    // Their media: 210 211 | 120 121 | 200 201 | 100 101 102 | 300 | 110 111.
    // Filter: 211 (integrity .75) and 120 (.5) are non-recommendable at 0.2; 201 and 111 were seen; 300's author is followed.
    // Rank by DEFAULT_RANK; one seed (the user), so diversify keeps the ranked order.
    expect(ids(result.candidates)).toEqual([210, 200, 110, 100, 101, 121, 102]);
    expect(result.candidates.map((c) => c.score)).toEqual([210, 200, 110, 100, 101, 121, 102].map((id) => DEFAULT_RANK[id]));
    for (const candidate of result.candidates) {
      expect(candidate.seedId).toBe(ALICE);
      expect(candidate.attributes).toEqual({ seed_id: ALICE });
      expect(candidate.seedType).toBeUndefined();
    }
    const first = result.candidates[0] as Candidate;
    expect(first.path).toEqual([
      { operator: "user", kind: "user", id: ALICE, score: 0 },
      { operator: "liked", kind: "account", id: 11, score: 1 },
      { operator: "account_nn", kind: "account", id: 21, score: COS_NEAR },
      { operator: "posted_media", kind: "media", id: 210, score: freshness(1) },
    ]);
    // 100 is reached first through 11's neighbour list (10 is 11's 4th neighbour), so that path wins.
    expect(pathOf(result.candidates.find((c) => c.id === 100))).toBe("user:1 > liked:11 > account_nn:10 > posted_media:100");
    expect(result.trace.steps.map((s) => [s.operator, s.line, s.countIn, s.countOut])).toEqual([
      ["user", 1, 0, 1],
      ["let", 2, 1, 1],
      ["liked", 3, 1, 2],
      ["account_nn", 4, 2, 6],
      ["posted_media", 5, 6, 12],
      ["filter", 6, 12, 7],
      ["rank", 7, 7, 7],
      ["diversify_by", 8, 7, 7],
    ]);
  });

  it("diversifies round robin by seed when each liked account is its own seed", async () => {
    const query = `user
      .liked(max_num_to_retrieve=2)
      .let(seed_id=account_id)
      .account_nn(k=1)
      .posted_media(max_media_per_account=2)
      .filter(exclude_seen=false, exclude_followed_authors=false)
      .rank()
      .diversify_by(seed_id)`;
    const result = await run(query, { userId: ALICE });
    // Seeds 11 -> 21 -> {210, 211} and 10 -> 20 -> {200, 201}. Ranked: 210 .95, 200 .8, 201 .7, 211 .35.
    // Round robin: seed 11's best, seed 10's best, then each one's second.
    expect(ids(result.candidates)).toEqual([210, 200, 211, 201]);
    expect(result.candidates.map((c) => c.seedId)).toEqual([11, 10, 11, 10]);
    expect(pathOf(result.candidates[3])).toBe("user:1 > liked:10 > account_nn:20 > posted_media:201");
    expect(result.candidates[3]?.path[2]?.score).toBeCloseTo(COS_NEAR, 12);
    expect(result.candidates[1]?.path[3]?.score).toBeCloseTo(freshness(2), 12);
  });

  it("expands caller seeds with their types (H/R/F), dropping repeated seeds", async () => {
    const context: QueryContext = {
      userId: ALICE,
      seedType: "F",
      seedAccounts: [{ id: 10, type: "H" }, { id: 21, type: "R" }, { id: 10, type: "F" }, { id: 12 }],
    };
    const result = await run("seed_accounts.let(seed_id=account_id).posted_media(max_media_per_account=1)", context);
    expect(result.candidates.map((c) => [c.id, c.seedId, c.seedType])).toEqual([
      [100, 10, "H"],
      [210, 21, "R"],
      [120, 12, "F"], // no type of its own: the context's
    ]);
    expect(pathOf(result.candidates[1])).toBe("seed_accounts:21 > posted_media:210");
  });

  it("stamps the context's seed type on every candidate of a user query", async () => {
    const result = await run("user.popular(n=2)", { userId: ALICE, seedType: "R" });
    expect(result.candidates.map((c) => [c.id, c.seedType, c.seedId, c.score])).toEqual([
      [300, "R", ALICE, 50],
      [100, "R", ALICE, 40],
    ]);
  });

  it("explores the graph for a sparse user: followed -> two hops -> recent media", async () => {
    const query = "user.followed().let(seed_id=account_id).two_hop(max=3).posted_media(max_media_per_account=1)";
    const result = await run(query, { userId: DAVE });
    // Dave follows 11. 11's media were engaged by users 1, 2, 3, who also engaged authors
    // 10 (users 1 and 3), 30 (1), 20 (2), 12 (2), 21 (3). Top 3: 10, then ties by id: 12, 20.
    expect(ids(result.candidates)).toEqual([100, 120, 200]);
    expect(result.candidates.map((c) => c.seedId)).toEqual([11, 11, 11]);
    expect(result.candidates[0]?.path.map((s) => [s.operator, s.id, s.score])).toEqual([
      ["user", DAVE, 0],
      ["followed", 11, 1],
      ["two_hop", 10, 2],
      ["posted_media", 100, freshness(1)],
    ]);
  });

  it("starts cold users on popular media, filtering what the user follows", async () => {
    expect(ids((await run("user.popular(n=3).filter()", { userId: DAVE })).candidates)).toEqual([300, 100, 200]);
    expect(ids((await run("user.popular(n=3).filter()", { userId: ALICE })).candidates)).toEqual([100, 200]); // alice follows 30
    expect(ids((await run("user.trending()", { userId: DAVE })).candidates)).toEqual([210, 110]);
  });

  it("finds item neighbours and co-occurring items, never the item itself", async () => {
    // Alice's likes, most recent first: 110, 101. Nearest by cosine: 110 -> 210, 101 -> 200.
    expect(ids((await run("user.liked_media(2).media_nn(k=1)", { userId: ALICE })).candidates)).toEqual([210, 200]);
    // Users of 110 (1, 2, 3) also engaged 100 (two of them), then 101, 120, 200, 210, 300 (one each).
    const cooccurred = await run("media(110).cooccurred(k=3)", { userId: ALICE });
    expect(cooccurred.candidates.map((c) => [c.id, c.score])).toEqual([[100, 2], [101, 1], [120, 1]]);
    expect(cooccurred.candidates[0]?.seedId).toBe(110);
  });

  it("reads engagement per surface (H and R seeds)", async () => {
    const home = await run("user.engaged(surface=home).posted_media(max_media_per_account=1)", { userId: ALICE });
    expect(ids(home.candidates)).toEqual([300, 100]); // 300 (author 30) at t=3500, then author 10
    const other = await run("user.engaged(surface=other).posted_media(max_media_per_account=1)", { userId: ALICE });
    expect(ids(other.candidates)).toEqual([110]);
    const media = await run("user.engaged_media(surface=any, max=3)", { userId: ALICE });
    expect(media.candidates.map((c) => [c.id, c.score])).toEqual([[300, 1], [110, 1], [101, 1]]);
  });

  it("only lists recent media when max_age_hours is given", async () => {
    expect(ids((await run("account(10).posted_media()", { userId: ALICE })).candidates)).toEqual([100, 101, 102]);
    expect(ids((await run("account(10).posted_media(max_age_hours=4.5)", { userId: ALICE })).candidates)).toEqual([100]);
  });

  it("passes the model name to the ranker and sorts by its scores", async () => {
    const result = await run("media([100, 210, 120]).rank(ranking_model=by_id)", { userId: ALICE });
    expect(result.candidates.map((c) => [c.id, c.score])).toEqual([[210, 210], [120, 120], [100, 100]]);
  });

  it("binds literals and author ids with let", async () => {
    const result = await run('media([210, 100]).let(source="manual", weight=0.5, fresh=true, author=author_id)', { userId: ALICE });
    expect(result.candidates.map((c) => c.attributes)).toEqual([
      { source: "manual", weight: 0.5, fresh: true, author: 21 },
      { source: "manual", weight: 0.5, fresh: true, author: 10 },
    ]);
  });

  it("asks only the ports a step needs, and none for an empty stream", async () => {
    const stores = fixtureStores();
    await run("media([100]).filter(exclude_seen=false, exclude_followed_authors=false)", { userId: ALICE }, stores);
    expect(stores.calls).toEqual([]);
    const empty = fixtureStores();
    const result = await run(SEED_QUERY, { userId: DAVE }, empty); // dave liked nothing
    expect(result.candidates).toEqual([]);
    expect(empty.calls).toEqual(["likedAccounts"]);
    expect(result.trace.steps.map((s) => s.countOut)).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it("reports time per step on the injected clock", async () => {
    let now = 0;
    const clock = () => (now += 0.25);
    const plan = planQuery("user.liked().posted_media().rank()", { limits: { cpuBudgetMs: 1000 } });
    const result = await executeQuery(plan, fixtureStores(), { userId: ALICE }, { clock });
    expect(result.trace.steps.map((s) => s.operator)).toEqual(["user", "liked", "posted_media", "rank"]);
    for (const step of result.trace.steps) expect(step.elapsedMs).toBeGreaterThan(0);
    const stepsTotal = result.trace.steps.reduce((sum, s) => sum + s.elapsedMs, 0);
    expect(result.trace.totalMs).toBeGreaterThanOrEqual(stepsTotal);
  });

  it("runs a plan many times with different users", async () => {
    const plan = planQuery("user.liked(1).posted_media(max_media_per_account=1)");
    const stores = fixtureStores();
    expect(ids((await executeQuery(plan, stores, { userId: ALICE }, { clock: frozenClock })).candidates)).toEqual([110]);
    expect(ids((await executeQuery(plan, stores, { userId: 2 }, { clock: frozenClock })).candidates)).toEqual([200]);
  });
});

describe("executor: runtime errors point at the step", () => {
  const failing = (override: Partial<QueryStores>): QueryStores => {
    const base = fixtureStores();
    return new Proxy(base, {
      get(target, key, receiver) {
        if (typeof key === "string" && key in override) return override[key as keyof QueryStores];
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };

  it("wraps a port's exception as a runtime error with the port's message and cause", async () => {
    const cause = new Error("KV read timed out");
    const stores = failing({ accountNeighbours: () => Promise.reject(cause) });
    const error = await runError(run("user\n.liked()\n.account_nn()\n.posted_media()", { userId: ALICE }, stores));
    expect(error).toMatchObject({ kind: "runtime", code: "port_failed", line: 3, column: 2 });
    expect(error.reason).toBe("port accountNeighbours failed during account_nn: KV read timed out");
    expect(error.cause).toBe(cause);
    expect(error.isClientError).toBe(false);
  });

  it("fails when the ranking model is unknown to the ranker", async () => {
    const error = await runError(run("user.popular().rank(ranking_model=missing)", { userId: ALICE }));
    expect(error).toMatchObject({ kind: "runtime", code: "port_failed", column: 16 });
    expect(error.reason).toMatch(/unknown ranking model missing/);
  });

  it.each([
    ["more entries than asked", { likedAccounts: () => [1, 2, 3].map((id) => ({ id, score: 1 })) }, "user.liked(2).posted_media()", /returned 3 entries for user 1, more than the 2 asked for/],
    ["a non-integer id", { popularMedia: () => [{ id: 1.5, score: 1 }] }, "user.popular()", /returned \{"id":1.5,"score":1\}/],
    ["a NaN score", { trendingMedia: () => [{ id: 1, score: Number.NaN }] }, "user.trending()", /expected \{id: safe integer, score: finite number\}/],
    ["one list too few", { postedMedia: () => [] }, "account([10, 11]).posted_media()", /returned 0 lists for 2 inputs/],
    ["scores of the wrong length", { rank: () => [1] }, "media([100, 101]).rank()", /returned 1 values for 2 items/],
    ["an infinite rank score", { rank: () => [1, Infinity] }, "media([100, 101]).rank()", /returned Infinity for item 101; expected a finite score/],
    ["integrity above 1", { integrityScores: () => [1.5] }, "media(100).filter(non_recommendable_model_threshold=0.5)", /returned 1.5 for item 100; expected an integrity score in \[0, 1\]/],
    ["not a set of seen items", { seenMedia: () => [1] as unknown as ReadonlySet<number> }, "media(100).filter()", /seenMedia .* did not return a set/],
  ] as const)("rejects a port answer with %s", async (_name, override, query, reason) => {
    const error = await runError(run(query, { userId: ALICE }, failing(override as Partial<QueryStores>)));
    expect(error.kind).toBe("runtime");
    expect(error.code).toBe("port_contract");
    expect(error.reason).toMatch(reason);
  });

  it("needs the seeds a seed root reads", async () => {
    const error = await runError(run("seed_accounts.posted_media()", { userId: ALICE }));
    expect(error).toMatchObject({ kind: "runtime", code: "missing_seeds", line: 1, column: 1 });
    expect(error.reason).toBe("the query starts from seed_accounts but the caller passed no seedAccounts");
    expect((await run("seed_accounts.posted_media()", { userId: ALICE, seedAccounts: [] })).candidates).toEqual([]);
  });

  it("rejects a context without a usable user id", async () => {
    await expect(run("user.popular()", { userId: Number.NaN })).rejects.toThrow(/userId must be a safe integer/);
  });

  it("the in-memory stores refuse inconsistent fixtures", () => {
    expect(() => new InMemoryQueryStores({ ...FIXTURE_GRAPH, events: [{ user: 1, media: 999, ts: 1, surface: "home" }] })).toThrow(/unknown media 999/);
  });
});
