import { wrapTime } from "hono/timing";
import { z } from "zod";
import { ConfigOverrideError, configOverrideSchema } from "../../core/funnel/overrides";
import { appFactory } from "../http/factory";
import { holdServingBundle } from "../bundle/hold";
import { degradedFeedResponse } from "../feeds/degraded-response";
import { serveExplore } from "../feeds/explore-service";
import { serveFallback } from "../feeds/fallback";
import { optionalFeedAuth } from "../http/auth";
import { ApiError } from "../http/errors";
import { entityId, servingInstant } from "../http/schemas";
import { setStageMetrics } from "../http/stage-timings";
import { jsonBody } from "../http/validation";

const exploreBody = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(30),
  exclude: z.array(entityId).max(1000).default([]),
  surface: z.number().int().min(0).max(1000).optional(),
  debug: z.boolean().default(false),
  weights: configOverrideSchema.optional(),
  at_ms: servingInstant.optional(),
});

/** POST /v1/explore: a personalised Explore feed from the four-stage funnel, computed in the Worker. */
export const exploreRoutes = appFactory.createApp().post("/v1/explore", optionalFeedAuth(), jsonBody(exploreBody), holdServingBundle, async (c) => {
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const { bundle } = c.var;
  if (bundle.status !== "ready") {
    const fallback = await wrapTime(c, "fallback", serveFallback(c.env, input.user_id, input.count, input.exclude, nowMs));
    return degradedFeedResponse(c, { requestId, userId: input.user_id, debug: input.debug }, bundle.reasons, fallback);
  }
  let output;
  try {
    output = await serveExplore(c.env, bundle.decoded, { userId: input.user_id, count: input.count, exclude: input.exclude, surface: input.surface, debug: input.debug, weights: input.weights }, nowMs);
  } catch (error) {
    if (error instanceof ConfigOverrideError) throw new ApiError(400, "invalid_request", error.message, `weights${error.field ? `.${error.field}` : ""}`);
    throw error;
  }
  setStageMetrics(c, output.timings);
  return c.json({ request_id: requestId, ...output.body });
});
