import { wrapTime } from "hono/timing";
import { appFactory } from "../http/factory";
import { holdServingBundle } from "../bundle/hold";
import { suggestedRequest, suggestedRoute, type SuggestedResponse } from "../contract/feeds";
import { degradedFeedBody } from "../feeds/degraded-body";
import { openFeedPage, withCursor } from "../feeds/session";
import { serveSuggested, serveSuggestedFallback } from "../feeds/suggested-service";
import { bearerFor } from "../http/auth";
import { setStageMetrics } from "../http/stage-timings";
import { jsonBody } from "../http/validation";
import { withLiveState } from "../items/feed-answer";
import { readLiveDelta, withLiveItems } from "../items/live-view";

/** POST /v1/suggested: Suggested Posts for the end of the Home feed (core/suggested), seeded H >> R >> F, page by page of a session. */
export const suggestedRoutes = appFactory.createApp().post(suggestedRoute.path, bearerFor(suggestedRoute.auth), jsonBody(suggestedRoute.body), holdServingBundle, async (c) => {
  const input = c.req.valid("json");
  const requestId = crypto.randomUUID();
  const nowMs = input.at_ms ?? Date.now();
  const page = await wrapTime(c, "session", openFeedPage(c.env, input.user_id, "suggested", input.cursor, input.count));
  const request = { userId: input.user_id, count: input.count, exclude: [...input.exclude, ...page.served], precedingAuthors: page.precedingAuthors, debug: input.debug };
  const { bundle } = c.var;
  if (bundle.status !== "ready") {
    const live = await readLiveDelta(c.env);
    const fallback = await wrapTime(c, "fallback", serveSuggestedFallback(c.env, { ...request, exclude: [...request.exclude, ...live.takenDownIds] }, nowMs));
    const body = degradedFeedBody({ requestId, userId: input.user_id, debug: input.debug }, bundle.reasons, { items: fallback.items, reasons: [...fallback.reasons, ...live.problems] });
    return c.json((await withCursor(page, withLiveState(body, live))) satisfies SuggestedResponse);
  }
  // the live delta (worker/items): live items appended to the bundle, takedowns left out
  const output = await withLiveItems(c.env, bundle.decoded, async (live) => {
    const served = await serveSuggested(c.env, live.serving, { ...request, exclude: [...request.exclude, ...live.takenDownIds] }, nowMs);
    return { body: withLiveState(served.body, live), timings: { live: live.syncMs, ...served.timings }, feedback: served.feedback };
  });
  setStageMetrics(c, output.timings);
  return c.json((await withCursor(page, { request_id: requestId, ...output.body }, output.feedback)) satisfies SuggestedResponse);
});
