import { Hono } from "hono";
import { z } from "zod";
import { ConfigOverrideError, configOverrideSchema } from "../../core/funnel/overrides";
import type { AppEnv } from "../app";
import { bundleCache } from "../bundle/runtime";
import { serveExplore } from "../feeds/explore-service";
import { serveFallback } from "../feeds/fallback";
import { optionalFeedAuth } from "../http/auth";
import { ApiError } from "../http/errors";
import { entityId } from "../http/schemas";
import { serverTiming } from "../http/server-timing";
import { jsonBody } from "../http/validation";

const exploreBody = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(30),
  exclude: z.array(entityId).max(1000).default([]),
  surface: z.number().int().min(0).max(1000).optional(),
  debug: z.boolean().default(false),
  weights: configOverrideSchema.optional(),
  /**
   * Serve as of this instant (epoch ms) instead of now: replays, offline comparisons and tests use it to pin
   * the time-dependent features (hour of day, item age).
   */
  at_ms: z.number().int().min(Date.UTC(2000, 0, 1)).refine((ms) => ms <= Date.now() + 86_400_000, { error: "must not be more than 1 day in the future" }).optional(),
});

/** POST /v1/explore: a personalised Explore feed from the four-stage funnel, computed in the Worker. */
export const exploreRoutes = new Hono<AppEnv>().post("/v1/explore", optionalFeedAuth(), jsonBody(exploreBody), async (c) => {
  const started = performance.now();
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const bundle = await bundleCache.current(c.env, c.executionCtx);
  if (bundle.status !== "ready") {
    const fallback = await serveFallback(c.env, input.user_id, input.count, input.exclude, nowMs);
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
  let output;
  try {
    output = await serveExplore(c.env, bundle.decoded.ranker, { userId: input.user_id, count: input.count, exclude: input.exclude, surface: input.surface, debug: input.debug, weights: input.weights }, nowMs);
  } catch (error) {
    if (error instanceof ConfigOverrideError) throw new ApiError(400, "invalid_request", error.message, `weights${error.field ? `.${error.field}` : ""}`);
    throw error;
  }
  c.header("Server-Timing", serverTiming(output.timings, performance.now() - started));
  return c.json({ request_id: requestId, ...output.body });
});
