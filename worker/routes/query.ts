import { setMetric, wrapTime } from "hono/timing";
import type { z } from "zod";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { executeQuery, isQueryError, planQuery, planReads, type AttributeValue, type Candidate, type QueryError, type QueryPlan, type SeedInput, type StreamType } from "../../core/query";
import { SUGGESTED_EMBEDDING_CONFIGS, SUGGESTED_RANKING_MODELS } from "../../core/config/suggested";
import { createFeedState } from "../../core/funnel/explore";
import { appFactory } from "../http/factory";
import { holdServingBundle } from "../bundle/hold";
import { queryRequest, queryRoute, type QueryCandidate, type QueryErrorBody, type QueryResponse, type seedAccount } from "../contract/query";
import { probabilitiesByLabel } from "../feeds/explore-items";
import { hydrateFeedRequest } from "../feeds/request";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody } from "../http/validation";

/**
 * The executor's budget for `/v1/query` (ms, ports included). An admin tool, so a loose guard rather than the 5 ms
 * default: its queries may `rank` hundreds of items with the MTML (~1–2 ms per 100 warm), and right after a bundle
 * loads, runs are 10–100× slower (JIT, V8 still compiling the onnxruntime wasm in the background: account_nn took
 * 30–110 ms per seed then, against 0.6–1 ms warm). Deployed workerd only advances the clock across I/O, so there
 * it bounds I/O-separated time; the platform's CPU limit bounds the rest.
 */
export const QUERY_ROUTE_CPU_BUDGET_MS = 1000;

/** A query problem as the HTTP error body: the usual `{code, message, field}` plus where in the text and which limit. */
function queryErrorResponse(error: QueryError, status: 400 | 500, field: string): { status: 400 | 500; body: QueryErrorBody } {
  return { status, body: { error: { ...error.toJSON(), field } } };
}

/**
 * POST /v1/query (ADMIN_TOKEN): runs a sourcing query for a user over the serving stores — the same ports
 * Suggested Posts reads — and returns the candidates with the execution trace. Syntax, type and limit problems are
 * a 400 naming line, column and (for limits) the limit.
 */
export const queryRoutes = appFactory.createApp().post(queryRoute.path, bearerFor(queryRoute.auth), jsonBody(queryRoute.body), holdServingBundle, async (c) => {
  const input = c.req.valid("json");
  const options = { embeddingConfigs: SUGGESTED_EMBEDDING_CONFIGS, rankingModels: SUGGESTED_RANKING_MODELS, limits: { cpuBudgetMs: QUERY_ROUTE_CPU_BUDGET_MS } };
  let plan: QueryPlan;
  try {
    plan = planQuery(input.query, options);
  } catch (error) {
    if (!isQueryError(error)) throw error;
    const { status, body } = queryErrorResponse(error, 400, "query");
    return c.json(body, status);
  }
  const { bundle } = c.var;
  if (bundle.status !== "ready") throw new ApiError(503, "bundle_unavailable", `no model bundle is loaded: ${bundle.reasons.join("; ")}`);
  const serving = bundle.decoded;
  const { tables } = serving;
  const nowMs = input.at_ms ?? Date.now();
  const seedAccounts = input.seed_accounts?.map((seed, i) => toSeed(seed, i, "seed_accounts", (id) => tables.items.authors.get(id)));
  const seedMedia = input.seed_media?.map((seed, i) => toSeed(seed, i, "seed_media", (id) => tables.items.ids.get(id)));

  const { request, bundle: served, problems } = await wrapTime(c, "state", hydrateFeedRequest(c.env, serving, { userId: input.user_id, count: 0, exclude: [] }, nowMs, (config) => config.suggested.homeSurfaces[0] as number), undefined, 2);
  // the query may search with the user's retrieval embedding (user_nn) or rank with a model that weighs it
  const needsEmbedding = () => planReads(plan, (port) => port === "userNeighbours" || port === "rank");
  const { stores } = await createFeedState(served, request, needsEmbedding);
  let result;
  try {
    result = await executeQuery(plan, stores, {
      userId: stores.userId,
      ...(input.seed_type ? { seedType: input.seed_type } : {}),
      ...(seedAccounts ? { seedAccounts } : {}),
      ...(seedMedia ? { seedMedia } : {}),
    });
  } catch (error) {
    if (!isQueryError(error)) throw error;
    // a query that starts from seeds the caller did not pass is the caller's problem; a port failing is ours
    if (error.code === "missing_seeds") {
      const { status, body } = queryErrorResponse(error, 400, plan.root.name);
      return c.json(body, status);
    }
    const { status, body } = queryErrorResponse(error, error.isClientError ? 400 : 500, "query");
    return c.json(body, status);
  }
  const ids = new ExternalIds(serving, input.user_id, plan);
  setMetric(c, "query", result.trace.totalMs, undefined, 2);
  return c.json({
    request_id: crypto.randomUUID(),
    model_version: tables.version,
    user_id: input.user_id,
    query: plan.text,
    total: result.candidates.length,
    candidates: result.candidates.slice(0, input.count).map((candidate) => ids.candidate(candidate, stores.probabilitiesOf(candidate.id))),
    trace: { steps: result.trace.steps, total_ms: result.trace.totalMs },
    ...(problems.length > 0 ? { degraded_reasons: problems } : {}),
  } satisfies QueryResponse);
});

