import { eventLogObjects } from "../../core/event-log/format";
import type { InteractionType, UserEvent } from "../../core/realtime/events";
import type { EventLogStore } from "../event-log/store";
import { logRecurringFailure } from "../../core/util/throttled-log";

/**
 * How the outbox of one user-state object batches, retries and bounds what it holds (README, "The event log").
 * The flight size keeps an object at a few hundred KB; the bound keeps an R2 outage from growing storage without end
 * (100,000 events of ~100 bytes is ~10 MB per object, 64 objects ~640 MB; at 1,000 events/s over the 64 groups about
 * 1.8 hours of outage before POST /v1/events answers 503).
 */
export const EVENT_OUTBOX_LIMITS = {
  /** Events one flight (one sequence range of whole ingest batches, one object per UTC hour in it) ships at most. */
  flightRows: 5_000,
  /** Flights one flush ships before it yields (the alarm comes back at once for the rest). */
  flightsPerFlush: 4,
  /** Waiting events that make an ingest start a flush rather than wait for the alarm. */
  flushRows: 1_000,
  /** The alarm's period while events wait: no accepted event waits much longer than this to reach the log. */
  flushIntervalMs: 10_000,
  /** After failed flushes the alarm backs off, doubling, up to this. */
  maxRetryMs: 120_000,
  /** Waiting events past which ingest refuses new events (503 + Retry-After) until the log catches up. */
  maxPendingRows: 100_000,
  /** Events older than this, still unshipped, make the log "pending" even without a failure seen by this instance. */
  staleMs: 120_000,
} as const;

/** `ok`: the writer is healthy and the waiting events are on their way. `pending`: events wait in the outbox (no store, failures, or a backlog). */
export type EventLogStatus = "ok" | "pending";

export interface OutboxState {
  readonly status: EventLogStatus;
  /** Events accepted but not yet in the log. */
  readonly pendingRows: number;
}

export interface FlushOutcome extends OutboxState {
  /** Events this flush wrote to the log. */
  readonly shippedRows: number;
  /** Why the flush stopped early, when it failed. */
  readonly error: string | null;
}

interface Flight {
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** An event as an outbox batch stores it: the columns of the log, in order. */
type OutboxTuple = [event_id: string, user_id: string, item_id: string, type: InteractionType, ts: number, surface: number];

/**
 * One row per ingest call, not per event: the events of a call hold consecutive sequence numbers, so a row is a
 * range and its events as JSON. The ingest transaction, which already runs several statements per event, gains one
 * statement per call instead of one per event; a flight is a run of whole rows.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS event_outbox_batches (from_seq INTEGER PRIMARY KEY, to_seq INTEGER NOT NULL, events TEXT NOT NULL, added_ms INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS event_outbox_flight (only INTEGER PRIMARY KEY CHECK (only = 1), from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL);
`;

/**
 * The transactional outbox of the event log. `append` runs inside the user-state object's ingest transaction, so a
 * stored event and its outbox row commit together or not at all: a crash after the commit leaves the row, which the
 * next flush or the alarm ships. A flush reserves a flight — a sequence range — in storage before it writes, writes
 * that range to deterministic keys with deterministic content, and deletes the rows only after every put succeeded.
 * A crash between the puts and the delete leaves the flight reserved, and the retry rewrites the same keys with the
 * same bytes: each event is in the log exactly once. Flights never overlap: one is reserved at a time, and only one
 * flush runs at a time in the object.
 */
export class EventOutbox {
  /**
   * Where objects go; null when the `EVENT_LOG` binding is missing (rows then wait). Tests replace it on a live
   * instance through runInDurableObject to make puts fail or "crash" after writing; production never assigns it.
   */
  store: EventLogStore | null;
  private schemaReady = false;
  private running: Promise<FlushOutcome> | null = null;
  private consecutiveFailures = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    store: EventLogStore | null,
    /** The writer's name in keys (letters, digits, "_"): unique per object, the same after a restart. */
    private readonly writerName: () => string,
  ) {
    this.store = store;
  }

