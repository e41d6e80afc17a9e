import { wrapTime } from "hono/timing";
import { ConfigOverrideError } from "../../core/funnel/overrides";
import { appFactory } from "../http/factory";
import { holdServingBundle } from "../bundle/hold";
import { exploreRequest, exploreRoute, type ExploreResponse } from "../contract/feeds";
import { degradedFeedBody } from "../feeds/degraded-body";
import { serveExplore } from "../feeds/explore-service";
import { serveFallback } from "../feeds/fallback";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { setStageMetrics } from "../http/stage-timings";
import { jsonBody } from "../http/validation";

/** POST /v1/explore: a personalised Explore feed from the four-stage funnel, computed in the Worker. */
export const exploreRoutes = appFactory.createApp().post(exploreRoute.path, bearerFor(exploreRoute.auth), jsonBody(exploreRequest), holdServingBundle, async (c) => {
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const { bundle } = c.var;
  if (bundle.status !== "ready") {
    const fallback = await wrapTime(c, "fallback", serveFallback(c.env, input.user_id, input.count, input.exclude, nowMs));
    return c.json(degradedFeedBody({ requestId, userId: input.user_id, debug: input.debug }, bundle.reasons, fallback) satisfies ExploreResponse);
  }
  let output;
  try {
    output = await serveExplore(c.env, bundle.decoded, { userId: input.user_id, count: input.count, exclude: input.exclude, surface: input.surface, debug: input.debug, weights: input.weights }, nowMs);
  } catch (error) {
    if (error instanceof ConfigOverrideError) throw new ApiError(400, "invalid_request", error.message, `weights${error.field ? `.${error.field}` : ""}`);
    throw error;
  }
  setStageMetrics(c, output.timings);
  return c.json({ request_id: requestId, ...output.body } satisfies ExploreResponse);
});
