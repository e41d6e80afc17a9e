import { DurableObject } from "cloudflare:workers";
import { assertUserEvent, type IngestResult, type InteractionType, type SnapshotEvent, type UserEvent, type UserStateSnapshot } from "../../core/realtime/events";
import { eventLogStore } from "../event-log/store";
import { maybeFail, type FaultSpec } from "../faults";
import { EVENT_OUTBOX_LIMITS, EventOutbox, type EventLogStatus } from "./event-outbox";
import { FEED_NAMES, type FeedName } from "../contract/feed-session-limits";
import { FeedSessions, type PageRecord, type ServedItem, type SessionLookup, type SessionPosition } from "./feed-sessions";
import { trendingStub } from "./trending";
import { TrendingOutbox, type DeliveredEvent, type TrendingDelivery } from "./trending-outbox";
import { isPredictionVector } from "../../core/ranking/feedback-calibration";
import { logRecurringFailure } from "../../core/util/throttled-log";
import { USER_STATE_GROUPS, userStateGroup } from "../../core/realtime/user-state-group";

export { USER_STATE_GROUPS, userStateGroup };

/** How much real-time state one user keeps; the oldest entries go first. */
export const USER_STATE_LIMITS = {
  /** Recent interactions, by ts. */
  events: 500,
  /** Items with an impression or any engagement, by their latest interaction. */
  seen: 5_000,
  /** Items the user followed an author from, by their latest follow. */
  follows: 1_000,
  /** event_ids remembered for idempotency, by arrival: a retry comes minutes after the original, not 10,000 events later. */
  receivedEventIds: 10_000,
  /** Events per ingest call (the HTTP batch limit). */
  batch: 1_000,
} as const;


const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS received_event_ids (user_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (user_id, event_id));
  CREATE INDEX IF NOT EXISTS received_by_arrival ON received_event_ids (user_id, seq);
  CREATE TABLE IF NOT EXISTS events (
    user_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, item_id TEXT NOT NULL,
    type TEXT NOT NULL, ts INTEGER NOT NULL, surface INTEGER NOT NULL, PRIMARY KEY (user_id, event_id)
  );
  CREATE INDEX IF NOT EXISTS events_by_time ON events (user_id, ts, seq);
  CREATE TABLE IF NOT EXISTS seen (user_id TEXT NOT NULL, item_id TEXT NOT NULL, last_ts INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user_id, item_id));
  CREATE INDEX IF NOT EXISTS seen_by_time ON seen (user_id, last_ts, seq);
  CREATE TABLE IF NOT EXISTS follows (user_id TEXT NOT NULL, item_id TEXT NOT NULL, last_ts INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user_id, item_id));
  CREATE INDEX IF NOT EXISTS follows_by_time ON follows (user_id, last_ts, seq);
