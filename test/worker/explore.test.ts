import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import "../support/fixture-types";
import { seedFixtureBundle } from "./setup/seed-bundle";

interface ExploreBody {
  request_id: string;
  user_id: string;
  model_version: string;
  cold_start: boolean;
  degraded: boolean;
  items: { item_id: string; author_id: string; score: number; sources: string[]; p: Record<string, number> | null }[];
  debug?: {
    stages: { stage: string; in: number; out: number }[];
    sources: Record<string, { candidates: number }>;
    rules: { rule: string; removed?: number; moved?: number }[];
    user: { cold_start: boolean; engaged_items: number; realtime_events: number };
    degraded_reasons: string[];
  };
}

const explore = (body: unknown) =>
  exports.default.fetch("http://ranker.test/v1/explore", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } });

let version = "";
beforeAll(async () => {
  version = await seedFixtureBundle();
});

describe("POST /v1/explore", () => {
  it("returns the same feed as the funnel run in Node for the same user and state", async () => {
    const fixture = inject("fixtureBundle");
    for (const expected of fixture.expectations) {
      const response = await explore({ user_id: expected.userId, count: 20, at_ms: fixture.asOfMs });
      expect(response.status).toBe(200);
      const body = (await response.json()) as ExploreBody;
      expect(body.model_version).toBe(version);
      expect(body.items.map((item) => item.item_id), `user ${expected.userId}`).toEqual(expected.items);
      // scores are EV · exp(log prior), so a tuned prior puts them at any scale: the API answers them to 7 significant
      // digits, so compare to a millionth of their size
      body.items.forEach((item, i) => expect(Math.abs(item.score - (expected.scores[i] as number))).toBeLessThanOrEqual(1e-6 * Math.abs(expected.scores[i] as number)));
    }
  });

  it("answers every item with its author, sources and per-task probabilities, and a Server-Timing header", async () => {
    const response = await explore({ user_id: inject("fixtureBundle").expectations[0]?.userId, count: 10 });
    const timing = response.headers.get("server-timing") ?? "";
    for (const stage of ["state", "retrieval", "filters", "first_stage", "second_stage", "rerank", "total"]) expect(timing).toMatch(new RegExp(`${stage};dur=\\d`));
    const body = (await response.json()) as ExploreBody;
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.items).toHaveLength(10);
    for (const item of body.items) {
      expect(item.sources.length).toBeGreaterThan(0);
      expect(Object.keys(item.p ?? {})).toEqual(["click", "long_view", "like", "comment", "forward", "follow", "hate"]);
      for (const p of Object.values(item.p ?? {})) expect(p).toBeGreaterThanOrEqual(0);
    }
  });

  it("traces every stage, source and rule with debug", async () => {
    const config = JSON.parse(atob(inject("fixtureBundle").files["config/serving.json"] as string)) as { firstStage: { keep: number } };
    const body = (await (await explore({ user_id: inject("fixtureBundle").expectations[0]?.userId, count: 10, debug: true })).json()) as ExploreBody;
    expect(body.debug?.stages.map((stage) => stage.stage)).toEqual(["retrieval", "filters", "first_stage", "second_stage", "rerank"]);
    const [retrieval, filters, first, second, rerank] = body.debug?.stages ?? [];
    expect(filters?.in).toBe(retrieval?.out);
    expect(first?.out).toBeLessThanOrEqual(Math.min(config.firstStage.keep, filters?.out ?? 0));
    expect(second?.in).toBe(first?.out);
    expect(rerank?.out).toBe(10);
    expect(Object.keys(body.debug?.sources ?? {}).sort()).toEqual(["authors", "cooccurrence", "graph", "history", "popular", "trending", "two_tower"]);
    expect(body.debug?.rules.map((rule) => rule.rule)).toEqual(["exclude_requested", "drop_seen", "min_integrity", "integrity_downrank", "exploration_tail", "no_adjacent_same_author", "max_per_author"]);
  });

  it("never places two items of one author next to each other, nor more than two per author", async () => {
    for (const expected of inject("fixtureBundle").expectations) {
      const body = (await (await explore({ user_id: expected.userId, count: 30 })).json()) as ExploreBody;
      const authors = body.items.map((item) => item.author_id);
      authors.slice(1).forEach((author, i) => expect(author).not.toBe(authors[i]));
      const counts = new Map<string, number>();
      for (const author of authors) counts.set(author, (counts.get(author) ?? 0) + 1);
      for (const count of counts.values()) expect(count).toBeLessThanOrEqual(2);
    }
  });

  it("leaves out excluded items", async () => {
    const userId = inject("fixtureBundle").expectations[0]?.userId;
    const first = (await (await explore({ user_id: userId, count: 5 })).json()) as ExploreBody;
    const excluded = first.items.map((item) => item.item_id);
    const second = (await (await explore({ user_id: userId, count: 5, exclude: excluded })).json()) as ExploreBody;
    for (const item of second.items) expect(excluded).not.toContain(item.item_id);
  });

  it("serves users it has never seen from the cold-start sources, and says so", async () => {
    const body = (await (await explore({ user_id: "someone-new", count: 10, debug: true })).json()) as ExploreBody;
    expect(body.cold_start).toBe(true);
    expect(body.items.length).toBe(10);
    for (const item of body.items) for (const source of item.sources) expect(["popular", "trending", "graph"]).toContain(source);
  });

  it("uses the freshest events: what a user just saw is dropped and their history feeds the sources", async () => {
    const userId = "fresh-user";
    const before = (await (await explore({ user_id: userId, count: 10 })).json()) as ExploreBody;
    const watched = before.items.slice(0, 4).map((item) => item.item_id);
    const now = Date.now();
    const events = watched.flatMap((itemId, i) => [
      { event_id: `imp-${i}`, user_id: userId, item_id: itemId, type: "impression", ts: now - 60_000 + i, surface: 1 },
      { event_id: `click-${i}`, user_id: userId, item_id: itemId, type: "click", ts: now - 50_000 + i, surface: 1 },
      { event_id: `like-${i}`, user_id: userId, item_id: itemId, type: "like", ts: now - 40_000 + i, surface: 1 },
    ]);
    const ingest = await exports.default.fetch("http://ranker.test/v1/events", { method: "POST", body: JSON.stringify({ events }), headers: { authorization: "Bearer test-ingest-token" } });
    expect(ingest.status).toBe(200);
    const after = (await (await explore({ user_id: userId, count: 10, debug: true })).json()) as ExploreBody;
    for (const item of after.items) expect(watched).not.toContain(item.item_id);
    expect(after.debug?.user.realtime_events).toBe(4);
    expect(after.debug?.user.engaged_items).toBe(4);
    expect(after.cold_start).toBe(true); // the bundle does not know this user, however fresh their events
    expect(after.debug?.sources.graph?.candidates).toBeGreaterThan(0); // four liked items: graph exploration starts
  });

  it("applies per-request weight overrides and refuses invalid ones", async () => {
    const userId = inject("fixtureBundle").expectations[0]?.userId;
    const body = (await (await explore({ user_id: userId, count: 10, debug: true, weights: { sources: { popular: { weight: 0 }, trending: { quota: 0 } } } })).json()) as ExploreBody;
    expect(body.debug?.sources.popular).toBeUndefined();
    expect(body.debug?.sources.trending).toBeUndefined();
    for (const item of body.items) expect(item.sources).not.toContain("popular");
    const bad = await explore({ user_id: userId, weights: { value: { hate: 2 } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("weights.valueModel.weights.hate");
  });

  const invalid: [string, unknown, string][] = [
    ["bad JSON", "{user_id:", "body"],
    ["a missing user id", { count: 3 }, "user_id"],
    ["a negative user id", { user_id: -4 }, "user_id"],
    ["a fractional user id", { user_id: 1.5 }, "user_id"],
    ["an empty user id", { user_id: "" }, "user_id"],
    ["a count of 0", { user_id: 1, count: 0 }, "count"],
    ["a count of 101", { user_id: 1, count: 101 }, "count"],
    ["a count given as text", { user_id: 1, count: "30" }, "count"],
    ["exclude not a list", { user_id: 1, exclude: "a" }, "exclude"],
    ["a bad exclude entry", { user_id: 1, exclude: ["ok", {}] }, "exclude.1"],
    ["a surface out of range", { user_id: 1, surface: -1 }, "surface"],
    ["debug not a boolean", { user_id: 1, debug: "yes" }, "debug"],
    ["an unknown source in weights", { user_id: 1, weights: { sources: { magic: { weight: 1 } } } }, "weights.sources.magic"],
    ["an unknown field", { user_id: 1, colour: "red" }, "colour"],
  ];
  for (const [name, body, field] of invalid) {
    it(`answers ${name} with a 400 naming ${field}`, async () => {
      const response = await explore(body);
      expect(response.status).toBe(400);
      const error = ((await response.json()) as { error: { code: string; field: string; message: string } }).error;
      expect(error.field).toBe(field);
      expect(error.message.length).toBeGreaterThan(0);
    });
  }
});
