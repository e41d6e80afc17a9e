// Shrunk counterexamples of the fuzzing section (scripts/reliability/fuzz.ts, issue 17), each as the fuzzer sent it:
// the Worker must answer every one with a clean 4xx whose error body names the offending field.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The test Worker's secrets (vitest.workers.config.ts). */
const ADMIN = { authorization: "Bearer test-admin-token" } as const;
const INGEST = { authorization: "Bearer test-ingest-token" } as const;

async function send(method: string, path: string, body: BodyInit | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await exports.default.fetch(`http://ranker.test${path}`, { method, body, headers: { "content-type": "application/json", ...headers } });
  return { status: response.status, body: await response.json() };
}

describe("fuzzing regressions", () => {
  it("names an unknown empty key as \"\" rather than an empty field", async () => {
    // POST /v1/suggested chunked body {"user_id":"0","":null} answered field ""
    expect(await send("POST", "/v1/suggested", '{"user_id":"0","":null}')).toEqual({ status: 400, body: { error: { code: "invalid_request", message: 'Unrecognized key: ""', field: '""' } } });
    const nested = await send("POST", "/v1/explore", '{"user_id":"0","weights":{"":1}}');
    expect(nested).toEqual({ status: 400, body: { error: { code: "invalid_request", message: 'Unrecognized key: ""', field: 'weights.""' } } });
  });

  it("answers a query naming an Object.prototype key (constructor, toString) 400, not 500", async () => {
    // POST /v1/query {"query":"constructor","user_id":"0","seed_type":" "} answered 500 internal: `name in ROOTS` found
    // the root "constructor" on Object.prototype
    for (const query of ["constructor", "toString.limit(n=1)", "user.let(seed_id=constructor)", "user.let(__proto__=user_id)", "user.let(constructor=user_id)"]) {
      const answer = await send("POST", "/v1/query", JSON.stringify({ query, user_id: "0" }), ADMIN);
      expect(answer.status, query).toBe(400);
      expect(answer.body, query).toMatchObject({ error: { field: "query" } });
    }
  });

  // The requests that broke wrangler dev's proxy (its plain-text 503 "Your worker restarted mid-request" and the 500s
  // of the requests queued behind them): the Worker itself answers each with its error body. The proxy's failure is
  // its own (scripts/reliability/fuzz.ts, runFuzz), so the fuzzer now sends to the Worker's own socket.
  it("answers a body one byte over the limit 413 naming the body, and a body without the right token 401", async () => {
    // POST /v1/suggested {"pad":"xxx…"} of 131,073 bytes (the limit + 1, shrunk from larger ones)
    const pad = `{"pad":"${"x".repeat(128 * 1024 + 1 - '{"pad":""}'.length)}"}`;
    expect(pad.length).toBe(128 * 1024 + 1);
    expect(await send("POST", "/v1/suggested", pad)).toEqual({ status: 413, body: { error: { code: "payload_too_large", message: "the request body is over this route's limit of 131072 bytes", field: "body" } } });
    // PUT /v1/items with "Authorization: Bearer" (no token) and a body of items: refused before the body is read
    const items = await send("PUT", "/v1/items", JSON.stringify({ items: [{ item_id: "-1", author_id: "1030", tags: [], created_at: null, duration: null, type: "x", integrity: 1 }] }), { authorization: "Bearer" });
    expect(items.status).toBe(401);
    expect(items.body).toMatchObject({ error: { code: "unauthorized" } });
  });
  it("answers a stored config with a Suggested Posts CPU budget of 0 400 naming it, not 500", async () => {
    // PUT /v1/admin/config, a config the fuzzer shrank (2 of 100,000 requests answered 500 internal): the queries were
    // planned under the budget of 0 while the budget's own issue was being reported
    const config = {"defaultSurface": 0, "retrieval": {"sources": {"two_tower": {"weight": 0, "quota": 0}, "history": {"weight": 0, "quota": 0}, "cooccurrence": {"weight": 0, "quota": 0}, "authors": {"weight": 0, "quota": 0}, "trending": {"weight": 0, "quota": 0}, "popular": {"weight": 0, "quota": 0}, "graph": {"weight": 0, "quota": 0}}, "maxCandidates": 1, "exposureWeight": 0, "affinityWeight": 0, "exactSearchMaxItemsPerResult": 0}, "firstStage": {"keep": 1}, "valueModel": {"weights": {"click": 0, "long_view": -100, "like": 0, "comment": 0, "forward": 0, "follow": -100, "hate": 0}, "exposureExponent": 0, "exposurePriorShare": 10, "retrievalExponent": 0, "sourceWeights": {"two_tower": 0, "history": 0, "cooccurrence": 0, "authors": 0, "trending": 0, "popular": 0, "graph": 0}}, "suggestedValueModel": {"exponents": {"click": 0, "long_view": 0, "like": 0, "comment": 0, "forward": 0, "follow": 0, "hate": 0}, "exposureExponent": 0, "exposurePriorShare": 5e-324, "retrievalExponent": 0}, "rerank": {"dropSeen": false, "minIntegrity": 0, "integrityDownrank": 0, "noAdjacentSameAuthor": false, "maxPerAuthor": 1}, "coldStart": {"minEngagements": 0}, "suggested": {"homeSurfaces": [0, 0], "fallbackMinSeeds": 0, "typeBoost": {"H": -100, "R": 0, "F": 0, "popular": 0}, "cpuBudgetMs": 5e-324, "home": {"freshness": {"lnAgeHours": [0, 0, 0, 0], "logDensity": []}, "maxTypeExcess": 0, "authorSimilarityWeight": 0}}};
    for (const cpuBudgetMs of [0, -1]) {
      const answer = await send("PUT", "/v1/admin/config", JSON.stringify({ ...config, suggested: { ...config.suggested, cpuBudgetMs, home: { ...config.suggested.home, freshness: { lnAgeHours: [], logDensity: [] } } } }), ADMIN);
      expect(answer, String(cpuBudgetMs)).toMatchObject({ status: 400, body: { error: { code: "invalid_request", field: "suggested.cpuBudgetMs" } } });
    }
  });
});
