import { wrapTime } from "hono/timing";
import { ConfigOverrideError } from "../../core/funnel/overrides";
import { appFactory } from "../http/factory";
import { holdServingBundle } from "../bundle/hold";
import { exploreRequest, exploreRoute, type ExploreResponse } from "../contract/feeds";
import { degradedFeedBody } from "../feeds/degraded-body";
import { serveExplore } from "../feeds/explore-service";
import { serveFallback } from "../feeds/fallback";
import { openFeedPage, withCursor } from "../feeds/session";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { setStageMetrics } from "../http/stage-timings";
import { jsonBody } from "../http/validation";
import { withLiveState } from "../items/feed-answer";
import { readLiveDelta, withLiveItems } from "../items/live-view";

/** POST /v1/explore: a personalised Explore feed from the four-stage funnel, computed in the Worker, page by page of a session. */
export const exploreRoutes = appFactory.createApp().post(exploreRoute.path, bearerFor(exploreRoute.auth), jsonBody(exploreRoute.body), holdServingBundle, async (c) => {
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const { bundle } = c.var;
  const page = await wrapTime(c, "session", openFeedPage(c.env, input.user_id, "explore", input.cursor, input.count));
  const exclude = [...input.exclude, ...page.served];
  if (bundle.status !== "ready") {
    const live = await readLiveDelta(c.env);
    const fallback = await wrapTime(c, "fallback", serveFallback(c.env, input.user_id, input.count, [...exclude, ...live.takenDownIds], nowMs));
    const body = degradedFeedBody({ requestId, userId: input.user_id, debug: input.debug }, bundle.reasons, { items: fallback.items, reasons: [...fallback.reasons, ...live.problems] });
    return c.json((await withCursor(page, withLiveState(body, live))) satisfies ExploreResponse);
  }
  // the live delta (worker/items): live items appended to the bundle, takedowns left out of every path
  const served = await withLiveItems(c.env, bundle.decoded, async (live) => {
    try {
      const output = await serveExplore(c.env, live.serving, { userId: input.user_id, count: input.count, exclude: [...exclude, ...live.takenDownIds], precedingAuthors: page.precedingAuthors, surface: input.surface, debug: input.debug, weights: input.weights }, nowMs);
      return { body: withLiveState(output.body, live), timings: { live: live.syncMs, ...output.timings }, feedback: output.feedback };
    } catch (error) {
      if (error instanceof ConfigOverrideError) throw new ApiError(400, "invalid_request", error.message, `weights${error.field ? `.${error.field}` : ""}`);
      throw error;
    }
  });
  setStageMetrics(c, served.timings);
  return c.json((await withCursor(page, { request_id: requestId, ...served.body }, served.feedback)) satisfies ExploreResponse);
});
