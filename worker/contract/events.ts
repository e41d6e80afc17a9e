import { z } from "zod";
import { INTERACTION_TYPES } from "../../core/realtime/events";
import { entityId } from "./fields";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

export const MAX_EVENTS_PER_BATCH = 1_000;
const DAY_MS = 86_400_000;
/** Older than any data this system serves; replaying historical logs (KuaiRand is 2022) must still work. */
const EARLIEST_TS = Date.UTC(2000, 0, 1);

const interactionEvent = z.object({
  event_id: z.string().min(1).max(128).meta({ description: "Ingestion is idempotent by this id." }),
  user_id: entityId,
  item_id: entityId,
  type: z.enum(INTERACTION_TYPES),
  ts: z
    .number()
    .int()
    .min(EARLIEST_TS, { error: "must be epoch milliseconds after 2000-01-01" })
    .refine((ts) => ts <= Date.now() + DAY_MS, { error: "must not be more than 1 day in the future" })
    .meta({ description: "Epoch milliseconds, at most a day ahead of the Worker's clock." }),
  surface: z.number().int().min(0).max(1000),
});

export const eventsRequest = z.object({
  events: z.array(interactionEvent).min(1).max(MAX_EVENTS_PER_BATCH),
});

export const eventsResponse = z.strictObject({
  accepted: z.number().int().meta({ description: "Events stored for the first time." }),
  duplicates: z.number().int().meta({ description: "Events already stored (by `event_id`), in this batch or before." }),
  trending: z.enum(["ok", "degraded"]).meta({ description: "`degraded` when the trending object could not take the batch (its trending scores, and the impression rows the item counters of later days read); the users' states have it regardless." }),
  experiments: z.enum(["ok", "degraded"]).meta({ description: "`degraded` when a running experiment could not count the batch; retrying the whole batch completes its counts without counting anything twice." }),
  log: z.enum(["ok", "pending"]).meta({
    description:
      "The durable event log (R2, `events/v1/hour=…`): `ok` when the accepted events are on their way (written within about 10 s); `pending` when they wait in the outbox because the log is unbound, failing or behind. Pending events are retried, never lost; past a bound per state object the batch is refused with 503 `event_log_backlog` and `Retry-After`.",
  }),
});

export const eventsRoute = {
  operationId: "ingestEvents",
  method: "post",
  path: "/v1/events",
  tag: "events",
  summary: "Ingest a batch of interaction events",
  description: "Each user's events go to their real-time state atomically, and the accepted ones to the event log exactly once; retrying a batch is safe.",
  auth: { token: "INGEST_TOKEN" },
  body: { name: "EventsRequest", schema: eventsRequest, maxBytes: 1024 * 1024 },
  responses: { 200: { description: "What the batch changed.", name: "EventsResponse", schema: eventsResponse }, ...errorResponses(400, 401, 413, 429, 500, 503) },
} satisfies RouteContract;

export type EventsResponse = ResponseOf<typeof eventsResponse>;
