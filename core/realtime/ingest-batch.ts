import type { UserEvent } from "./events";

export interface UserBatches {
  /** Each user's events in batch order; an event_id appears once in the whole batch. */
  readonly byUser: Map<string, UserEvent[]>;
  /** Events dropped because an earlier event in the same batch had the same event_id. */
  readonly repeatedInBatch: number;
}

/**
 * Splits an ingestion batch by user so each user's state store gets one call. A repeated event_id inside
 * one batch is counted once (the first occurrence wins), even when the repeats name different users.
 */
export function groupByUser(events: readonly UserEvent[]): UserBatches {
  const byUser = new Map<string, UserEvent[]>();
  const seenEventIds = new Set<string>();
  let repeatedInBatch = 0;
  for (const event of events) {
    if (seenEventIds.has(event.event_id)) {
      repeatedInBatch++;
      continue;
    }
    seenEventIds.add(event.event_id);
    let userEvents = byUser.get(event.user_id);
    if (!userEvents) byUser.set(event.user_id, (userEvents = []));
    userEvents.push(event);
  }
  return { byUser, repeatedInBatch };
}
