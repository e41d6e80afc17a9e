import { wrapTime } from "hono/timing";
import { z } from "zod";
import { appFactory } from "../http/factory";
import { holdServingBundle } from "../bundle/hold";
import { degradedFeedResponse } from "../feeds/degraded-response";
import { serveSuggested, serveSuggestedFallback } from "../feeds/suggested-service";
import { optionalFeedAuth } from "../http/auth";
import { entityId, servingInstant } from "../http/schemas";
import { setStageMetrics } from "../http/stage-timings";
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
export const suggestedRoutes = appFactory.createApp().post("/v1/suggested", optionalFeedAuth(), jsonBody(suggestedBody), holdServingBundle, async (c) => {
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const request = { userId: input.user_id, count: input.count, exclude: input.exclude, debug: input.debug };
  const { bundle } = c.var;
  if (bundle.status !== "ready") {
    const fallback = await wrapTime(c, "fallback", serveSuggestedFallback(c.env, request, nowMs));
    return degradedFeedResponse(c, { requestId, userId: input.user_id, debug: input.debug }, bundle.reasons, fallback);
  }
  const output = await serveSuggested(c.env, bundle.decoded, request, nowMs);
  setStageMetrics(c, output.timings);
  return c.json({ request_id: requestId, ...output.body });
});
