import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { bundleCache } from "../bundle/runtime";
import { serveSuggested, serveSuggestedFallback } from "../feeds/suggested-service";
import { optionalFeedAuth } from "../http/auth";
import { entityId } from "../http/schemas";
import { serverTiming } from "../http/server-timing";
import { jsonBody } from "../http/validation";

const suggestedBody = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(20),
  /** Items the caller already shows (the Home feed above): never suggested. */
  exclude: z.array(entityId).max(1000).default([]),
  debug: z.boolean().default(false),
  /** Serve as of this instant (epoch ms) instead of now, as /v1/explore allows: replays and tests pin the time features. */
  at_ms: z.number().int().min(Date.UTC(2000, 0, 1)).refine((ms) => ms <= Date.now() + 86_400_000, { error: "must not be more than 1 day in the future" }).optional(),
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
    c.header("Server-Timing", serverTiming({ fallback: performance.now() - started }, performance.now() - started));
    return c.json({
      request_id: requestId,
      user_id: input.user_id,
      model_version: null,
      cold_start: true,
      degraded: true,
      items: fallback.items,
      ...(input.debug ? { debug: { degraded_reasons: [...bundle.reasons, ...fallback.reasons] } } : {}),
    });
  }
  const output = await serveSuggested(c.env, bundle.decoded.ranker, request, nowMs);
  c.header("Server-Timing", serverTiming(output.timings, performance.now() - started));
  return c.json({ request_id: requestId, ...output.body });
});
