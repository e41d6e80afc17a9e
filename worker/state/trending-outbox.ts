import type { InteractionType, UserEvent } from "../../core/realtime/events";

/**
 * Trending's share of a user-state object's accepted events, kept until the trending object confirms it has them.
 *
 * Trending used to be fed once, after the user objects accepted a batch, with only the events new to them: when
 * that call failed, the events were in the users' states and the log but never in trending, and a retried batch
 * could not repair it (its events were now duplicates). Now the accepted events of an ingest call are appended here
 * in the same transaction that stores them, under the object's sequence numbers; whoever delivers them (the
 * request that stored them, a later request to the same object, or the object's alarm) sends whole batches with
 * their ranges, and the trending object applies a range at most once per writer (worker/state/trending.ts). A
 * delivery that fails, or whose answer is lost, is simply sent again: each event counts in trending exactly once.
 */
export interface TrendingBatch {
  /** The object's sequence numbers of the batch's events: consecutive, fromSeq…toSeq. */
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly events: readonly DeliveredEvent[];
}

/**
 * An accepted event on its way to trending. An impression of an item a feed page served carries what the MTML
 * predicted for it then (worker/state/feed-sessions.ts), for calibration from feedback (worker/state/feedback-store.ts).
 */
export interface DeliveredEvent extends UserEvent {
  readonly predicted?: readonly number[];
}

/** What one user-state object hands to trending: its oldest waiting batches, in order. */
export interface TrendingDelivery {
  /** The object's writer name (the same as in the event log's keys): stable across restarts, new after a wipe. */
  readonly writer: string;
  readonly batches: readonly TrendingBatch[];
}

export const TRENDING_OUTBOX_LIMITS = {
  /** Events one delivery carries at most (at least one whole batch): the trending object's per-call bound. */
  deliveryEvents: 1_000,
  /** Waiting events past which ingest refuses new ones (503), as the event log's outbox does: storage stays bounded. */
  maxPendingRows: 100_000,
} as const;

type Tuple = [event_id: string, user_id: string, item_id: string, type: InteractionType, ts: number, surface: number, predicted?: readonly number[]];

const SCHEMA = "CREATE TABLE IF NOT EXISTS trending_outbox (from_seq INTEGER PRIMARY KEY, to_seq INTEGER NOT NULL, events TEXT NOT NULL, added_ms INTEGER NOT NULL);";

export class TrendingOutbox {
  private schemaReady = false;

  constructor(private readonly sql: SqlStorage) {}

  /** Creates the table; call it outside a transaction (a rolled-back batch must not take it with it). */
  ensureSchema(): void {
    if (this.schemaReady) return;
    this.sql.exec(SCHEMA);
    this.schemaReady = true;
  }

  private hasTable(): boolean {
    if (!this.schemaReady) this.schemaReady = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trending_outbox'").toArray().length > 0;
    return this.schemaReady;
  }

  /** Adds the accepted events of one ingest call, numbered fromSeq…; inside the transaction that stores them. */
  append(fromSeq: number, events: readonly DeliveredEvent[], nowMs: number): void {
    if (events.length === 0) return;
    const tuples = events.map((event): Tuple =>
      event.predicted === undefined ? [event.event_id, event.user_id, event.item_id, event.type, event.ts, event.surface] : [event.event_id, event.user_id, event.item_id, event.type, event.ts, event.surface, event.predicted],
    );
    this.sql.exec("INSERT INTO trending_outbox (from_seq, to_seq, events, added_ms) VALUES (?, ?, ?, ?)", fromSeq, fromSeq + events.length - 1, JSON.stringify(tuples), nowMs);
  }

  /** Events waiting for trending (the first to the last waiting sequence number: rows leave from the head only). */
  pendingRows(): number {
    if (!this.hasTable()) return 0;
    const row = this.sql.exec<{ low: number | null; high: number | null }>("SELECT MIN(from_seq) AS low, MAX(to_seq) AS high FROM trending_outbox").one();
    return row.low === null || row.high === null ? 0 : row.high - row.low + 1;
  }

  hasRoomFor(incoming: number): boolean {
    return this.pendingRows() + incoming <= TRENDING_OUTBOX_LIMITS.maxPendingRows;
  }

  /** The oldest waiting batches, whole, up to a delivery's worth of events (at least one batch); empty when none wait. */
  oldest(): TrendingBatch[] {
    if (!this.hasTable()) return [];
    const rows = this.sql
      .exec<{ from_seq: number; to_seq: number; events: string }>("SELECT from_seq, to_seq, events FROM trending_outbox ORDER BY from_seq LIMIT ?", TRENDING_OUTBOX_LIMITS.deliveryEvents)
      .toArray();
    const batches: TrendingBatch[] = [];
    let events = 0;
    for (const row of rows) {
      const size = row.to_seq - row.from_seq + 1;
      if (batches.length > 0 && events + size > TRENDING_OUTBOX_LIMITS.deliveryEvents) break;
      events += size;
      const parsed = (JSON.parse(row.events) as Tuple[]).map(
        ([event_id, user_id, item_id, type, ts, surface, predicted]): DeliveredEvent => ({ event_id, user_id, item_id, type, ts, surface, ...(predicted === undefined ? {} : { predicted }) }),
      );
      batches.push({ fromSeq: row.from_seq, toSeq: row.to_seq, events: parsed });
    }
    return batches;
  }

  /** Trending holds everything up to `upToSeq`: those batches leave (idempotent; a stale confirmation deletes nothing new). */
  delivered(upToSeq: number): void {
    if (!this.hasTable()) return;
    this.sql.exec("DELETE FROM trending_outbox WHERE to_seq <= ?", upToSeq);
  }
}