  /**
   * Adds the accepted events of one ingest call, numbered `fromSeq`, `fromSeq + 1`, …; call it inside the transaction
   * that stores them, after `ensureSchema`. The sequence numbers of one object only grow (the object's `next_seq`),
   * so a range names the same events for ever.
   */
  append(fromSeq: number, events: readonly UserEvent[], nowMs: number): void {
    if (events.length === 0) return;
    const tuples = events.map((event): OutboxTuple => [event.event_id, event.user_id, event.item_id, event.type, event.ts, event.surface]);
    this.storage.sql.exec(
      "INSERT INTO event_outbox_batches (from_seq, to_seq, events, added_ms) VALUES (?, ?, ?, ?)",
      fromSeq, fromSeq + events.length - 1, JSON.stringify(tuples), nowMs,
    );
  }

  /** Whether `incoming` more rows fit under the bound. */
  hasRoomFor(incoming: number): boolean {
    return this.pendingRows() + incoming <= EVENT_OUTBOX_LIMITS.maxPendingRows;
  }

  state(nowMs: number): OutboxState {
    const pendingRows = this.pendingRows();
    if (pendingRows === 0) return { status: this.store === null ? "pending" : "ok", pendingRows };
    const stale = nowMs - this.oldestAddedMs() > EVENT_OUTBOX_LIMITS.staleMs;
    const healthy = this.store !== null && this.consecutiveFailures === 0 && !stale && pendingRows <= EVENT_OUTBOX_LIMITS.flushRows * 2;
    return { status: healthy ? "ok" : "pending", pendingRows };
  }

  /** Whether an ingest should flush now instead of leaving it to the alarm. */
  isDue(nowMs: number): boolean {
    const pendingRows = this.pendingRows();
    if (pendingRows === 0 || this.store === null || this.running !== null) return false;
    return pendingRows >= EVENT_OUTBOX_LIMITS.flushRows || nowMs - this.oldestAddedMs() >= EVENT_OUTBOX_LIMITS.flushIntervalMs;
  }

  /** When the alarm should come back: at once while whole flights wait, later after failures, never when empty. */
  nextAlarmMs(nowMs: number): number | null {
    const pendingRows = this.pendingRows();
    if (pendingRows === 0) return null;
    if (this.consecutiveFailures > 0) {
      return nowMs + Math.min(EVENT_OUTBOX_LIMITS.maxRetryMs, EVENT_OUTBOX_LIMITS.flushIntervalMs * 2 ** (this.consecutiveFailures - 1));
    }
    return pendingRows >= EVENT_OUTBOX_LIMITS.flightRows ? nowMs : nowMs + EVENT_OUTBOX_LIMITS.flushIntervalMs;
  }

  /** Ships pending rows, a flight at a time; a call during a running flush joins it rather than start a second one. */
  flush(): Promise<FlushOutcome> {
    if (this.running === null) this.running = this.shipFlights().finally(() => (this.running = null));
    return this.running;
  }

  private async shipFlights(): Promise<FlushOutcome> {
    let shippedRows = 0;
    const outcome = (error: string | null): FlushOutcome => ({ ...this.state(Date.now()), shippedRows, error });
    const store = this.store;
    if (store === null) {
      // counted as a failure, so the alarm backs off instead of polling every 10 s for a binding that will not appear
      this.consecutiveFailures++;
      return outcome("no EVENT_LOG binding: events stay in the outbox");
    }
    for (let flights = 0; flights < EVENT_OUTBOX_LIMITS.flightsPerFlush; flights++) {
      let flight = this.reservedFlight();
      if (flight === null) {
        flight = this.reserveFlight();
        if (flight === null) break;
        // the reservation must be durable before any object is: a retry then ships exactly this range, never a wider one
        await this.storage.sync();
      }
      const rows = this.rowsOf(flight);
      const objects = eventLogObjects(this.writerName(), flight.fromSeq, flight.toSeq, rows);
      try {
        await Promise.all(objects.map((object) => store.put(object.key, object.body)));
      } catch (error) {
        this.consecutiveFailures++;
        logRecurringFailure("event_log.flight", `event log: flight ${flight.fromSeq}-${flight.toSeq} of ${this.writerName()} failed (attempt ${this.consecutiveFailures}); it stays reserved`, error);
        return outcome(error instanceof Error ? error.message : String(error));
      }
      this.consecutiveFailures = 0;
      this.markShipped(flight);
      shippedRows += rows.length;
    }
    return outcome(null);
  }

