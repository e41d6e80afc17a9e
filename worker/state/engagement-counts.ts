import { countImpressionRows, type RealtimeItemCounters } from "../../core/features/live-counters";
import type { UserEvent } from "../../core/realtime/events";
import type { DeliveredEvent } from "./trending-outbox";
import { ImpressionRowBuilder, OpenImpressionRowsLookedUp, type ImpressionRow } from "../../core/realtime/impression-rows";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Rows this much older than the newest are dropped: a bundle trained since holds them, and one older than this misses
 * them (README). Measured from the newest row rather than the clock, so that a replay of old events keeps them.
 */
export const ENGAGEMENT_ROW_RETENTION_MS = 30 * DAY_MS;
const RETENTION_SWEEP_INTERVAL_MS = HOUR_MS;
/** Aggregates kept per object: one per (bundle snapshot, request day, half-life) that isolates are asking about. */
const CACHED_AGGREGATES = 4;

/** What an isolate asks: the counters of the rows in [fromMs, beforeMs), as of `beforeMs`. */
export interface EngagementCountsQuery {
  readonly fromMs: number;
  readonly beforeMs: number;
  readonly halfLifeMs: number;
  /** The `revision` of the answer the isolate holds: an unchanged range answers without its counters. */
  readonly knownRevision?: number;
}

