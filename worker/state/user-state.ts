import { DurableObject } from "cloudflare:workers";
import { assertUserEvent, type IngestResult, type InteractionType, type SnapshotEvent, type UserEvent, type UserStateSnapshot } from "../../core/realtime/events";

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
  CREATE TABLE IF NOT EXISTS received_event_ids (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, item_id TEXT NOT NULL,
    type TEXT NOT NULL, ts INTEGER NOT NULL, surface INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS events_by_time ON events (ts, seq);
  CREATE TABLE IF NOT EXISTS seen (item_id TEXT PRIMARY KEY, last_ts INTEGER NOT NULL, seq INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS seen_by_time ON seen (last_ts, seq);
  CREATE TABLE IF NOT EXISTS follows (item_id TEXT PRIMARY KEY, last_ts INTEGER NOT NULL, seq INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS follows_by_time ON follows (last_ts, seq);
`;

/** The state store of the user named `userId`. */
export function userStateStub(env: Env, userId: string): DurableObjectStub<UserState> {
  return env.USER_STATE.get(env.USER_STATE.idFromName(userId));
}

/**
 * One user's real-time state: recent interactions, seen items, follows. Storage is the object's SQLite
 * database used through the synchronous API: `ingest` never awaits, so no other call can interleave with it,
 * and `transactionSync` makes a batch all-or-nothing if a statement throws.
 */
export class UserState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private schemaReady = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  /**
   * Tables are created by the first ingest, not on construction: most feed requests are for users who never
   * sent an event, and creating a schema just to read nothing from it cost several milliseconds each.
   */
  private hasSchema(): boolean {
    if (!this.schemaReady) this.schemaReady = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray().length > 0;
    return this.schemaReady;
  }

  /** Stores the events that are new by event_id; one user per object, fixed by the first batch. */
  ingest(events: readonly UserEvent[]): IngestResult {
    if (!Array.isArray(events as unknown)) throw new TypeError("user state: ingest takes an array of events");
    if (events.length > USER_STATE_LIMITS.batch) throw new RangeError(`user state: a batch holds at most ${USER_STATE_LIMITS.batch} events, got ${events.length}`);
    events.forEach((event, i) => assertUserEvent(event, `user state: ingest[${i}]`));
    if (events.length === 0) return { accepted: 0, duplicates: 0, acceptedEventIds: [] };

    // outside the transaction, so a batch that rolls back never takes the tables with it
    if (!this.hasSchema()) {
      this.sql.exec(SCHEMA);
      this.schemaReady = true;
    }
    return this.ctx.storage.transactionSync(() => {
      this.claimOwner(events);
      let seq = Number(this.meta("next_seq") ?? "1");
      const acceptedEventIds: string[] = [];
      let duplicates = 0;
      for (const event of events) {
        if (this.isKnown(event.event_id)) {
          duplicates++;
          continue;
        }
        this.sql.exec("INSERT INTO received_event_ids (seq, event_id) VALUES (?, ?)", seq, event.event_id);
        this.sql.exec(
          "INSERT INTO events (seq, event_id, item_id, type, ts, surface) VALUES (?, ?, ?, ?, ?, ?)",
          seq, event.event_id, event.item_id, event.type, event.ts, event.surface,
        );
        this.touch("seen", event.item_id, event.ts, seq);
        if (event.type === "follow") this.touch("follows", event.item_id, event.ts, seq);
        acceptedEventIds.push(event.event_id);
        seq++;
      }
      this.setMeta("next_seq", String(seq));
      this.keepNewest("events", "ts DESC, seq DESC", USER_STATE_LIMITS.events);
      this.keepNewest("seen", "last_ts DESC, seq DESC", USER_STATE_LIMITS.seen);
      this.keepNewest("follows", "last_ts DESC, seq DESC", USER_STATE_LIMITS.follows);
      this.keepNewest("received_event_ids", "seq DESC", USER_STATE_LIMITS.receivedEventIds);
      return { accepted: acceptedEventIds.length, duplicates, acceptedEventIds };
    });
  }

  /** What the ranker reads: events by ts (ties in arrival order), seen items and follows oldest first. */
  snapshot(): UserStateSnapshot {
    if (!this.hasSchema()) return { events: [], seen: [], followedItems: [] };
    const events = this.sql
      .exec<{ item_id: string; ts: number; surface: number; type: string }>("SELECT item_id, ts, surface, type FROM events ORDER BY ts, seq")
      .toArray()
      .map((row): SnapshotEvent => ({ item_id: row.item_id, ts: row.ts, surface: row.surface, type: row.type as InteractionType }));
    const itemIds = (table: "seen" | "follows") =>
      this.sql.exec<{ item_id: string }>(`SELECT item_id FROM ${table} ORDER BY last_ts, seq`).toArray().map((row) => row.item_id);
    return { events, seen: itemIds("seen"), followedItems: itemIds("follows") };
  }

  /** Known = received recently, or still held in the recent events (which may outlive the id window). */
  private isKnown(eventId: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM received_event_ids WHERE event_id = ? UNION ALL SELECT 1 FROM events WHERE event_id = ? LIMIT 1", eventId, eventId).toArray().length > 0
    );
  }

  /** Records or refreshes an item's latest interaction; an older event never moves it back in time. */
  private touch(table: "seen" | "follows", itemId: string, ts: number, seq: number): void {
    this.sql.exec(
      `INSERT INTO ${table} (item_id, last_ts, seq) VALUES (?, ?, ?)
       ON CONFLICT (item_id) DO UPDATE SET last_ts = excluded.last_ts, seq = excluded.seq WHERE excluded.last_ts >= ${table}.last_ts`,
      itemId, ts, seq,
    );
  }

  private keepNewest(table: string, newestFirst: string, limit: number): void {
    this.sql.exec(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} ORDER BY ${newestFirst} LIMIT -1 OFFSET ?)`, limit);
  }

  /** Guards against routing bugs: every event of an object must belong to the same user. */
  private claimOwner(events: readonly UserEvent[]): void {
    const owner = this.meta("user_id") ?? (events[0] as UserEvent).user_id;
    const stranger = events.find((event) => event.user_id !== owner);
    if (stranger) throw new Error(`user state: this object holds user ${JSON.stringify(owner)}, got an event of user ${JSON.stringify(stranger.user_id)}`);
    this.setMeta("user_id", owner);
  }

  private meta(key: string): string | undefined {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}
