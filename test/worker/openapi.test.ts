// The OpenAPI contract inside workerd: /openapi.json is valid OpenAPI 3.1, and every route's real answers, successes
// and errors, match the schemas it documents. Requests go through the client typed by the same document.
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import oas31Schema from "@seriousme/openapi-schema-validator/schemas/v3.1/schema.json";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, inject, it } from "vitest";
import { createRankerClient, type components } from "../../client";
import { FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";
import type { UserEvent } from "../../core/realtime/events";
import { createApp } from "../../worker/app";
import { API_ROUTES, apiDocument } from "../../worker/contract";
import type { OpenApiDocument } from "../../worker/contract/document";
import { PRECOMPUTED_INDEX_KEY } from "../../worker/feeds/precompute";
import worker from "../../worker/index";
import "../support/fixture-types";
import { seedFixtureBundle } from "./setup/seed-bundle";

type Method = "get" | "post" | "put" | "delete";
type ExploreResponse = components["schemas"]["ExploreResponse"];

const BASE = "http://ranker.test";
const fetchWorker = (request: Request) => exports.default.fetch(request);
const api = createRankerClient({ baseUrl: BASE, fetch: fetchWorker });
const admin = createRankerClient({ baseUrl: BASE, fetch: fetchWorker, headers: { authorization: "Bearer test-admin-token" } });
const ingest = createRankerClient({ baseUrl: BASE, fetch: fetchWorker, headers: { authorization: "Bearer test-ingest-token" } });
/** The real app with one binding changed: what a deployment with that setting (FEED_TOKEN) or a failing store answers. */
const appWith = (bindings: Partial<Env>) => createRankerClient({ baseUrl: BASE, fetch: async (request) => createApp().fetch(request, { ...env, ...bindings }, createExecutionContext()) });
const raw = (method: string, path: string, body: string, headers: Record<string, string> = {}) => exports.default.fetch(`${BASE}${path}`, { method, body, headers });
const unreachable = async () => Promise.reject(new Error("overloaded"));
/** The app while every user state object fails: feeds serve without state (and without a cursor); a cursor cannot be read. */
const userStateDown = appWith({
  USER_STATE: { idFromName: (name: string) => env.USER_STATE.idFromName(name), get: () => ({ snapshot: unreachable, feedSession: unreachable, recordFeedPage: unreachable }) } as unknown as Env["USER_STATE"],
});

const DOCUMENT_ID = "https://ranker.test/openapi.json";
// what no request can provoke: the unexpected failures
const UNPROVOKED_STATUS = "500";

let served: OpenApiDocument;
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>();
const checked = new Set<string>();

/** The schema components as one JSON Schema, so that ajv resolves their `#/components/schemas/…` references. */
function componentsAsJsonSchema(document: OpenApiDocument): object {
  const schemas = JSON.parse(JSON.stringify(document.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/')) as Record<string, unknown>;
  return { $id: DOCUMENT_ID, $defs: schemas };
}

function validatorOf(ref: string): ValidateFunction {
  const name = ref.replace("#/components/schemas/", "");
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `${DOCUMENT_ID}#/$defs/${name}` });
    validators.set(name, validate);
  }
  return validate;
}

