import { z } from "zod";
import { INTERACTION_TYPES } from "../../core/realtime/events";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

/** Path ids are strings; an id the events route took as a number is stored as its decimal string. */
export const stateUserId = z.string().min(1).max(64).meta({ description: "The user id as `POST /v1/events` took it (a number is its decimal string)." });

const storedEvent = z.strictObject({
  event_id: z.string(),
  item_id: z.string(),
  type: z.enum(INTERACTION_TYPES),
  ts: z.number().int(),
  surface: z.number().int(),
});

export const userStateResponse = z.strictObject({
  user_id: z.string(),
  events: z.array(storedEvent).meta({ description: "The user's recent events as stored (each `event_id` once), oldest first; at most the newest 500 by `ts`." }),
  seen_items: z.number().int().meta({ description: "Items the user has an impression of or engaged with (at most 5,000)." }),
  followed_items: z.number().int().meta({ description: "Items the user followed an author from (at most 1,000)." }),
  received_event_ids: z.number().int().meta({ description: "Event ids remembered for idempotency (at most 10,000, by arrival)." }),
  log_pending: z.number().int().meta({ description: "Events of the user's state object (its whole group of users) accepted but not yet in the event log." }),
  trending_pending: z.number().int().meta({ description: "Events of the user's state object accepted but not yet confirmed by trending; a later batch or the object's alarm delivers them." }),
});

export const userStateRoute = {
  operationId: "getUserState",
  method: "get",
  path: "/v1/admin/users/{user_id}/state",
  tag: "admin",
  summary: "What a user's real-time state object holds for them",
  description: "Reads the user's state as `POST /v1/events` stored it: their recent events with ids, the sizes of the seen and followed sets, and how much of their object waits for the event log and for trending. Read-only.",
  auth: { token: "ADMIN_TOKEN" },
  params: { user_id: stateUserId },
  responses: { 200: { description: "The user's stored state (empty for a user who never sent an event).", name: "UserState", schema: userStateResponse }, ...errorResponses(400, 401, 429, 500, 503) },
} satisfies RouteContract;

export const trendingResponse = z.strictObject({
  as_of_ms: z.number().int().meta({ description: "The instant the scores are decayed to (the Worker's clock at the request)." }),
  half_life_ms: z.number().meta({ description: "The counter's half-life." }),
  items: z
    .array(z.strictObject({ item_id: z.string(), score: z.number().meta({ description: "Σ weight · 2^(−age / half-life) over the item's engagement events (each weighs 1; impressions and hates 0)." }) }))
    .meta({ description: "The 1,000 best-scored items, best first." }),
});

export const trendingRoute = {
  operationId: "getTrending",
  method: "get",
  path: "/v1/admin/trending",
  tag: "admin",
  summary: "The real-time trending scores",
  description: "The global trending object's top items as of now, each score a decayed count of the engagement events `POST /v1/events` delivered to it (each event once). Read-only.",
  auth: { token: "ADMIN_TOKEN" },
  responses: { 200: { description: "The top items and their scores.", name: "Trending", schema: trendingResponse }, ...errorResponses(401, 429, 500, 503) },
} satisfies RouteContract;

export type UserStateResponse = ResponseOf<typeof userStateResponse>;
export type TrendingResponse = ResponseOf<typeof trendingResponse>;