function toSeed(seed: z.output<typeof seedAccount>, index: number, field: string, rowOf: (id: string) => number | undefined): SeedInput {
  const id = typeof seed === "string" ? seed : seed.id;
  const row = rowOf(id);
  if (row === undefined) throw new ApiError(400, "invalid_request", `${field === "seed_accounts" ? "author" : "item"} ${id} is not in the model bundle's catalogue`, `${field}.${index}`);
  return typeof seed === "string" || seed.type === undefined ? { id: row } : { id: row, type: seed.type };
}

/** Bundle rows back to the ids clients use: attributes bound to account/media/user expressions are ids too. */
class ExternalIds {
  private readonly attributeKinds = new Map<string, StreamType | "literal">();

  constructor(private readonly serving: ServingBundle, private readonly userId: string, plan: QueryPlan) {
    for (const step of plan.steps) {
      for (const binding of step.bindings) {
        const value = binding.value;
        const kind = value.kind === "literal" ? "literal" : value.name === "user_id" ? "user" : value.name === "media_id" ? "media" : "account";
        this.attributeKinds.set(binding.name, kind);
      }
    }
  }

  id(kind: StreamType, row: number): string {
    const { items } = this.serving.tables;
    if (kind === "user") return this.userId;
    return kind === "media" ? items.ids.id(row) : items.authors.id(row);
  }

  attribute(name: string, value: AttributeValue): AttributeValue {
    const kind = this.attributeKinds.get(name);
    return kind === undefined || kind === "literal" || typeof value !== "number" ? value : this.id(kind, value);
  }

  candidate(candidate: Candidate, probabilities: Float32Array | undefined): QueryCandidate {
    const { items } = this.serving.tables;
    const origin = candidate.path[0];
    const seedBound = candidate.attributes["seed_id"] !== undefined;
    return {
      item_id: items.ids.id(candidate.id),
      author_id: items.authors.id(items.author[candidate.id] as number),
      score: candidate.score,
      seed_id: seedBound ? this.attribute("seed_id", candidate.seedId) : origin ? this.id(origin.kind, origin.id) : null,
      seed_type: candidate.seedType ?? null,
      attributes: Object.fromEntries(Object.entries(candidate.attributes).map(([name, value]) => [name, this.attribute(name, value)])),
      path: candidate.path.map((step) => ({ operator: step.operator, kind: step.kind, id: this.id(step.kind, step.id), score: step.score })),
      p: probabilities ? probabilitiesByLabel(probabilities) : null,
    };
  }
}