  /** Creates the tables; call it outside a transaction (a rolled-back batch must not take them with it). */
  ensureSchema(): void {
    if (this.schemaReady) return;
    this.storage.sql.exec(SCHEMA);
    this.schemaReady = true;
  }

  private hasTable(): boolean {
    if (!this.schemaReady) this.schemaReady = this.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'event_outbox_batches'").toArray().length > 0;
    return this.schemaReady;
  }

  /** Waiting events form one contiguous run of sequence numbers (appends grow it, flights delete its head), so the ends of the primary key count them. */
  private pendingRows(): number {
    if (!this.hasTable()) return 0;
    const row = this.storage.sql.exec<{ low: number | null; high: number | null }>("SELECT MIN(from_seq) AS low, MAX(to_seq) AS high FROM event_outbox_batches").one();
    return row.low === null || row.high === null ? 0 : row.high - row.low + 1;
  }

  private oldestAddedMs(): number {
    const row = this.storage.sql.exec<{ added_ms: number }>("SELECT added_ms FROM event_outbox_batches ORDER BY from_seq LIMIT 1").toArray()[0];
    return row?.added_ms ?? Number.POSITIVE_INFINITY;
  }

  private reservedFlight(): Flight | null {
    if (!this.hasTable()) return null;
    const row = this.storage.sql.exec<{ from_seq: number; to_seq: number }>("SELECT from_seq, to_seq FROM event_outbox_flight").toArray()[0];
    return row === undefined ? null : { fromSeq: row.from_seq, toSeq: row.to_seq };
  }

  /**
   * Reserves the oldest whole batches, up to a flight's size of events (at least one batch). Written before any put,
   * so a retry after a crash ships exactly this range.
   */
  private reserveFlight(): Flight | null {
    if (!this.hasTable()) return null;
    const batches = this.storage.sql
      .exec<{ from_seq: number; to_seq: number }>("SELECT from_seq, to_seq FROM event_outbox_batches ORDER BY from_seq LIMIT ?", EVENT_OUTBOX_LIMITS.flightRows)
      .toArray();
    const first = batches[0];
    if (first === undefined) return null;
    let toSeq = first.to_seq;
    for (const batch of batches.slice(1)) {
      if (batch.to_seq - first.from_seq + 1 > EVENT_OUTBOX_LIMITS.flightRows) break;
      toSeq = batch.to_seq;
    }
    this.storage.sql.exec("INSERT INTO event_outbox_flight (only, from_seq, to_seq) VALUES (1, ?, ?)", first.from_seq, toSeq);
    return { fromSeq: first.from_seq, toSeq };
  }

  private rowsOf(flight: Flight): UserEvent[] {
    return this.storage.sql
      .exec<{ events: string }>("SELECT events FROM event_outbox_batches WHERE from_seq BETWEEN ? AND ? ORDER BY from_seq", flight.fromSeq, flight.toSeq)
      .toArray()
      .flatMap((row) => (JSON.parse(row.events) as OutboxTuple[]).map(([event_id, user_id, item_id, type, ts, surface]): UserEvent => ({ event_id, user_id, item_id, type, ts, surface })));
  }

  /** The flight is in the log: its batches and its reservation go together. */
  private markShipped(flight: Flight): void {
    this.storage.transactionSync(() => {
      this.storage.sql.exec("DELETE FROM event_outbox_batches WHERE from_seq BETWEEN ? AND ?", flight.fromSeq, flight.toSeq);
      this.storage.sql.exec("DELETE FROM event_outbox_flight WHERE from_seq = ? AND to_seq = ?", flight.fromSeq, flight.toSeq);
    });
  }
}