/** Schema errors of `body` as the answer to `method path` with `status`, or a reason the document does not cover it. */
function contractErrors(method: Method, path: string, status: number, body: unknown): string[] {
  const documented = served.paths[path]?.[method]?.responses[String(status)];
  if (!documented) return [`${method.toUpperCase()} ${path} does not document ${status}`];
  const validate = validatorOf(documented.content["application/json"].schema.$ref);
  return validate(body) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`);
}

async function expectDocumented(method: Method, path: string, response: Response, body?: unknown): Promise<unknown> {
  expect(response.headers.get("content-type"), `${method} ${path}`).toMatch(/^application\/json/);
  const json = body ?? (await response.json());
  expect(contractErrors(method, path, response.status, json), `${method.toUpperCase()} ${path} → ${response.status}: ${JSON.stringify(json).slice(0, 400)}`).toEqual([]);
  checked.add(`${method} ${path} ${response.status}`);
  return json;
}

/** openapi-fetch has read the body already: `data` on success, `error` otherwise. */
function expectResult<Data>(method: Method, path: string, result: { data?: Data; error?: unknown; response: Response }, status: number): Promise<unknown> {
  expect(result.response.status, `${method.toUpperCase()} ${path}: ${JSON.stringify(result.error ?? null)}`).toBe(status);
  return expectDocumented(method, path, result.response, result.data ?? result.error);
}

describe("GET /openapi.json", () => {
  it("is valid OpenAPI 3.1, and the document the code generates", async () => {
    const response = await exports.default.fetch(`${BASE}/openapi.json`);
    expect(response.status).toBe(200);
    served = (await response.json()) as OpenApiDocument;
    expect(served.openapi).toBe("3.1.0");
    expect(served).toEqual(JSON.parse(JSON.stringify(apiDocument())));
    const specification = new Ajv2020({ allErrors: true, strict: false });
    addFormats(specification);
    specification.addFormat("media-range", true);
    const validate = specification.compile(oas31Schema);
    expect(validate(served), JSON.stringify(validate.errors)).toBe(true);
  });

  it("has schemas that compile as strict JSON Schema 2020-12, every reference resolving", () => {
    ajv.addSchema(componentsAsJsonSchema(served));
    for (const name of Object.keys(served.components.schemas)) expect(() => validatorOf(`#/components/schemas/${name}`), name).not.toThrow();
  });

  it("documents every route the app serves, with the auth it enforces", async () => {
    // Hono spells a path parameter `:name`, OpenAPI `{name}`
    const serving = new Set(createApp().routes.filter((route) => route.method !== "ALL").map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`));
    const pages = ["get /openapi.json", "get /docs", "get /docs/swagger-ui-bundle.js", "get /docs/swagger-ui.css", "get /inspect", "get /inspect/inspector.js", "get /inspect/inspector.css"];
    for (const own of pages) expect(serving.delete(own), own).toBe(true);
    const documented = new Set(Object.entries(served.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)));
    expect([...serving].sort()).toEqual([...documented].sort());
    for (const [path, operations] of Object.entries(served.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation?.security) continue;
        const [scheme] = Object.keys(operation.security[0] ?? {});
        expect(served.components.securitySchemes[scheme as keyof OpenApiDocument["components"]["securitySchemes"]], `${method} ${path}`).toMatchObject({ type: "http", scheme: "bearer" });
        expect(operation.responses["401"], `${method} ${path} documents 401`).toBeDefined();
      }
    }
  });

  it("catches an answer that drifted from the schema", async () => {
    const valid = (await (await exports.default.fetch(`${BASE}/health`)).json()) as Record<string, unknown>;
    expect(contractErrors("get", "/health", 200, valid)).toEqual([]);
    expect(contractErrors("get", "/health", 200, { ...valid, uptime: 3 })).not.toEqual([]);
    const { degraded: _missing, ...withoutDegraded } = valid;
    expect(contractErrors("get", "/health", 200, withoutDegraded)).not.toEqual([]);
    expect(contractErrors("get", "/health", 200, { ...valid, status: "fine" })).not.toEqual([]);
    expect(contractErrors("get", "/health", 418, valid)).not.toEqual([]);
  });
});

// This file's KV starts empty (storage is isolated per test file): first the answers without a bundle.
describe("without a model bundle", () => {
  it("answers health, both feeds (degraded, from the fallback list) and the bundle-bound routes as documented", async () => {
    await env.BUNDLES.put(FALLBACK_POPULAR_KEY, JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ item_id: `p${i}`, author_id: `a${i}`, score: 12 - i }))));
    const health = (await expectResult("get", "/health", await api.GET("/health"), 200)) as components["schemas"]["Health"];
    expect(health.status).toBe("degraded");
    for (const debug of [false, true]) {
      const explore = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: "u1", count: 5, debug } }), 200)) as ExploreResponse;
      expect(explore.degraded).toBe(true);
      await expectResult("post", "/v1/suggested", await api.POST("/v1/suggested", { body: { user_id: "u1", count: 5, debug } }), 200);
    }
    await expectResult("get", "/v1/admin/config", await admin.GET("/v1/admin/config"), 503);
    await expectResult("post", "/v1/query", await admin.POST("/v1/query", { body: { query: "user.popular(n=5)", user_id: "u1" } }), 503);
    await expectResult("post", "/v1/inspect", await admin.POST("/v1/inspect", { body: { user_id: "u1" } }), 503);
  });
});

describe("with a model bundle", () => {
  it("answers GET /health", async () => {
    await seedFixtureBundle();
    const health = (await expectResult("get", "/health", await api.GET("/health"), 200)) as components["schemas"]["Health"];
    expect(health.status).toBe("ok");
  });

  it("answers POST /v1/explore: a feed, its trace, a precomputed feed, and its errors", async () => {
    const userId = inject("fixtureBundle").expectations[0]?.userId as string;
    const plain = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: userId, count: 10 } }), 200)) as ExploreResponse;
    expect(plain.items).toHaveLength(10);
    const traced = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: userId, count: 10, debug: true, weights: { value: { click: 2 } } } }), 200)) as ExploreResponse;
    expect(traced.debug).toHaveProperty("stages");
    await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: "someone-new", count: 5, debug: true } }), 200);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "0 19 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const heavyUser = ((await env.FEEDS.get(PRECOMPUTED_INDEX_KEY, "json")) as { users: string[] }).users[0] as string;
    const precomputed = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: heavyUser, count: 5, debug: true } }), 200)) as ExploreResponse;
    expect(precomputed.debug).toHaveProperty("precomputed");

    const next = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: heavyUser, count: 5, cursor: precomputed.cursor as string } }), 200)) as ExploreResponse;
    expect(next.items).toHaveLength(5);
    await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: "someone-new", cursor: precomputed.cursor as string } }), 400);
    const stateless = (await expectResult("post", "/v1/explore", await userStateDown.POST("/v1/explore", { body: { user_id: userId, count: 5 } }), 200)) as ExploreResponse;
    expect(stateless).toMatchObject({ degraded: true, cursor: null });
    await expectResult("post", "/v1/explore", await userStateDown.POST("/v1/explore", { body: { user_id: userId, cursor: plain.cursor as string } }), 503);

    await expectDocumented("post", "/v1/explore", await raw("POST", "/v1/explore", "{user_id:"));
    await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: userId, count: 101 } }), 400);
    await expectResult("post", "/v1/explore", await appWith({ FEED_TOKEN: "feed-secret" }).POST("/v1/explore", { body: { user_id: userId } }), 401);
  });

  it("answers POST /v1/suggested: suggestions, their trace, and its errors", async () => {
    const userId = inject("fixtureBundle").expectations[0]?.userId as string;
    const plain = (await expectResult("post", "/v1/suggested", await api.POST("/v1/suggested", { body: { user_id: userId, count: 10 } }), 200)) as components["schemas"]["SuggestedResponse"];
    const traced = (await expectResult("post", "/v1/suggested", await api.POST("/v1/suggested", { body: { user_id: userId, count: 10, debug: true, cursor: plain.cursor as string } }), 200)) as components["schemas"]["SuggestedResponse"];
    expect(traced.debug).toHaveProperty("queries");
    await expectResult("post", "/v1/suggested", await api.POST("/v1/suggested", { body: { user_id: "someone-else", cursor: plain.cursor as string } }), 400);
    await expectResult("post", "/v1/suggested", await userStateDown.POST("/v1/suggested", { body: { user_id: userId, cursor: plain.cursor as string } }), 503);
    await expectResult("post", "/v1/suggested", await api.POST("/v1/suggested", { body: { user_id: "", count: 10 } }), 400);
    await expectResult("post", "/v1/suggested", await appWith({ FEED_TOKEN: "feed-secret" }).POST("/v1/suggested", { body: { user_id: userId } }), 401);
  });

  it("answers POST /v1/events: a batch, and its errors", async () => {
    const event = { event_id: crypto.randomUUID(), user_id: "contract-user", item_id: "v1", type: "like" as const, ts: Date.now() - 1000, surface: 1 };
    const accepted = (await expectResult("post", "/v1/events", await ingest.POST("/v1/events", { body: { events: [event] } }), 200)) as components["schemas"]["EventsResponse"];
    expect(accepted.accepted).toBe(1);
    await expectResult("post", "/v1/events", await ingest.POST("/v1/events", { body: { events: [] } }), 400);
    await expectResult("post", "/v1/events", await api.POST("/v1/events", { body: { events: [event] } }), 401);
    const failingUserState = {
      idFromName: (name: string) => env.USER_STATE.idFromName(name),
      get: () => ({ ingest: async (_userId: string, _batch: UserEvent[]) => Promise.reject(new Error("overloaded")) }),
    } as unknown as Env["USER_STATE"];
    const failing = createRankerClient({ baseUrl: BASE, headers: { authorization: "Bearer test-ingest-token" }, fetch: async (request) => createApp().fetch(request, { ...env, USER_STATE: failingUserState }, createExecutionContext()) });
    await expectResult("post", "/v1/events", await failing.POST("/v1/events", { body: { events: [{ ...event, event_id: crypto.randomUUID() }] } }), 503);
  });

  it("answers POST /v1/query: candidates, and a query's problems located in its text", async () => {
    const userId = inject("fixtureBundle").expectations[0]?.userId as string;
    const text = "user\n.engaged(surface=home, max=10)\n.let(seed_id=account_id)\n.account_nn(k=5)\n.posted_media(max_media_per_account=2)\n.rank(ranking_model=default)";
    const result = (await expectResult("post", "/v1/query", await admin.POST("/v1/query", { body: { query: text, user_id: userId, seed_type: "H" } }), 200)) as components["schemas"]["QueryResponse"];
    expect(result.candidates.length).toBeGreaterThan(0);
    const syntax = (await expectResult("post", "/v1/query", await admin.POST("/v1/query", { body: { query: "user\n.popular(n=5", user_id: userId } }), 400)) as { error: { line?: number } };
    expect(syntax.error.line).toBe(2);
    await expectResult("post", "/v1/query", await admin.POST("/v1/query", { body: { query: "seed_accounts.posted_media()", user_id: userId, seed_accounts: ["no-such-author"] } }), 400);
    await expectResult("post", "/v1/query", await admin.POST("/v1/query", { body: { query: "user.popular(n=5)", user_id: userId, count: 0 } }), 400);
    await expectResult("post", "/v1/query", await api.POST("/v1/query", { body: { query: "user.popular(n=5)", user_id: userId } }), 401);
  });

  it("answers POST /v1/inspect: a warm user, a cold one under an override, and its errors", async () => {
    const userId = inject("fixtureBundle").expectations[0]?.userId as string;
    const warm = (await expectResult("post", "/v1/inspect", await admin.POST("/v1/inspect", { body: { user_id: userId, count: 10, cut_limit: 5 } }), 200)) as components["schemas"]["Inspection"];
    expect(warm.items).toHaveLength(10);
    expect(warm.cut.items.length).toBeLessThanOrEqual(5);
    expect(warm.user.history.length).toBeGreaterThan(0);
    const cold = (await expectResult("post", "/v1/inspect", await admin.POST("/v1/inspect", { body: { user_id: "someone-new", count: 5, weights: { rerank: { max_per_author: 1 } } } }), 200)) as components["schemas"]["Inspection"];
    expect(cold.cold_start).toBe(true);
    expect(cold.config.rerank.maxPerAuthor).toBe(1);
    await expectResult("post", "/v1/inspect", await admin.POST("/v1/inspect", { body: { user_id: userId, weights: { first_stage_keep: 0 } } }), 400);
    await expectResult("post", "/v1/inspect", await api.POST("/v1/inspect", { body: { user_id: userId } }), 401);
  });

  it("answers the admin config routes, and their errors", async () => {
    const current = (await expectResult("get", "/v1/admin/config", await admin.GET("/v1/admin/config"), 200)) as components["schemas"]["ServingConfigInEffect"];
    await expectResult("put", "/v1/admin/config", await admin.PUT("/v1/admin/config", { body: current.config }), 200);
    await expectResult("put", "/v1/admin/config", await admin.PUT("/v1/admin/config", { body: { ...current.config, firstStage: { keep: 0 } } }), 400);
    await expectResult("delete", "/v1/admin/config", await admin.DELETE("/v1/admin/config"), 200);
    await expectResult("get", "/v1/admin/config", await api.GET("/v1/admin/config"), 401);
    await expectResult("put", "/v1/admin/config", await api.PUT("/v1/admin/config", { body: current.config }), 401);
    await expectResult("delete", "/v1/admin/config", await api.DELETE("/v1/admin/config"), 401);
  });

  it("answers GET /v1/admin/experiments/{name}: an experiment's arms, the arm a feed names, and its errors", async () => {
    const current = (await expectResult("get", "/v1/admin/config", await admin.GET("/v1/admin/config"), 200)) as components["schemas"]["ServingConfigInEffect"];
    const control = { name: "control", weight: 1 };
    const experiment = { name: "contract-test", arms: [control, { name: "cap", weight: 1, override: { rerank: { max_per_author: 1 } } }] };
    await expectResult("put", "/v1/admin/config", await admin.PUT("/v1/admin/config", { body: { ...current.config, experiments: [experiment] } }), 200);
    const duplicateArms = { ...experiment, arms: [control, control] };
    const refused = (await expectResult("put", "/v1/admin/config", await admin.PUT("/v1/admin/config", { body: { ...current.config, experiments: [duplicateArms] } }), 400)) as { error: { field: string } };
    expect(refused.error.field).toBe("experiments.0.arms.1.name");
    const userId = inject("fixtureBundle").expectations[0]?.userId as string;
    const feed = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: userId, count: 5 } }), 200)) as ExploreResponse;
    expect(feed.experiments).toEqual([{ experiment: "contract-test", arm: expect.stringMatching(/^(control|cap)$/) }]);
    const events = await ingest.POST("/v1/events", { body: { events: [{ event_id: crypto.randomUUID(), user_id: userId, item_id: feed.items[0]?.item_id as string, type: "impression", ts: Date.now() - 1000, surface: 1 }] } });
    expect(events.data?.experiments).toBe("ok");
    const path = { params: { path: { name: "contract-test" } } };
    const report = (await expectResult("get", "/v1/admin/experiments/{name}", await admin.GET("/v1/admin/experiments/{name}", path), 200)) as components["schemas"]["ExperimentReport"];
    expect(report.arms.map((arm) => arm.arm)).toEqual(["control", "cap"]);
    expect(report.arms.find((arm) => arm.arm === feed.experiments[0]?.arm)).toMatchObject({ users: 1, impressions: 1 });
    await expectResult("get", "/v1/admin/experiments/{name}", await admin.GET("/v1/admin/experiments/{name}", { params: { path: { name: "no-such-experiment" } } }), 404);
    await expectResult("get", "/v1/admin/experiments/{name}", await api.GET("/v1/admin/experiments/{name}", path), 401);
    const failingCounters = { idFromName: (name: string) => env.EXPERIMENTS.idFromName(name), get: () => ({ counts: unreachable }) } as unknown as Env["EXPERIMENTS"];
    await expectResult("get", "/v1/admin/experiments/{name}", await appWith({ EXPERIMENTS: failingCounters }).GET("/v1/admin/experiments/{name}", { ...path, headers: { authorization: "Bearer test-admin-token" } }), 503);
    await expectResult("delete", "/v1/admin/config", await admin.DELETE("/v1/admin/config"), 200);
  });

  it("answers the real-time state reads: a user's state, trending, and their errors", async () => {
    const userId = `contract-${crypto.randomUUID()}`;
    const itemId = `contract-item-${crypto.randomUUID()}`;
    await ingest.POST("/v1/events", { body: { events: [{ event_id: "contract-e1", user_id: userId, item_id: itemId, type: "like", ts: Date.now() - 1000, surface: 1 }] } });
    const path = { params: { path: { user_id: userId } } };
    const state = (await expectResult("get", "/v1/admin/users/{user_id}/state", await admin.GET("/v1/admin/users/{user_id}/state", path), 200)) as components["schemas"]["UserState"];
    expect(state.events).toEqual([expect.objectContaining({ event_id: "contract-e1", item_id: itemId, type: "like" })]);
    expect(state.trending_pending).toBe(0);
    await expectResult("get", "/v1/admin/users/{user_id}/state", await admin.GET("/v1/admin/users/{user_id}/state", { params: { path: { user_id: "x".repeat(65) } } }), 400);
    await expectResult("get", "/v1/admin/users/{user_id}/state", await api.GET("/v1/admin/users/{user_id}/state", path), 401);
    await expectResult("get", "/v1/admin/users/{user_id}/state", await userStateDown.GET("/v1/admin/users/{user_id}/state", { ...path, headers: { authorization: "Bearer test-admin-token" } }), 503);
    const trending = (await expectResult("get", "/v1/admin/trending", await admin.GET("/v1/admin/trending"), 200)) as components["schemas"]["Trending"];
    expect(trending.items.find((item) => item.item_id === itemId)?.score).toBeCloseTo(1, 3);
    await expectResult("get", "/v1/admin/trending", await api.GET("/v1/admin/trending"), 401);
    const trendingDown = { idFromName: (name: string) => env.TRENDING.idFromName(name), get: () => ({ top: unreachable }) } as unknown as Env["TRENDING"];
    await expectResult("get", "/v1/admin/trending", await appWith({ TRENDING: trendingDown }).GET("/v1/admin/trending", { headers: { authorization: "Bearer test-admin-token" } }), 503);
  });

  it("answers the live-items routes, and their errors", async () => {
    const fixture = inject("fixtureBundle");
    const explore = (await expectResult("post", "/v1/explore", await api.POST("/v1/explore", { body: { user_id: fixture.expectations[0]?.userId as string, count: 1 } }), 200)) as ExploreResponse;
    const bundleItem = explore.items[0] as ExploreResponse["items"][number];
    const body = { items: [{ item_id: "contract-live-1", author_id: bundleItem.author_id, tags: [], created_at: null, duration: null, type: "video", integrity: 1 }] };
    await expectResult("put", "/v1/items", await admin.PUT("/v1/items", { body }), 200);
    await expectResult("put", "/v1/items", await admin.PUT("/v1/items", { body: { items: [{ ...body.items[0], integrity: 2 }] } as unknown as typeof body }), 400);
    await expectResult("put", "/v1/items", await api.PUT("/v1/items", { body }), 401);
    await expectResult("get", "/v1/items", await admin.GET("/v1/items"), 200);
    await expectResult("get", "/v1/items", await api.GET("/v1/items"), 401);
    await expectResult("delete", "/v1/items/{id}", await admin.DELETE("/v1/items/{id}", { params: { path: { id: "contract-live-1" } } }), 200);
    await expectResult("delete", "/v1/items/{id}", await admin.DELETE("/v1/items/{id}", { params: { path: { id: "no-such-item" } } }), 404);
    await expectResult("delete", "/v1/items/{id}", await api.DELETE("/v1/items/{id}", { params: { path: { id: "contract-live-1" } } }), 401);
    // a full delta, and one that cannot be reached
    const full = { idFromName: (name: string) => env.ITEM_DELTA.idFromName(name), get: () => ({ has: async () => true, upsert: async () => ({ ok: false, version: 1, inserted: 0, updated: 0, liveItems: 10_000, limit: 10_000, wouldBe: 10_001 }), takeDown: async () => ({ ok: false, version: 1, wasLive: false, limit: 10_000 }) }) } as unknown as Env["ITEM_DELTA"];
    const down = { idFromName: (name: string) => env.ITEM_DELTA.idFromName(name), get: () => ({ has: unreachable, upsert: unreachable, takeDown: unreachable, sync: unreachable }) } as unknown as Env["ITEM_DELTA"];
    const headers = { authorization: "Bearer test-admin-token" };
    await expectResult("put", "/v1/items", await appWith({ ITEM_DELTA: full }).PUT("/v1/items", { body, headers }), 507);
    await expectResult("delete", "/v1/items/{id}", await appWith({ ITEM_DELTA: full }).DELETE("/v1/items/{id}", { params: { path: { id: "contract-live-1" } }, headers }), 507);
    await expectResult("put", "/v1/items", await appWith({ ITEM_DELTA: down }).PUT("/v1/items", { body, headers }), 503);
    await expectResult("delete", "/v1/items/{id}", await appWith({ ITEM_DELTA: down }).DELETE("/v1/items/{id}", { params: { path: { id: "contract-live-1" } }, headers }), 503);
    await expectResult("get", "/v1/items", await appWith({ ITEM_DELTA: down }).GET("/v1/items", { headers }), 503);
    await expectResult("post", "/v1/items/fold", await admin.POST("/v1/items/fold"), 200);
    await expectResult("post", "/v1/items/fold", await api.POST("/v1/items/fold"), 401);
    await expectResult("post", "/v1/items/fold", await appWith({ ITEM_DELTA: down }).POST("/v1/items/fold", { headers }), 503);
    // feeds without the delta: served from what the isolate last read, and said to be degraded
    const degraded = (await expectResult("post", "/v1/explore", await appWith({ ITEM_DELTA: down }).POST("/v1/explore", { body: { user_id: fixture.expectations[0]?.userId as string, count: 5, debug: true } }), 200)) as ExploreResponse;
    expect(degraded.degraded).toBe(true);
    expect(degraded.items.map((entry) => entry.item_id)).not.toContain("contract-live-1");
  });

  it("answers an unknown route with the documented error body", async () => {
    const response = await exports.default.fetch(`${BASE}/v2/nothing`);
    expect(response.status).toBe(404);
    expect(validatorOf("#/components/schemas/Error")(await response.json())).toBe(true);
  });

  it("answers a body over a route's limit with its documented 413", async () => {
    const tokens: Record<string, string> = { ADMIN_TOKEN: "Bearer test-admin-token", INGEST_TOKEN: "Bearer test-ingest-token" };
    for (const route of API_ROUTES.filter((candidate) => candidate.body !== undefined)) {
      const headers: Record<string, string> = route.auth && !route.auth.optional ? { authorization: tokens[route.auth.token] as string } : {};
      const response = await raw(route.method.toUpperCase(), route.path, "x".repeat((route.body?.maxBytes as number) + 1), headers);
      expect(response.status, route.operationId).toBe(413);
      await expectDocumented(route.method, route.path, response, await response.json());
    }
  });

  it("answers a client over its rate with the documented 429 on every route that takes a token", async () => {
    const refuseAll: RateLimit = { limit: async () => ({ success: false }) };
    const tokens: Record<string, string> = { ADMIN_TOKEN: "Bearer test-admin-token", INGEST_TOKEN: "Bearer test-ingest-token" };
    for (const route of API_ROUTES.filter((candidate) => candidate.auth !== undefined)) {
      const headers: Record<string, string> = route.auth && !route.auth.optional ? { authorization: tokens[route.auth.token] as string } : {};
      const path = route.path.replace(/\{[^}]+\}/g, "contract-rate");
      const request = new Request(`${BASE}${path}`, { method: route.method.toUpperCase(), headers, ...(route.body ? { body: "{}" } : {}) });
      const response = await createApp().fetch(request, { ...env, RATE_LIMITER: refuseAll }, createExecutionContext());
      expect(response.status, route.operationId).toBe(429);
      expect(response.headers.get("retry-after"), route.operationId).toMatch(/^\d+$/);
      await expectDocumented(route.method, route.path, response, await response.json());
    }
  });

  it("has checked a real answer for every documented response but the unexpected failures", () => {
    const documented = Object.entries(served.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) => Object.keys(operation?.responses ?? {}).map((status) => `${method} ${path} ${status}`)),
    );
    expect(documented.filter((response) => !checked.has(response) && !response.endsWith(` ${UNPROVOKED_STATUS}`))).toEqual([]);
  });
});

describe("GET /inspect", () => {
  it("serves a page without data, its script and style from the Worker itself, locked to its own origin", async () => {
    const page = await exports.default.fetch(`${BASE}/inspect`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('id="token"');
    for (const [path, type] of [["/inspect/inspector.js", /^text\/javascript/], ["/inspect/inspector.css", /^text\/css/]] as const) {
      expect(html).toContain(`"${path}"`);
      const asset = await exports.default.fetch(`${BASE}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(type);
      expect((await asset.text()).length).toBeGreaterThan(1_000);
    }
    expect(html).not.toMatch(/https?:\/\//);
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI over the document, its assets from the Worker itself", async () => {
    const page = await exports.default.fetch(`${BASE}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('url: "/openapi.json"');
    for (const [path, type] of [["/docs/swagger-ui-bundle.js", /^text\/javascript/], ["/docs/swagger-ui.css", /^text\/css/]] as const) {
      expect(html).toContain(`"${path}"`);
      const asset = await exports.default.fetch(`${BASE}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(type);
      expect((await asset.text()).length).toBeGreaterThan(10_000);
    }
    expect(html).not.toMatch(/https?:\/\//);
  });
});
