import type { UserEvent } from "../../core/realtime/events";
import { groupByUser } from "../../core/realtime/ingest-batch";
import { trendingStub } from "./trending";
import { userStateStub } from "./user-state";

/** What a 503 for a full event-log outbox asks the client to wait: a few alarm periods of a recovering log. */
export const EVENT_LOG_RETRY_AFTER_SECONDS = 60;

export interface IngestBatchResult {
  readonly accepted: number;
  readonly duplicates: number;
  /** "degraded" when the trending object (trending and the feature counters' rows) could not take this batch; the user states have it regardless. */
  readonly trending: "ok" | "degraded";
  /** Users whose state store failed: none of their events were stored (each store applies a batch atomically). */
  readonly failedUsers: readonly string[];
  /** "pending" when an object of the batch holds events the event log has not taken yet beyond its usual batching (worker/state/event-outbox.ts). */
  readonly log: "ok" | "pending";
  /** Users whose object refused the batch because its event-log outbox is full: none of their events were stored. */
  readonly logFullUsers: readonly string[];
}

/**
 * Sends a validated batch to each user's state store (one call per user, all in parallel), then the events
 * those stores accepted as new to trending in one call. Trending only sees new events, so a retried batch
 * never counts twice; a trending failure is logged and reported, never failing ingestion.
 */
export async function ingestBatch(env: Env, events: readonly UserEvent[]): Promise<IngestBatchResult> {
  const { byUser, repeatedInBatch } = groupByUser(events);
  const users = [...byUser];
  const outcomes = await Promise.allSettled(users.map(([userId, userEvents]) => userStateStub(env, userId).ingest(userId, userEvents)));

  let accepted = 0;
  let duplicates = repeatedInBatch;
  const acceptedEventIds = new Set<string>();
  const failedUsers: string[] = [];
  const logFullUsers: string[] = [];
  let log: IngestBatchResult["log"] = "ok";
  outcomes.forEach((outcome, i) => {
    const userId = (users[i] as [string, UserEvent[]])[0];
    if (outcome.status === "rejected") {
      console.error(`ingest: the state of user ${JSON.stringify(userId)} failed`, outcome.reason);
      failedUsers.push(userId);
      return;
    }
    if (outcome.value.log === "full") logFullUsers.push(userId);
    else if (outcome.value.log === "pending") log = "pending";
    accepted += outcome.value.accepted;
    duplicates += outcome.value.duplicates;
    for (const eventId of outcome.value.acceptedEventIds) acceptedEventIds.add(eventId);
  });

  // every new event: engagements for trending, and impressions too for the feature counters (worker/state/engagement-counts.ts)
  const acceptedEvents = users.flatMap(([, userEvents]) => userEvents.filter((event) => acceptedEventIds.has(event.event_id)));
  let trending: IngestBatchResult["trending"] = "ok";
  if (acceptedEvents.length > 0) {
    try {
      await trendingStub(env).recordEvents(acceptedEvents);
    } catch (error) {
      console.error("ingest: trending could not record the batch", error);
      trending = "degraded";
    }
  }
  return { accepted, duplicates, trending, failedUsers, log: logFullUsers.length > 0 ? "pending" : log, logFullUsers };
}
