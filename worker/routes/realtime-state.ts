import { honoPath } from "../contract/route";
import { trendingRoute, userStateRoute, type TrendingResponse, type UserStateResponse } from "../contract/realtime-state";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { appFactory } from "../http/factory";
import { TRENDING_LIMITS, trendingOptions, trendingStub } from "../state/trending";
import { userStateStub } from "../state/user-state";
import { logRecurringFailure } from "../../core/util/throttled-log";

/**
 * Operators' reads of the real-time stores (ADMIN_TOKEN): one user's state as their object holds it, and the
 * trending scores. They let a check from outside the Worker — the reliability run's "each event exactly once" —
 * compare what was stored against what was sent, without reaching into Durable Object storage.
 */
export const realtimeStateRoutes = appFactory.createApp()
  .get(honoPath(userStateRoute.path), bearerFor(userStateRoute.auth), async (c) => {
    const userId = c.req.param("user_id") ?? "";
    if (userId === "" || userId.length > 64) throw new ApiError(400, "invalid_request", "user_id must be 1..64 characters", "user_id");
    let dump;
    try {
      dump = await userStateStub(c.env, userId).dump(userId);
    } catch (error) {
      logRecurringFailure("state.user_state", `state: the state of user ${JSON.stringify(userId)} could not be read`, error);
      throw new ApiError(503, "user_state_unavailable", "the user's state could not be read; try again later");
    }
    return c.json({
      user_id: userId,
      events: dump.events.map(({ event_id, item_id, type, ts, surface }) => ({ event_id, item_id, type, ts, surface })),
      seen_items: dump.seen,
      followed_items: dump.followedItems,
      received_event_ids: dump.receivedEventIds,
      log_pending: dump.logPendingRows,
      trending_pending: dump.trendingPendingRows,
    } satisfies UserStateResponse);
  })
  .get(trendingRoute.path, bearerFor(trendingRoute.auth), async (c) => {
    const asOfMs = Date.now();
    let items;
    try {
      items = await trendingStub(c.env).top(TRENDING_LIMITS.top, asOfMs);
    } catch (error) {
      logRecurringFailure("state.trending", "state: trending could not be read", error);
      throw new ApiError(503, "trending_unavailable", "trending could not be read; try again later");
    }
    return c.json({ as_of_ms: asOfMs, half_life_ms: trendingOptions(c.env).halfLifeMs, items } satisfies TrendingResponse);
  });
