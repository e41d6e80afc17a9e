import { z } from "zod";
import { LABELS } from "../../core/data/labels";
import { servingConfigSchema } from "../../core/config/serving";
import { exploreValueModelSchema } from "../../core/config/value-model";
import { SEED_TYPES } from "../../core/config/suggested";
import { configOverrideSchema } from "../../core/funnel/overrides";
import { FEED_SESSION_LIMITS } from "./feed-session-limits";
import { entityId, servingInstant } from "./fields";
import { servedArms } from "./experiments";
import { errorResponses, queryProblem } from "./errors";
import { queryTrace } from "./query";
import type { ResponseOf, RouteContract } from "./route";

/** Both feeds page with a cursor (worker/state/feed-sessions.ts). */
const cursorField = z
  .string()
  .min(1)
  .max(100)
  .optional()
  .meta({
    description:
      `The \`cursor\` of the previous page: continues its session. The page repeats nothing the session served (its last ${FEED_SESSION_LIMITS.served} items) and keeps the author rules across the boundary. A session expires ${FEED_SESSION_LIMITS.ttlMs / 60_000} minutes after its last page. Sending a cursor again serves that next page afresh and forgets what followed it. An altered cursor, another user's or another feed's answers 400 \`invalid_cursor\`, an expired one 400 \`cursor_expired\`.`,
  });

export const exploreRequest = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(30),
  exclude: z.array(entityId).max(1000).default([]),
  surface: z.number().int().min(0).max(1000).optional(),
  debug: z.boolean().default(false),
  weights: configOverrideSchema.optional(),
  at_ms: servingInstant.optional(),
  cursor: cursorField,
});

export const suggestedRequest = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(20),
  /** Items the caller already shows (the Home feed above): never suggested. */
  exclude: z.array(entityId).max(1000).default([]),
  debug: z.boolean().default(false),
  at_ms: servingInstant.optional(),
  cursor: cursorField,
});

/** Every task's probability, by label; null where no model scored the item (the popular fallback). */
export const labelProbabilities = z.record(z.enum(LABELS), z.number()).nullable();

/** One Explore item as the API answers it, and as a precomputed feed stores it. */
export const exploreItem = z.strictObject({
  item_id: z.string(),
  author_id: z.string(),
  score: z.number(),
  sources: z.array(z.string()).meta({ description: "The retrieval sources that found the item." }),
  p: labelProbabilities,
});

export const suggestedItem = z.strictObject({
  item_id: z.string(),
  author_id: z.string(),
  score: z.number(),
  seed_id: z.string().nullable().meta({ description: "The seed account's id; null for the popular fill." }),
  seed_type: z.enum([...SEED_TYPES, "popular"]),
  p: labelProbabilities,
});

const userTrace = z.strictObject({ cold_start: z.boolean(), engaged_items: z.number().int(), realtime_events: z.number().int() });
const details = z.record(z.string(), z.unknown());
const stepCount = z.strictObject({ operator: z.string(), line: z.number().int(), column: z.number().int(), in: z.number().int(), out: z.number().int() });
const { retrieval, rerank } = servingConfigSchema.shape;

/** What a feed served without its models says with `debug`: why. */
const degradedTrace = z.strictObject({ degraded_reasons: z.array(z.string()) });

/** `debug: true` on Explore: the funnel's trace, a precomputed feed's provenance, or the fallback's reasons. */
export const exploreDebug = z.union([
  z.strictObject({
    stages: z.array(z.strictObject({ stage: z.string(), in: z.number().int(), out: z.number().int(), ms: z.number(), details: details.optional() })),
    sources: z.record(z.string(), z.strictObject({ candidates: z.number().int(), ms: z.number(), note: z.string().optional(), steps: z.array(stepCount).optional() })),
    rules: z.array(z.strictObject({ rule: z.string(), removed: z.number().int().optional(), moved: z.number().int().optional(), details: details.optional() })),
    user: userTrace,
    degraded_reasons: z.array(z.string()),
    config: z.strictObject({ sources: retrieval.shape.sources, value_model: exploreValueModelSchema, first_stage_keep: z.number().int(), rerank }),
  }),
  z.strictObject({ precomputed: z.strictObject({ computed_at: z.iso.datetime(), stored: z.number().int(), after_filters: z.number().int() }) }),
  degradedTrace,
]);

const bySeedType = <Schema extends z.ZodType>(schema: Schema) => z.strictObject({ H: schema, R: schema, F: schema });

