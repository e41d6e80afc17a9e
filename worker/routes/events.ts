import { z } from "zod";
import { INTERACTION_TYPES } from "../../core/realtime/events";
import { appFactory } from "../http/factory";
import { requireBearer } from "../http/auth";
import { ApiError } from "../http/errors";
import { entityId } from "../http/schemas";
import { jsonBody } from "../http/validation";
import { ingestBatch } from "../state/ingest";

export const MAX_EVENTS_PER_BATCH = 1_000;
const DAY_MS = 86_400_000;
/** Older than any data this system serves; replaying historical logs (KuaiRand is 2022) must still work. */
const EARLIEST_TS = Date.UTC(2000, 0, 1);

const interactionEvent = z.object({
  event_id: z.string().min(1).max(128),
  user_id: entityId,
  item_id: entityId,
  type: z.enum(INTERACTION_TYPES),
  ts: z
    .number()
    .int()
    .min(EARLIEST_TS, { error: "must be epoch milliseconds after 2000-01-01" })
    .refine((ts) => ts <= Date.now() + DAY_MS, { error: "must not be more than 1 day in the future" }),
  surface: z.number().int().min(0).max(1000),
});

const eventsBody = z.object({
  events: z.array(interactionEvent).min(1).max(MAX_EVENTS_PER_BATCH),
});

export const eventsRoutes = appFactory.createApp().post("/v1/events", requireBearer("INGEST_TOKEN"), jsonBody(eventsBody), async (c) => {
  const { events } = c.req.valid("json");
  const result = await ingestBatch(c.env, events);
  if (result.failedUsers.length > 0) {
    // Every store applies its part atomically and ingestion is idempotent, so retrying the whole batch is safe.
    throw new ApiError(
      503,
      "user_state_unavailable",
      `the state of ${result.failedUsers.length} of the batch's users could not be updated; retry the batch (accepted events are deduplicated)`,
    );
  }
  return c.json({ accepted: result.accepted, duplicates: result.duplicates, trending: result.trending });
});
