import { eventsRequest, eventsRoute, type EventsResponse } from "../contract/events";
import { appFactory } from "../http/factory";
import { bearerFor } from "../http/auth";
import { ApiError, errorResponse } from "../http/errors";
import { jsonBody } from "../http/validation";
import { EVENT_LOG_RETRY_AFTER_SECONDS, ingestBatch } from "../state/ingest";
import { recordExperimentEvents } from "../experiments/record";
import { FAULTS_FIRED_HEADER, requestFaults } from "../faults";

export const eventsRoutes = appFactory.createApp().post(eventsRoute.path, bearerFor(eventsRoute.auth), jsonBody(eventsRoute.body), async (c) => {
  const { events } = c.req.valid("json");
  // undefined unless this is a dev server that allows fault injection and the request carries the admin token
  const faults = await requestFaults(c.req.raw, c.env);
  const [result, experiments] = await Promise.all([ingestBatch(c.env, events, faults), recordExperimentEvents(c.env, events, Date.now())]);
  // only to a caller allowed to inject: how many of its faults fired in this batch, so the run can count them
  if (faults !== undefined) c.header(FAULTS_FIRED_HEADER, String(result.injectedFaults));
  if (result.failedUsers.length > 0) {
    // Every store applies its part atomically and ingestion is idempotent, so retrying the whole batch is safe.
    throw new ApiError(
      503,
      "user_state_unavailable",
      `the state of ${result.failedUsers.length} of the batch's users could not be updated; retry the batch (accepted events are deduplicated)`,
    );
  }
  if (result.logFullUsers.length > 0) {
    // the log has been failing long enough to fill an outbox: refuse rather than grow storage without end
    c.header("Retry-After", String(EVENT_LOG_RETRY_AFTER_SECONDS));
    return errorResponse(
      c,
      new ApiError(503, "event_log_backlog", `the event log is behind for ${result.logFullUsers.length} of the batch's users and their events were not stored; retry the batch later (accepted events are deduplicated)`),
    );
  }
  return c.json({ accepted: result.accepted, duplicates: result.duplicates, trending: result.trending, experiments, log: result.log } satisfies EventsResponse);
});
