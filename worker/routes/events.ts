import { eventsRequest, eventsRoute, type EventsResponse } from "../contract/events";
import { appFactory } from "../http/factory";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody } from "../http/validation";
import { ingestBatch } from "../state/ingest";
import { recordExperimentEvents } from "../experiments/record";

export const eventsRoutes = appFactory.createApp().post(eventsRoute.path, bearerFor(eventsRoute.auth), jsonBody(eventsRequest), async (c) => {
  const { events } = c.req.valid("json");
  const [result, experiments] = await Promise.all([ingestBatch(c.env, events), recordExperimentEvents(c.env, events, Date.now())]);
  if (result.failedUsers.length > 0) {
    // Every store applies its part atomically and ingestion is idempotent, so retrying the whole batch is safe.
    throw new ApiError(
      503,
      "user_state_unavailable",
      `the state of ${result.failedUsers.length} of the batch's users could not be updated; retry the batch (accepted events are deduplicated)`,
    );
  }
  return c.json({ accepted: result.accepted, duplicates: result.duplicates, trending: result.trending, experiments } satisfies EventsResponse);
});