export type EngagementCountsAnswer =
  | { readonly revision: number; readonly unchanged: true }
  | { readonly revision: number; readonly unchanged: false; readonly counters: RealtimeItemCounters };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS impression_rows (
    seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL, item_id TEXT NOT NULL, ts REAL NOT NULL, surface INTEGER NOT NULL,
    labels INTEGER NOT NULL, has_impression INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS impression_rows_ts ON impression_rows (ts);
  CREATE INDEX IF NOT EXISTS impression_rows_pair ON impression_rows (user_id, item_id, seq);
  CREATE TABLE IF NOT EXISTS impression_hour_changes (hour INTEGER PRIMARY KEY, change INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS impression_predictions (seq INTEGER PRIMARY KEY, predicted TEXT NOT NULL);
`;

type ImpressionRowRecord = { seq: number; user_id: string; item_id: string; ts: number; surface: number; labels: number; has_impression: number };

const rowOfRecord = (row: ImpressionRowRecord): ImpressionRow => ({ seq: row.seq, userId: row.user_id, itemId: row.item_id, ts: row.ts, surface: row.surface, labels: row.labels, hasImpression: row.has_impression === 1 });

/**
 * Real-time impression rows in a Durable Object's SQLite, for the item and author counters that features read
 * (core/features/live-counters.ts). Events become training-shaped rows (ImpressionRowBuilder); isolates ask for the
 * counters of a time range, which are computed here with the trainer's own counter code and cached until a row in
 * the range changes. Each row change stamps its hour with a rising change number: a range's revision is the largest
 * stamp over its hours, so "has anything I read changed?" costs a few dozen index reads.
 */
export class EngagementCountStore {
  private readonly builder: ImpressionRowBuilder;
  private change: number;
  private lastSweepMs = -Infinity;
  private readonly aggregates = new Map<string, { revision: number; counters: RealtimeItemCounters }>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    const nextSeq = (sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM impression_rows").one().seq ?? 0) + 1;
    this.change = sql.exec<{ change: number | null }>("SELECT MAX(change) AS change FROM impression_hour_changes").one().change ?? 0;
    const newestTs = sql.exec<{ ts: number | null }>("SELECT MAX(ts) AS ts FROM impression_rows").one().ts ?? -Infinity;
    // the open rows are looked up in the table rather than held: an hour of rows in memory grew with the event rate,
    // the largest growing part of the Worker's heap under the reliability run's load (~70k rows in four minutes)
    const newestRowOf = (userId: string, itemId: string): ImpressionRow | undefined => {
      const [row] = sql.exec<ImpressionRowRecord>("SELECT seq, user_id, item_id, ts, surface, labels, has_impression FROM impression_rows WHERE user_id = ? AND item_id = ? ORDER BY seq DESC LIMIT 1", userId, itemId).toArray();
      return row === undefined ? undefined : rowOfRecord(row);
    };
    this.builder = new ImpressionRowBuilder(nextSeq, { rows: new OpenImpressionRowsLookedUp(newestRowOf), newestTs });
  }

  /**
   * Folds new events into rows and writes the rows they touched. Callers send only new events, never a retry. An
   * impression that carries what the model predicted for it leaves that on its row (impression_predictions), for
   * calibration from feedback (feedback-store.ts).
   */
  record(events: readonly (UserEvent | DeliveredEvent)[], nowMs: number): void {
    const changes = this.builder.applyBatch(events);
    const stampedHours = new Set<number>();
    for (const { row, countsChanged, eventIndex } of changes) {
      this.sql.exec(
        `INSERT INTO impression_rows (seq, user_id, item_id, ts, surface, labels, has_impression) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (seq) DO UPDATE SET labels = excluded.labels, has_impression = excluded.has_impression`,
        row.seq, row.userId, row.itemId, row.ts, row.surface, row.labels, row.hasImpression ? 1 : 0,
      );
      if (countsChanged) stampedHours.add(Math.floor(row.ts / HOUR_MS));
      const event = events[eventIndex];
      if (event?.type === "impression" && "predicted" in event && event.predicted !== undefined) {
        this.sql.exec("INSERT INTO impression_predictions (seq, predicted) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE SET predicted = excluded.predicted", row.seq, JSON.stringify(event.predicted));
      }
    }
    if (stampedHours.size > 0) {
      this.change++;
      for (const hour of stampedHours) {
        this.sql.exec("INSERT INTO impression_hour_changes (hour, change) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET change = excluded.change", hour, this.change);
      }
    }
    if (nowMs - this.lastSweepMs >= RETENTION_SWEEP_INTERVAL_MS) {
      const newest = this.sql.exec<{ ts: number | null }>("SELECT MAX(ts) AS ts FROM impression_rows").one().ts;
      if (newest !== null) {
        const cutoff = newest - ENGAGEMENT_ROW_RETENTION_MS;
        this.sql.exec("DELETE FROM impression_rows WHERE ts < ?", cutoff);
        this.sql.exec("DELETE FROM impression_predictions WHERE seq < (SELECT MIN(seq) FROM impression_rows)");
        this.sql.exec("DELETE FROM impression_hour_changes WHERE hour < ?", Math.floor(cutoff / HOUR_MS));
      }
      this.lastSweepMs = nowMs;
    }
  }

  /** The counters of the rows with fromMs ≤ ts < beforeMs as of `beforeMs`, or `unchanged` when the caller has them. */
  counts(query: EngagementCountsQuery): EngagementCountsAnswer {
    const { fromMs, beforeMs, halfLifeMs } = query;
    if (!(Number.isFinite(fromMs) && Number.isFinite(beforeMs) && fromMs <= beforeMs)) throw new RangeError(`engagement counts: need finite fromMs ≤ beforeMs, got ${fromMs}, ${beforeMs}`);
    if (!(Number.isFinite(halfLifeMs) && halfLifeMs > 0)) throw new RangeError(`engagement counts: halfLifeMs must be a positive number, got ${halfLifeMs}`);
    // the hours that hold any ts in [fromMs, beforeMs): today's events, in the hours from beforeMs on, change nothing here
    const revision =
      this.sql.exec<{ change: number | null }>("SELECT MAX(change) AS change FROM impression_hour_changes WHERE hour >= ? AND hour <= ?", Math.floor(fromMs / HOUR_MS), Math.floor((beforeMs - 1) / HOUR_MS)).one().change ?? 0;
    if (query.knownRevision === revision) return { revision, unchanged: true };
    const key = `${fromMs}|${beforeMs}|${halfLifeMs}`;
    let aggregate = this.aggregates.get(key);
    if (aggregate?.revision !== revision) {
      const rows = this.sql
        .exec<{ item_id: string; ts: number; labels: number }>("SELECT item_id, ts, labels FROM impression_rows WHERE ts >= ? AND ts < ? ORDER BY seq", fromMs, beforeMs)
        .toArray()
        .map((row) => ({ itemId: row.item_id, ts: row.ts, labels: row.labels }));
      aggregate = { revision, counters: countImpressionRows(rows, halfLifeMs, beforeMs) };
      this.aggregates.delete(key);
      this.aggregates.set(key, aggregate);
      if (this.aggregates.size > CACHED_AGGREGATES) this.aggregates.delete(this.aggregates.keys().next().value as string);
    }
    return { revision, unchanged: false, counters: aggregate.counters };
  }
}
