import { isLabel, type Label } from "../data/labels";

/**
 * What a client reports about a user and an item. "impression" means the item was shown; every other type
 * is one of the ranker's labels (core/data/labels.ts), so a real-time event maps onto a training label 1:1.
 */
export const INTERACTION_TYPES = ["impression", "click", "long_view", "like", "comment", "forward", "follow", "hate"] as const;
export type InteractionType = (typeof INTERACTION_TYPES)[number];

export function isInteractionType(name: string): name is InteractionType {
  return (INTERACTION_TYPES as readonly string[]).includes(name);
}

/** The label an interaction sets, or null for a bare impression. */
export function interactionLabel(type: InteractionType): Label | null {
  return type === "impression" ? null : isLabel(type) ? type : null;
}

/** One validated interaction: ids are already in their canonical string form. */
export interface UserEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly item_id: string;
  readonly type: InteractionType;
  /** Milliseconds since the Unix epoch. */
  readonly ts: number;
  readonly surface: number;
}

/** One interaction as the per-user state keeps it (the user is implied). */
export interface SnapshotEvent {
  readonly item_id: string;
  readonly ts: number;
  readonly surface: number;
  readonly type: InteractionType;
}

/**
 * A user's real-time state as the ranker reads it. `events` are sorted by ts (ties in arrival order);
 * `seen` and `followedItems` are ordered oldest to newest by their latest interaction. Follows are item
 * ids because the state store has no catalogue: the ranker maps them to authors.
 */
export interface UserStateSnapshot {
  readonly events: readonly SnapshotEvent[];
  readonly seen: readonly string[];
  readonly followedItems: readonly string[];
}

/** What ingesting a batch did: new events, events already known by event_id, and the new ids. */
export interface IngestResult {
  readonly accepted: number;
  readonly duplicates: number;
  /** event_ids of the accepted events, so downstream counters (trending) never count a retry twice. */
  readonly acceptedEventIds: readonly string[];
}

/**
 * Checks one event at a trust boundary that is not the HTTP layer (an RPC into a Durable Object):
 * a routing or serialisation bug must fail loudly, not store garbage.
 */
export function assertUserEvent(event: unknown, where: string): asserts event is UserEvent {
  const fail = (field: string, why: string): never => {
    throw new TypeError(`${where}: event ${field} ${why}`);
  };
  if (typeof event !== "object" || event === null) fail("", "is not an object");
  const e = event as Record<string, unknown>;
  for (const field of ["event_id", "user_id", "item_id"] as const) {
    if (typeof e[field] !== "string" || (e[field] as string).length === 0) fail(field, "must be a non-empty string");
  }
  if (typeof e.type !== "string" || !isInteractionType(e.type)) fail("type", `must be one of ${INTERACTION_TYPES.join(", ")}`);
  if (typeof e.ts !== "number" || !Number.isSafeInteger(e.ts)) fail("ts", "must be an integer of epoch milliseconds");
  if (typeof e.surface !== "number" || !Number.isSafeInteger(e.surface) || e.surface < 0) fail("surface", "must be a non-negative integer");
}
