import { DurableObject } from "cloudflare:workers";
import { DecayedCounter, DEFAULT_DECAYED_COUNTER_OPTIONS, HOUR_MS, type DecayedCounterOptions } from "../../core/realtime/decayed-counter";
import { assertUserEvent, isInteractionType, type InteractionType, type UserEvent } from "../../core/realtime/events";
import { DEFAULT_TRENDING_WEIGHTS } from "../../core/realtime/trending-weights";
import { maybeFail, type FaultSpec } from "../faults";
import { EngagementCountStore, type EngagementCountsAnswer, type EngagementCountsQuery } from "./engagement-counts";
import type { DeliveredEvent, TrendingDelivery } from "./trending-outbox";
import { FeedbackStore, type FeedbackMapsAnswer } from "./feedback-store";
import { isPredictionVector } from "../../core/ranking/feedback-calibration";

/** Trending is one global counter: the name of its single instance. */
export const TRENDING_INSTANCE_NAME = "global";

/** At most this many items per `top` call and events per `record` call. */
export const TRENDING_LIMITS = { top: 1_000, record: 1_000, deliveries: 128, deliveryEvents: 20_000 } as const;

/** Prune below-threshold items at most this often; between prunes `top` simply skips them. */
const PRUNE_INTERVAL_MS = 60_000;

export interface TrendingEvent {
  readonly item_id: string;
  readonly type: InteractionType;
  readonly ts: number;
}

export interface TrendingItem {
  readonly item_id: string;
  /** Σ weight · 2^(−age / halfLife) over the item's engagement events. */
  readonly score: number;
}

export interface RecordResult {
  /** Events with a positive weight (impressions and hates weigh 0). */
  readonly counted: number;
  readonly trackedItems: number;
}

export interface DeliveryResult extends RecordResult {
  /** Per writer of the call, the highest sequence number trending now holds: the writer may drop its batches up to it. */
  readonly appliedTo: ReadonlyArray<{ readonly writer: string; readonly appliedTo: number }>;
  /** Events of the call that were new to trending (the rest had been applied by an earlier delivery). */
  readonly applied: number;
}

export function trendingStub(env: Env): DurableObjectStub<Trending> {
  return env.TRENDING.get(env.TRENDING.idFromName(TRENDING_INSTANCE_NAME));
}