`;

/** What one object's ingest did, and where the event log stands in it. */
export interface UserStateIngestResult extends IngestResult {
  /**
   * The event log's outbox in this object after the batch (worker/state/event-outbox.ts): `ok` or `pending`, or
   * `full` when the outbox is at its bound and the batch was refused, nothing stored (retry later).
   */
  readonly log: EventLogStatus | "full";
  /**
   * The object's oldest events still waiting for trending (this batch's new ones among them), for the caller to
   * deliver and confirm with `trendingDelivered`; null when none wait (worker/state/trending-outbox.ts).
   */
  readonly trending: TrendingDelivery | null;
}

/** What an operator (and the reliability run) reads of one user's state: everything the object holds for them. */
export interface UserStateDump {
  /** The user's recent events as stored, with their event ids, oldest first. */
  readonly events: readonly UserEvent[];
  readonly seen: number;
  readonly followedItems: number;
  /** Event ids remembered for idempotency. */
  readonly receivedEventIds: number;
  /** Of the whole object (every user of its group): events not yet in the event log, and not yet in trending. */
  readonly logPendingRows: number;
  readonly trendingPendingRows: number;
}

/** The object that holds the state of the user named `userId` (and of the other users of its group). */
export function userStateStub(env: Env, userId: string): DurableObjectStub<UserState> {
  return env.USER_STATE.get(env.USER_STATE.idFromName(`group-${userStateGroup(userId)}`));
}

/**
 * The real-time state of one group of users: each user's recent interactions, seen items and follows, kept and
 * bounded per user. Storage is the object's SQLite database used through the synchronous API: `ingest` never
 * awaits, so no other call can interleave with it, and `transactionSync` makes a batch all-or-nothing if a
 * statement throws.
 */
export class UserState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private schemaReady = false;
  private readonly feedSessions: FeedSessions;
  /** Accepted events on their way to the event log (R2); public so tests can swap its store on a live instance. */
  readonly eventLog: EventOutbox;
  /** Accepted events on their way to trending, until it confirms them. */
  private readonly trendingOutbox: TrendingOutbox;
  /** Whether this instance has set the alarm that flushes the outbox (an alarm left by an earlier instance is simply moved). */
  private alarmArmed = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.feedSessions = new FeedSessions(ctx.storage);
    this.eventLog = new EventOutbox(ctx.storage, eventLogStore(env), () => this.writerName());
    this.trendingOutbox = new TrendingOutbox(ctx.storage.sql);
  }

  /** Tables are created by the first ingest, not on construction: a group nobody has written to reads nothing. */
  private hasSchema(): boolean {
    if (!this.schemaReady) this.schemaReady = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray().length > 0;
    return this.schemaReady;
  }

  /**
   * Stores the events of `userId` that are new by event_id; every event of the batch must be that user's. `faults`:
   * failures a reliability run injects (worker/faults), never set in production.
   */
  ingest(userId: string, events: readonly UserEvent[], faults?: FaultSpec): UserStateIngestResult {
    if (typeof userId !== "string" || userId.length === 0) throw new TypeError("user state: ingest takes a user id");
    if (!Array.isArray(events as unknown)) throw new TypeError("user state: ingest takes an array of events");
    if (events.length > USER_STATE_LIMITS.batch) throw new RangeError(`user state: a batch holds at most ${USER_STATE_LIMITS.batch} events, got ${events.length}`);
    events.forEach((event, i) => assertUserEvent(event, `user state: ingest[${i}]`));
    const stranger = events.find((event) => event.user_id !== userId);
    if (stranger) throw new Error(`user state: a batch for user ${JSON.stringify(userId)} holds an event of user ${JSON.stringify(stranger.user_id)}`);
    maybeFail(faults, "user_state.ingest");
    const nowMs = Date.now();
    if (events.length === 0) return { accepted: 0, duplicates: 0, acceptedEventIds: [], log: this.eventLog.state(nowMs).status, trending: this.trendingDelivery() };

    // outside the transaction, so a batch that rolls back never takes the tables with it
    if (!this.hasSchema()) {
      this.sql.exec(SCHEMA);
      this.schemaReady = true;
    }
    this.eventLog.ensureSchema();
    this.trendingOutbox.ensureSchema();
    // bounded, so an outage of the log (or of trending) cannot grow storage without end: the caller answers 503 and the client retries
    if (!this.eventLog.hasRoomFor(events.length) || !this.trendingOutbox.hasRoomFor(events.length)) return { accepted: 0, duplicates: 0, acceptedEventIds: [], log: "full", trending: this.trendingDelivery() };
    const result = this.ctx.storage.transactionSync(() => {
      this.claimGroup(userId);
      this.claimLogWriter();
      const firstSeq = Number(this.meta("next_seq") ?? "1");
      let seq = firstSeq;
      const acceptedEvents: UserEvent[] = [];
      const acceptedEventIds: string[] = [];
      let duplicates = 0;
      for (const event of events) {
        if (this.isKnown(userId, event.event_id)) {
          duplicates++;
          continue;
        }
        this.sql.exec("INSERT INTO received_event_ids (user_id, seq, event_id) VALUES (?, ?, ?)", userId, seq, event.event_id);
        this.sql.exec(
          "INSERT INTO events (user_id, seq, event_id, item_id, type, ts, surface) VALUES (?, ?, ?, ?, ?, ?, ?)",
          userId, seq, event.event_id, event.item_id, event.type, event.ts, event.surface,
        );
        this.touch("seen", userId, event.item_id, event.ts, seq);
        if (event.type === "follow") this.touch("follows", userId, event.item_id, event.ts, seq);
        acceptedEventIds.push(event.event_id);
        acceptedEvents.push(event);
        seq++;
      }
      // the outbox row commits with the events or not at all: a crash after this transaction cannot lose them from the log
      this.eventLog.append(firstSeq, acceptedEvents, nowMs);
      // likewise trending's copy: it leaves only once the trending object confirms it holds it; impressions of items a
      // feed page served carry what the model predicted for them, for calibration from feedback
      this.trendingOutbox.append(firstSeq, this.withPredictions(userId, acceptedEvents), nowMs);
      this.setMeta("next_seq", String(seq));
      this.keepNewest("events", userId, "ts DESC, seq DESC", USER_STATE_LIMITS.events);
      this.keepNewest("seen", userId, "last_ts DESC, seq DESC", USER_STATE_LIMITS.seen);
      this.keepNewest("follows", userId, "last_ts DESC, seq DESC", USER_STATE_LIMITS.follows);
      this.keepNewest("received_event_ids", userId, "seq DESC", USER_STATE_LIMITS.receivedEventIds);
      return { accepted: acceptedEventIds.length, duplicates, acceptedEventIds };
    });
    if (result.accepted > 0) this.scheduleLogFlush(nowMs);
    // the batch is stored, but the caller will see a failure and retry it: the retry must find duplicates only
    maybeFail(faults, "user_state.ingest.after_commit");
    return { ...result, log: this.eventLog.state(nowMs).status, trending: this.trendingDelivery() };
  }

  /** The events, each impression with the prediction of the user's newest page that served its item (if one did). */
  private withPredictions(userId: string, events: readonly UserEvent[]): DeliveredEvent[] {
    const impressed = new Set(events.filter((event) => event.type === "impression").map((event) => event.item_id));
    const predictions = this.feedSessions.servedPredictions(userId, impressed);
    return events.map((event) => {
      const predicted = event.type === "impression" ? predictions.get(event.item_id) : undefined;
      return predicted === undefined ? event : { ...event, predicted };
    });
  }

  /** The oldest batches waiting for trending, or null. */
  private trendingDelivery(): TrendingDelivery | null {
    const batches = this.trendingOutbox.oldest();
    return batches.length === 0 ? null : { writer: this.writerName(), batches };
  }

  /** Trending confirmed it holds this object's events up to `upToSeq` (Trending.applyDeliveries): they leave the outbox. */
  trendingDelivered(writer: string, upToSeq: number): void {
    if (typeof writer !== "string" || !Number.isSafeInteger(upToSeq)) throw new TypeError("user state: trendingDelivered takes a writer and a sequence number");
    // a confirmation meant for an earlier life of this object (its storage wiped since) must not delete anything
    if (this.meta("log_writer") !== writer) return;
    this.trendingOutbox.delivered(upToSeq);
  }

  /** Delivers what waits for trending itself: the safety net for a batch whose request could not (trending failed, or the isolate died). */
  private async deliverTrendingLeftovers(): Promise<string | null> {
    for (let round = 0; round < 4; round++) {
      const delivery = this.trendingDelivery();
      if (delivery === null) return null;
      try {
        const result = await trendingStub(this.env).applyDeliveries([delivery]);
        for (const { writer, appliedTo } of result.appliedTo) this.trendingDelivered(writer, appliedTo);
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    }
    return null;
  }

  /** What the object holds of `userId` (operators' read: GET /v1/admin/users/{user_id}/state). */
  dump(userId: string): UserStateDump {
    if (typeof userId !== "string" || userId.length === 0) throw new TypeError("user state: dump takes a user id");
    const logPendingRows = this.eventLog.state(Date.now()).pendingRows;
    const trendingPendingRows = this.trendingOutbox.pendingRows();
    if (!this.hasSchema()) return { events: [], seen: 0, followedItems: 0, receivedEventIds: 0, logPendingRows, trendingPendingRows };
    const events = this.sql
      .exec<{ event_id: string; item_id: string; type: string; ts: number; surface: number }>("SELECT event_id, item_id, type, ts, surface FROM events WHERE user_id = ? ORDER BY ts, seq", userId)
      .toArray()
      .map((row): UserEvent => ({ event_id: row.event_id, user_id: userId, item_id: row.item_id, type: row.type as InteractionType, ts: row.ts, surface: row.surface }));
    const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`, userId).one().n;
    return { events, seen: count("seen"), followedItems: count("follows"), receivedEventIds: count("received_event_ids"), logPendingRows, trendingPendingRows };
  }

  /** The safety net of the event log: ships what ingest left in the outbox, and comes back while rows remain. */
  override async alarm(): Promise<void> {
    this.alarmArmed = false;
    const outcome = await this.eventLog.flush();
    if (outcome.error !== null) logRecurringFailure("event_log.pending", `event log: ${outcome.pendingRows} rows wait in ${this.writerName()}: ${outcome.error}`);
    const trendingError = await this.deliverTrendingLeftovers();
    if (trendingError !== null) logRecurringFailure("trending.pending", `trending: ${this.trendingOutbox.pendingRows()} rows wait in ${this.writerName()}: ${trendingError}`);
    const nowMs = Date.now();
    const logNext = this.eventLog.nextAlarmMs(nowMs);
    // rows still waiting for trending come back with the log's period (a failed trending is retried no faster)
    const trendingNext = this.trendingOutbox.pendingRows() > 0 ? nowMs + EVENT_OUTBOX_LIMITS.flushIntervalMs : null;
    const next = logNext === null ? trendingNext : trendingNext === null ? logNext : Math.min(logNext, trendingNext);
    if (next !== null && !this.alarmArmed) {
      await this.ctx.storage.setAlarm(next);
      this.alarmArmed = true;
    }
  }

  /** Arms the alarm for the new rows, and flushes at once when a flight's worth waits (without making ingest wait for R2). */
  private scheduleLogFlush(nowMs: number): void {
    if (!this.alarmArmed) {
      // not awaited: the write is ordered with the transaction before it, and the output gate holds the reply until both are durable
      void this.ctx.storage.setAlarm(nowMs + EVENT_OUTBOX_LIMITS.flushIntervalMs);
      this.alarmArmed = true;
    }
    if (this.eventLog.isDue(nowMs)) {
      this.eventLog.flush().catch((error: unknown) => logRecurringFailure("event_log.flush", `event log: flush of ${this.writerName()} failed`, error));
    }
  }

  /** The outbox's writer in log keys, fixed by the object's first ingest (claimLogWriter), so stable across restarts. */
  private writerName(): string {
    const writer = this.meta("log_writer");
    if (writer === undefined) throw new Error("user state: the event log has rows but the object has no writer name yet");
    return writer;
  }

  /**
   * Names the object's writer once: its group and a random epoch, so that an object whose storage was wiped (its
   * sequence starting again at 1) writes new keys instead of overwriting those of its earlier life. An outbox that
   * already holds rows without a name keeps the bare group, the name its reserved flight may already have written.
   */
  private claimLogWriter(): void {
    if (this.meta("log_writer") !== undefined) return;
    const group = this.meta("group") as string;
    const epoch = [...crypto.getRandomValues(new Uint8Array(4))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    this.setMeta("log_writer", this.eventLog.state(Date.now()).pendingRows > 0 ? `group_${group}` : `group_${group}.${epoch}`);
  }

  /** What the ranker reads for `userId`: events by ts (ties in arrival order), seen items and follows oldest first. */
  snapshot(userId: string): UserStateSnapshot {
    if (typeof userId !== "string" || userId.length === 0) throw new TypeError("user state: snapshot takes a user id");
    if (!this.hasSchema()) return { events: [], seen: [], followedItems: [] };
    const events = this.sql
      .exec<{ item_id: string; ts: number; surface: number; type: string }>("SELECT item_id, ts, surface, type FROM events WHERE user_id = ? ORDER BY ts, seq", userId)
      .toArray()
      .map((row): SnapshotEvent => ({ item_id: row.item_id, ts: row.ts, surface: row.surface, type: row.type as InteractionType }));
    const itemIds = (table: "seen" | "follows") =>
      this.sql.exec<{ item_id: string }>(`SELECT item_id FROM ${table} WHERE user_id = ? ORDER BY last_ts, seq`, userId).toArray().map((row) => row.item_id);
    return { events, seen: itemIds("seen"), followedItems: itemIds("follows") };
  }

  /** The position `cursor` names in one of the user's feed sessions (worker/state/feed-sessions.ts), and what was served up to it. */
  feedSession(userId: string, feed: FeedName, cursor: string): SessionLookup {
    assertFeedCall(userId, feed);
    if (typeof cursor !== "string") throw new TypeError("user state: feedSession takes a cursor");
    return this.feedSessions.lookup(userId, feed, cursor, Date.now());
  }

  /** Records a page of a feed session (a new one without `after`) and answers the cursor that continues after it. */
  recordFeedPage(userId: string, feed: FeedName, after: SessionPosition | undefined, items: readonly ServedItem[]): PageRecord {
    assertFeedCall(userId, feed);
    if (!Array.isArray(items as unknown) || !items.every((item) => typeof item?.item_id === "string" && typeof item.author_id === "string" && (item.p === undefined || isPredictionVector(item.p)))) {
      throw new TypeError("user state: recordFeedPage takes items of {item_id, author_id, p?} (p: a probability per task)");
    }
    return this.feedSessions.record(userId, feed, after, items, Date.now());
  }

  /** Known = received recently, or still held in the recent events (which may outlive the id window). */
  private isKnown(userId: string, eventId: string): boolean {
    return (
      this.sql.exec(
        "SELECT 1 FROM received_event_ids WHERE user_id = ? AND event_id = ? UNION ALL SELECT 1 FROM events WHERE user_id = ? AND event_id = ? LIMIT 1",
        userId, eventId, userId, eventId,
      ).toArray().length > 0
    );
  }

  /** Records or refreshes an item's latest interaction; an older event never moves it back in time. */
  private touch(table: "seen" | "follows", userId: string, itemId: string, ts: number, seq: number): void {
    this.sql.exec(
      `INSERT INTO ${table} (user_id, item_id, last_ts, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, item_id) DO UPDATE SET last_ts = excluded.last_ts, seq = excluded.seq WHERE excluded.last_ts >= ${table}.last_ts`,
      userId, itemId, ts, seq,
    );
  }

  private keepNewest(table: string, userId: string, newestFirst: string, limit: number): void {
    this.sql.exec(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE user_id = ? ORDER BY ${newestFirst} LIMIT -1 OFFSET ?)`, userId, limit);
  }

  /** Guards against routing bugs: every user of an object must hash to the group of the first one it stored. */
  private claimGroup(userId: string): void {
    const group = String(userStateGroup(userId));
    const owner = this.meta("group") ?? group;
    if (owner !== group) throw new Error(`user state: this object holds group ${owner}, got user ${JSON.stringify(userId)} of group ${group}`);
    this.setMeta("group", owner);
  }

  private meta(key: string): string | undefined {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}

function assertFeedCall(userId: string, feed: FeedName): void {
  if (typeof userId !== "string" || userId.length === 0) throw new TypeError("user state: a feed session needs a user id");
  if (!FEED_NAMES.includes(feed)) throw new TypeError(`user state: no feed ${JSON.stringify(feed)}`);
}