/** `debug: true` on Suggested Posts: each sourcing query's run, the seeds, the fallback and the counts per step. */
export const suggestedDebug = z.union([
  z.strictObject({
    queries: z.array(z.strictObject({ type: z.enum([...SEED_TYPES, "popular"]), index: z.number().int(), query: z.string(), candidates: z.number().int(), trace: queryTrace.optional(), error: queryProblem.optional() })),
    seeds: bySeedType(z.array(z.string())),
    fallback: z.strictObject({ ran: z.boolean(), reason: z.string() }),
    counts: z.strictObject({ merged: bySeedType(z.number().int()), ranked: z.number().int(), popular: z.number().int(), page: bySeedType(z.number().int()).extend({ popular: z.number().int() }) }),
    user: userTrace,
    /** The Home terms (config `suggested.home`): the weights, the user's Home media-type mix, each page item's unweighted terms. */
    home: z.strictObject({
      freshness_weight: z.number(),
      author_similarity_weight: z.number(),
      max_type_excess: z.number(),
      type_mix: z.record(z.string(), z.number()),
      items: z.array(z.strictObject({ item_id: z.string(), log_freshness: z.number(), author_similarity: z.number() })),
    }),
    degraded_reasons: z.array(z.string()),
  }),
  degradedTrace,
]);

const feedResponse = <Item extends z.ZodType, Debug extends z.ZodType>(item: Item, debug: Debug) =>
  z.strictObject({
    request_id: z.uuid(),
    user_id: z.string(),
    model_version: z.string().nullable().meta({ description: "The model bundle that ranked the feed; null when none is usable." }),
    cold_start: z.boolean(),
    degraded: z.boolean().meta({ description: "True when part of the funnel could not run as designed, or no bundle is usable (then the items are the popular fallback)." }),
    items: z.array(item),
    experiments: servedArms,
    cursor: z.string().nullable().meta({
      description: "Pass it as `cursor` to get the next page of this session. Null when the page could not be recorded (the user's state store was unreachable; the answer then says degraded).",
    }),
    debug: debug.optional(),
  });

export const exploreResponse = feedResponse(exploreItem, exploreDebug);
export const suggestedResponse = feedResponse(suggestedItem, suggestedDebug);

export const exploreRoute = {
  operationId: "explore",
  method: "post",
  path: "/v1/explore",
  tag: "feeds",
  summary: "A personalised Explore feed",
  description:
    "Runs the four-stage funnel for the user (retrieval, first stage, second stage, rerank). Every answer carries a Server-Timing header with each stage's time. Without a usable model bundle it still answers 200, from the popular fallback, with `degraded: true`. Pages of one session come by `cursor`: see the field.",
  auth: { token: "FEED_TOKEN", optional: true },
  body: { name: "ExploreRequest", schema: exploreRequest, maxBytes: 128 * 1024 },
  responses: { 200: { description: "The feed.", name: "ExploreResponse", schema: exploreResponse }, ...errorResponses(400, 401, 413, 429, 500, 503) },
} satisfies RouteContract;

export const suggestedRoute = {
  operationId: "suggested",
  method: "post",
  path: "/v1/suggested",
  tag: "feeds",
  summary: "Suggested Posts for the end of the Home feed",
  description:
    "Seeds from Home (H), other surfaces (R) and graph fallback (F), expanded by sourcing queries, merged H >> R >> F, ranked by the log-linear value model and diversified round-robin by seed. Without a usable model bundle it answers 200 from the popular fallback with `degraded: true`. Pages of one session come by `cursor`: see the field.",
  auth: { token: "FEED_TOKEN", optional: true },
  body: { name: "SuggestedRequest", schema: suggestedRequest, maxBytes: 128 * 1024 },
  responses: { 200: { description: "The suggestions.", name: "SuggestedResponse", schema: suggestedResponse }, ...errorResponses(400, 401, 413, 429, 500, 503) },
} satisfies RouteContract;

export type ExploreItem = z.output<typeof exploreItem>;
export type SuggestedItem = z.output<typeof suggestedItem>;
export type ExploreDebug = ResponseOf<typeof exploreDebug>;
export type SuggestedDebug = ResponseOf<typeof suggestedDebug>;
export type ExploreResponse = ResponseOf<typeof exploreResponse>;
export type SuggestedResponse = ResponseOf<typeof suggestedResponse>;