/** Counter options from the environment: `TRENDING_HALF_LIFE_HOURS` (default 6) sets the half-life. */
export function trendingOptions(env: Pick<Env, "TRENDING_HALF_LIFE_HOURS">): DecayedCounterOptions {
  const configured = env.TRENDING_HALF_LIFE_HOURS;
  if (configured === undefined || configured === "") return DEFAULT_DECAYED_COUNTER_OPTIONS;
  const hours = Number(configured);
  if (!(Number.isFinite(hours) && hours > 0)) throw new RangeError(`trending: TRENDING_HALF_LIFE_HOURS must be a positive number of hours, got ${JSON.stringify(configured)}`);
  return { ...DEFAULT_DECAYED_COUNTER_OPTIONS, halfLifeMs: hours * HOUR_MS };
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
  CREATE TABLE IF NOT EXISTS item_scores (item_id TEXT PRIMARY KEY, forward_value REAL NOT NULL);
  CREATE TABLE IF NOT EXISTS writer_progress (writer TEXT PRIMARY KEY, applied_to INTEGER NOT NULL);
`;

/**
 * Real-time trending: decayed engagement counts per item (core/realtime/decayed-counter.ts). The counter
 * lives in memory and every change is written through to SQLite, so an evicted object comes back as it was.
 * The same global object keeps every impression since, as training rows (engagement-counts.ts), for the item and
 * author counters that features read: one call per ingested batch feeds both.
 */
export class Trending extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly counter: DecayedCounter;
  private readonly engagementCounts: EngagementCountStore;
  private readonly feedback: FeedbackStore;
  private lastPruneMs = -Infinity;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.engagementCounts = new EngagementCountStore(this.sql);
    this.feedback = new FeedbackStore(this.sql);
    const options = trendingOptions(env);
    const meta = new Map(this.sql.exec<{ key: string; value: number }>("SELECT key, value FROM meta").toArray().map((row) => [row.key, row.value]));
    const halfLifeMs = meta.get("half_life_ms");
    const landmarkMs = meta.get("landmark_ms");
    if (halfLifeMs === undefined || landmarkMs === undefined) {
      this.counter = new DecayedCounter(options, Date.now());
    } else {
      const entries = this.sql
        .exec<{ item_id: string; forward_value: number }>("SELECT item_id, forward_value FROM item_scores")
        .toArray()
        .map((row) => [row.item_id, row.forward_value] as const);
      this.counter = DecayedCounter.restore(options, { halfLifeMs, landmarkMs, entries }, Date.now());
    }
    this.persist();
  }

  /** Counts the events' weights per item. Callers send only new events (not retries) so nothing counts twice. */
  record(events: readonly TrendingEvent[]): RecordResult {
    if (!Array.isArray(events as unknown)) throw new TypeError("trending: record takes an array of events");
    if (events.length > TRENDING_LIMITS.record) throw new RangeError(`trending: at most ${TRENDING_LIMITS.record} events per call, got ${events.length}`);
    events.forEach((event, i) => {
      if (typeof event?.item_id !== "string" || event.item_id === "") throw new TypeError(`trending: record[${i}].item_id must be a non-empty string`);
      if (typeof event.type !== "string" || !isInteractionType(event.type)) throw new TypeError(`trending: record[${i}].type ${JSON.stringify(event.type)} is not an interaction type`);
      if (!Number.isSafeInteger(event.ts)) throw new TypeError(`trending: record[${i}].ts must be integer epoch milliseconds`);
    });
    const counted = this.count(events);
    this.persist();
    return { counted, trackedItems: this.counter.size };
  }

  /** Adds the events' weights to the in-memory counter (prunes now and then); the caller persists. */
  private count(events: readonly TrendingEvent[]): number {
    let counted = 0;
    for (const event of events) {
      const weight = DEFAULT_TRENDING_WEIGHTS[event.type];
      if (weight <= 0) continue;
      this.counter.add(event.item_id, event.ts, weight);
      counted++;
    }
    const now = Date.now();
    if (now - this.lastPruneMs >= PRUNE_INTERVAL_MS) {
      this.counter.prune(now);
      this.lastPruneMs = now;
    }
    return counted;
  }

  /**
   * Applies user-state objects' deliveries (worker/state/trending-outbox.ts) at most once each: per writer, batches
   * at or below the highest sequence number already applied are skipped, so a delivery sent again — after a failure,
   * a lost answer, or by the object's alarm while a request delivers the same rows — counts nothing twice. The
   * progress, the impression rows and the scores commit in one transaction.
   */
  applyDeliveries(deliveries: readonly TrendingDelivery[], faults?: FaultSpec): DeliveryResult {
    if (!Array.isArray(deliveries as unknown) || deliveries.length > TRENDING_LIMITS.deliveries) throw new RangeError(`trending: applyDeliveries takes at most ${TRENDING_LIMITS.deliveries} deliveries`);
    let total = 0;
    deliveries.forEach((delivery, i) => {
      if (typeof delivery?.writer !== "string" || delivery.writer === "" || !Array.isArray(delivery.batches as unknown)) throw new TypeError(`trending: applyDeliveries[${i}] needs a writer and batches`);
      let previous = -Infinity;
      for (const batch of delivery.batches) {
        if (!(Number.isSafeInteger(batch?.fromSeq) && Number.isSafeInteger(batch.toSeq) && batch.fromSeq > previous && batch.toSeq - batch.fromSeq + 1 === batch.events?.length)) {
          throw new TypeError(`trending: applyDeliveries[${i}] holds a batch whose range is out of order or does not match its events`);
        }
        previous = batch.toSeq;
        batch.events.forEach((event, j) => {
          assertUserEvent(event, `trending: applyDeliveries[${i}] event ${j}`);
          if (event.predicted !== undefined && !isPredictionVector(event.predicted)) throw new TypeError(`trending: applyDeliveries[${i}] event ${j}: predicted must hold a probability per task`);
        });
        total += batch.events.length;
      }
    });
    if (total > TRENDING_LIMITS.deliveryEvents) throw new RangeError(`trending: at most ${TRENDING_LIMITS.deliveryEvents} events per call, got ${total}`);
    maybeFail(faults, "trending.apply");
    const nowMs = Date.now();
    const result = this.ctx.storage.transactionSync(() => {
      const appliedTo: Array<{ writer: string; appliedTo: number }> = [];
      const fresh: DeliveredEvent[] = [];
      for (const { writer, batches } of deliveries) {
        let applied = this.sql.exec<{ applied_to: number }>("SELECT applied_to FROM writer_progress WHERE writer = ?", writer).toArray()[0]?.applied_to ?? 0;
        for (const batch of batches) {
          // whole batches only: a batch is one ingest call's events and is never split, so fromSeq decides it
          if (batch.fromSeq <= applied) continue;
          fresh.push(...batch.events);
          applied = batch.toSeq;
        }
        this.sql.exec("INSERT INTO writer_progress (writer, applied_to) VALUES (?, ?) ON CONFLICT (writer) DO UPDATE SET applied_to = MAX(applied_to, excluded.applied_to)", writer, applied);
        appliedTo.push({ writer, appliedTo: applied });
      }
      this.engagementCounts.record(fresh, nowMs);
      const counted = this.count(fresh.filter((event) => DEFAULT_TRENDING_WEIGHTS[event.type] > 0));
      this.persistChanges();
      return { counted, trackedItems: this.counter.size, appliedTo, applied: fresh.length };
    });
    // applied and committed, but the caller sees a failure and delivers again: the retry must apply nothing
    maybeFail(faults, "trending.apply.after_commit");
    return result;
  }

  /**
   * Every new event of an ingested batch (never a retry): engagements count toward trending, and every event goes
   * into the impression rows behind the feature counters.
   */
  recordEvents(events: readonly UserEvent[]): RecordResult {
    if (!Array.isArray(events as unknown)) throw new TypeError("trending: recordEvents takes an array of events");
    if (events.length > TRENDING_LIMITS.record) throw new RangeError(`trending: at most ${TRENDING_LIMITS.record} events per call, got ${events.length}`);
    events.forEach((event, i) => assertUserEvent(event, `trending: recordEvents[${i}]`));
    this.ctx.storage.transactionSync(() => this.engagementCounts.record(events, Date.now()));
    return this.record(events.filter((event) => DEFAULT_TRENDING_WEIGHTS[event.type] > 0).map(({ item_id, type, ts }) => ({ item_id, type, ts })));
  }

  /** The counters of the impressions in [fromMs, beforeMs) as of `beforeMs` (EngagementCountStore.counts). */
  countsBetween(query: EngagementCountsQuery): EngagementCountsAnswer {
    return this.engagementCounts.counts(query);
  }

  /** Calibration from feedback: the maps in force at `nowMs` (feedback-store.ts). */
  feedbackMaps(nowMs: number): FeedbackMapsAnswer {
    return this.ctx.storage.transactionSync(() => this.feedback.mapsAt(nowMs));
  }

  /** The `n` items with the highest decayed score at `asOfMs` (default: now), best first. */
  top(n: number, asOfMs?: number): TrendingItem[] {
    if (!(Number.isSafeInteger(n) && n >= 0 && n <= TRENDING_LIMITS.top)) throw new RangeError(`trending: n must be an integer in 0..${TRENDING_LIMITS.top}, got ${n}`);
    if (asOfMs !== undefined && !Number.isFinite(asOfMs)) throw new RangeError(`trending: asOfMs must be a finite number, got ${asOfMs}`);
    return this.counter.top(n, asOfMs ?? Date.now()).map(({ key, score }) => ({ item_id: key, score }));
  }

  private persist(): void {
    this.ctx.storage.transactionSync(() => this.persistChanges());
  }

  /** Writes the counter's changes since the last call; inside the caller's transaction. */
  private persistChanges(): void {
    const changes = this.counter.takeChanges();
    const setMeta = (key: string, value: number) =>
      this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
    setMeta("half_life_ms", changes.halfLifeMs);
    setMeta("landmark_ms", changes.landmarkMs);
    for (const itemId of changes.deletes) this.sql.exec("DELETE FROM item_scores WHERE item_id = ?", itemId);
    for (const [itemId, value] of changes.upserts) {
      this.sql.exec(
        "INSERT INTO item_scores (item_id, forward_value) VALUES (?, ?) ON CONFLICT (item_id) DO UPDATE SET forward_value = excluded.forward_value",
        itemId, value,
      );
    }
  }
}
