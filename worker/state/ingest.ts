import type { UserEvent } from "../../core/realtime/events";
import { groupByUser } from "../../core/realtime/ingest-batch";
import type { FaultSpec } from "../faults";
import { TRENDING_LIMITS, trendingStub } from "./trending";
import type { TrendingBatch, TrendingDelivery } from "./trending-outbox";
import { userStateStub } from "./user-state";
import { logRecurringFailure } from "../../core/util/throttled-log";

/** What a 503 for a full event-log outbox asks the client to wait: a few alarm periods of a recovering log. */
export const EVENT_LOG_RETRY_AFTER_SECONDS = 60;

export interface IngestBatchResult {
  readonly accepted: number;
  readonly duplicates: number;
  /**
   * "degraded" when the trending object (trending and the feature counters' rows) could not take this batch now;
   * the user states have it regardless, and keep trending's copy until a later delivery lands (exactly once).
   */
  readonly trending: "ok" | "degraded";
  /** Users whose state store failed: none of their events were stored (each store applies a batch atomically). */
  readonly failedUsers: readonly string[];
  /** "pending" when an object of the batch holds events the event log has not taken yet beyond its usual batching (worker/state/event-outbox.ts). */
  readonly log: "ok" | "pending";
  /** Users whose object refused the batch because its event-log outbox is full: none of their events were stored. */
  readonly logFullUsers: readonly string[];
  /** Calls of this batch that failed by an injected fault (worker/faults): what a reliability run counts; 0 in production. */
  readonly injectedFaults: number;
}

/** Whether a failure that crossed an RPC boundary was injected (its message survives the crossing; its class does not). */
function isInjected(reason: unknown): boolean {
  return String(reason instanceof Error ? reason.message : reason).includes("injected fault at ");
}

/**
 * Sends a validated batch to each user's state store (one call per user, all in parallel), then delivers what those
 * stores hold for trending in one call: their accepted events, with their sequence ranges, and any earlier ones a
 * failed delivery left behind (worker/state/trending-outbox.ts). Trending applies each range once, so a retried
 * batch or a delivery sent twice never counts twice, and one that failed is delivered again by the next batch to
 * the same object or by its alarm. A trending failure is logged and reported, never failing ingestion.
 */
export async function ingestBatch(env: Env, events: readonly UserEvent[], faults?: FaultSpec): Promise<IngestBatchResult> {
  const { byUser, repeatedInBatch } = groupByUser(events);
  const users = [...byUser];
  const outcomes = await Promise.allSettled(users.map(([userId, userEvents]) => userStateStub(env, userId).ingest(userId, userEvents, faults)));

  let accepted = 0;
  let duplicates = repeatedInBatch;
  const failedUsers: string[] = [];
  const logFullUsers: string[] = [];
  let log: IngestBatchResult["log"] = "ok";
  /** Per writer: a user of its object (to confirm to), and the union of the batches its answers handed over. */
  const deliveries = new Map<string, { userId: string; batches: Map<number, TrendingBatch> }>();
  let newEvents = 0;
  let injectedFaults = 0;
  outcomes.forEach((outcome, i) => {
    const userId = (users[i] as [string, UserEvent[]])[0];
    if (outcome.status === "rejected") {
      logRecurringFailure("ingest.user_state", `ingest: the state of user ${JSON.stringify(userId)} failed`, outcome.reason);
      failedUsers.push(userId);
      if (isInjected(outcome.reason)) injectedFaults++;
      return;
    }
    if (outcome.value.log === "full") logFullUsers.push(userId);
    else if (outcome.value.log === "pending") log = "pending";
    accepted += outcome.value.accepted;
    duplicates += outcome.value.duplicates;
    newEvents += outcome.value.accepted;
    const delivery = outcome.value.trending;
    if (delivery !== null) {
      const entry = deliveries.get(delivery.writer) ?? { userId, batches: new Map<number, TrendingBatch>() };
      for (const batch of delivery.batches) entry.batches.set(batch.fromSeq, batch);
      deliveries.set(delivery.writer, entry);
    }
  });

  let trending: IngestBatchResult["trending"] = "ok";
  if (deliveries.size > 0) {
    // each writer's batches in order from its oldest waiting one; whole writers up to the call's bound (the rest wait)
    const toSend: TrendingDelivery[] = [];
    let events = 0;
    for (const [writer, { batches }] of deliveries) {
      const ordered = [...batches.values()].sort((a, b) => a.fromSeq - b.fromSeq);
      const size = ordered.reduce((sum, batch) => sum + batch.events.length, 0);
      if (toSend.length > 0 && (events + size > TRENDING_LIMITS.deliveryEvents || toSend.length >= TRENDING_LIMITS.deliveries)) break;
      events += size;
      toSend.push({ writer, batches: ordered });
    }
    try {
      const result = await trendingStub(env).applyDeliveries(toSend, faults);
      // the objects may drop what trending now holds; a confirmation that fails only means a later, skipped, resend
      await Promise.allSettled(
        result.appliedTo.map(async ({ writer, appliedTo }) => {
          const entry = deliveries.get(writer);
          if (entry !== undefined) await userStateStub(env, entry.userId).trendingDelivered(writer, appliedTo);
        }),
      );
    } catch (error) {
      logRecurringFailure("ingest.trending", "ingest: trending could not take the batch; its events wait in the user states", error);
      if (isInjected(error)) injectedFaults++;
      // only this batch's own events make it degraded: an old backlog that failed again is the alarm's to report
      if (newEvents > 0) trending = "degraded";
    }
  }
  return { accepted, duplicates, trending, failedUsers, log: logFullUsers.length > 0 ? "pending" : log, logFullUsers, injectedFaults };
}
