// Regression tests for what fault injection found (scripts/reliability/faults.ts, issue 17): a model run that traps
// mid-request answered 500, a source waiting on a slow index held the request, and a hung KV read held the feeds'
// config and the events' experiments read. Faults come from the dev-only hook (worker/faults/inject.ts), which this
// file also checks stays off without its variable, its token or a loopback address.
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import "../support/fixture-types";
import worker from "../../worker/index";
import { SERVING_CONFIG_KEY, resetServingConfigCache } from "../../worker/feeds/serving-config";
import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { COLD_START_REQUESTS } from "../../core/config/suggested";
import { FAULT_APPLIED_HEADER, FAULT_HEADER, FAULT_TOKEN_HEADER, type FaultKind } from "../../worker/faults/kinds";
import { seedFixtureBundle } from "./setup/seed-bundle";

const ADMIN = "test-admin-token";
const faultEnv = { ...env, ALLOW_FAULT_INJECTION: "1", CONFIG_REFRESH_SECONDS: "0" } as Env;

interface FeedBody {
  model_version: string | null;
  degraded: boolean;
  items: { item_id: string; p: Record<string, number> | null }[];
  cursor: string | null;
  debug?: { degraded_reasons: string[] };
}

async function call(path: string, body: unknown, options: { faults?: readonly FaultKind[]; token?: string; host?: string; env?: Env; authorization?: string } = {}): Promise<{ response: Response; ms: number }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.faults) {
    headers[FAULT_HEADER] = options.faults.join(",");
    headers[FAULT_TOKEN_HEADER] = options.token ?? ADMIN;
  }
  if (options.authorization) headers.authorization = options.authorization;
  const ctx = createExecutionContext();
  const started = Date.now();
  const response = await worker.fetch(new Request(`http://${options.host ?? "127.0.0.1:8787"}${path}`, { method: "POST", headers, body: JSON.stringify(body) }), options.env ?? faultEnv, ctx);
  const ms = Date.now() - started;
  await waitOnExecutionContext(ctx);
  return { response, ms };
}

let userId = "";
beforeAll(async () => {
  await seedFixtureBundle();
  userId = inject("fixtureBundle").expectations[0]?.userId ?? "";
});

