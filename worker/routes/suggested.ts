import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { bundleCache } from "../bundle/runtime";
import { degradedFeedResponse } from "../feeds/degraded-response";
import { serveSuggested, serveSuggestedFallback } from "../feeds/suggested-service";
import { optionalFeedAuth } from "../http/auth";
import { entityId, servingInstant } from "../http/schemas";
import { serverTiming } from "../http/server-timing";
import { jsonBody } from "../http/validation";

const suggestedBody = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(20),
  /** Items the caller already shows (the Home feed above): never suggested. */
  exclude: z.array(entityId).max(1000).default([]),
  debug: z.boolean().default(false),
  at_ms: servingInstant.optional(),
});

/** POST /v1/suggested: Suggested Posts for the end of the Home feed (core/suggested), seeded H >> R >> F. */
export const suggestedRoutes = new Hono<AppEnv>().post("/v1/suggested", optionalFeedAuth(), jsonBody(suggestedBody), async (c) => {
  const started = performance.now();
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const request = { userId: input.user_id, count: input.count, exclude: input.exclude, debug: input.debug };
  const bundle = await bundleCache.current(c.env, c.executionCtx);
  if (bundle.status !== "ready") {
    const fallback = await serveSuggestedFallback(c.env, request, nowMs);
    return degradedFeedResponse(c, { requestId, userId: input.user_id, debug: input.debug, startedMs: started }, bundle.reasons, fallback);
  }
  const output = await serveSuggested(c.env, bundle.decoded.ranker, request, nowMs);
  c.header("Server-Timing", serverTiming(output.timings, performance.now() - started));
  return c.json({ request_id: requestId, ...output.body });
});