describe("fault injection's findings", () => {
  it("a wasm trap in the MTML mid-request answers 200, ranked by the first stage, and says why (was a 500)", async () => {
    for (const route of ["/v1/explore", "/v1/suggested"]) {
      const { response } = await call(route, { user_id: userId, count: 10, debug: true }, { faults: ["wasm_trap"] });
      expect(response.status, route).toBe(200);
      expect(response.headers.get(FAULT_APPLIED_HEADER)).toBe("wasm_trap");
      const body = (await response.json()) as FeedBody;
      expect(body.degraded).toBe(true);
      expect(body.items.length).toBeGreaterThan(0);
      expect(body.debug?.degraded_reasons.join("\n")).toMatch(/second-stage model failed: unreachable \(injected fault: wasm_trap\)/);
    }
  });

  it("a source waiting on a slow index is given up at its budget: 200, degraded, no hang", async () => {
    // a bundle's first requests run with COLD_START_BUDGET_FACTOR times the budgets (JIT, background wasm compiles):
    // past them, a warm request is what is given up at the plain budget
    for (let i = 0; i < COLD_START_REQUESTS; i++) expect((await call("/v1/explore", { user_id: userId, count: 10 })).response.status).toBe(200);
    const { response, ms } = await call("/v1/explore", { user_id: userId, count: 10, debug: true }, { faults: ["slow_source"] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as FeedBody;
    expect(body.items.length).toBeGreaterThan(0);
    expect(body.debug?.degraded_reasons.join("\n")).toMatch(/source \S+ failed: source \S+ did not answer within its time budget of \d+ ms/);
    expect(ms).toBeLessThan(REQUEST_BUDGETS_MS.retrieval + 3000);
  });

  it("a hung KV read costs the feeds and the events one budget, not the request", async () => {
    resetServingConfigCache();
    const { response, ms } = await call("/v1/explore", { user_id: userId, count: 10, debug: true }, { faults: ["kv_read_timeout"] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as FeedBody;
    expect(body.debug?.degraded_reasons.join("\n")).toMatch(/stored serving config unreadable .*time budget of 1000 ms/);
    expect(ms).toBeLessThan(5000);
    const events = [{ event_id: "faults-kv-1", user_id: userId, item_id: body.items[0]?.item_id ?? "1", type: "click", ts: Date.now(), surface: 1 }];
    const ingest = await call("/v1/events", { events }, { faults: ["kv_read_timeout"], authorization: "Bearer test-ingest-token" });
    expect(ingest.response.status).toBe(200);
    expect(ingest.ms).toBeLessThan(5000);
  });

  it("a KV read that fails keeps the operator's stored config instead of the bundle's", async () => {
    resetServingConfigCache();
    // store a valid override (the bundle's config with another first-stage keep), read it once, then fail KV
    const current = await call("/v1/explore", { user_id: userId, count: 5, debug: true });
    const config = ((await current.response.json()) as { debug?: { config?: { first_stage_keep?: number } } }).debug?.config;
    expect(config?.first_stage_keep).toBeGreaterThan(0);
    const admin = await worker.fetch(new Request("http://127.0.0.1/v1/admin/config", { headers: { authorization: `Bearer ${ADMIN}` } }), faultEnv, createExecutionContext());
    const stored = ((await admin.json()) as { config: { firstStage: { keep: number } } }).config;
    await env.BUNDLES.put(SERVING_CONFIG_KEY, JSON.stringify({ ...stored, firstStage: { ...stored.firstStage, keep: 37 } }));
    resetServingConfigCache();
    const read = (await (await call("/v1/explore", { user_id: userId, count: 5, debug: true })).response.json()) as { debug?: { config?: { first_stage_keep?: number } } };
    expect(read.debug?.config?.first_stage_keep).toBe(37);
    const failing = (await (await call("/v1/explore", { user_id: userId, count: 5, debug: true }, { faults: ["kv_read_fail"] })).response.json()) as FeedBody & { debug?: { config?: { first_stage_keep?: number } } };
    expect(failing.debug?.config?.first_stage_keep).toBe(37);
    expect(failing.degraded).toBe(true);
    expect(failing.debug?.degraded_reasons.join("\n")).toMatch(/stored serving config unreadable \(serving the config this isolate read last\)/);
    await env.BUNDLES.delete(SERVING_CONFIG_KEY);
    resetServingConfigCache();
  });

  it("an unavailable trending object makes the feed say so", async () => {
    const { response } = await call("/v1/explore", { user_id: userId, count: 10, debug: true, at_ms: Date.now() + 86_400_000 }, { faults: ["trending_unavailable"] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as FeedBody;
    expect(body.degraded).toBe(true);
    expect(body.debug?.degraded_reasons.join("\n")).toMatch(/real-time (trending|item counters) unavailable/);
  });

  it("is off without ALLOW_FAULT_INJECTION, without the admin token, or off loopback", async () => {
    const cases: { env: Env; token?: string; host?: string }[] = [
      { env: { ...env, ALLOW_FAULT_INJECTION: undefined } as Env },
      { env: faultEnv, token: "not-the-admin-token" },
      { env: faultEnv, host: "ranker.example.com" },
    ];
    for (const [i, options] of cases.entries()) {
      const { response } = await call("/v1/explore", { user_id: userId, count: 5, debug: true }, { faults: ["wasm_trap"], ...options });
      expect(response.status, `case ${i}`).toBe(200);
      expect(response.headers.get(FAULT_APPLIED_HEADER), `case ${i}`).toBeNull();
      const body = (await response.json()) as FeedBody;
      expect(body.debug?.degraded_reasons.join("\n") ?? "", `case ${i}`).not.toMatch(/injected fault/);
    }
  });
});
