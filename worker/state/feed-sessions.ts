/**
 * Feed sessions: what `/v1/explore` and `/v1/suggested` served a user page after page, so that the next page
 * repeats nothing and continues the author rules. Kept in the user's state object (the group's SQLite database)
 * beside their events, because the served ids must live on the server anyway (a cursor cannot carry a thousand of
 * them) and a request reads that object already.
 *
 * The cursor is a handle, not a claim: a random session id and a random token of the page it continues after. A
 * client cannot forge one (128 + 96 random bits, looked up under the user id of the request, so another user's
 * cursor names nothing in this user's rows), and no signing secret has to be configured or rotated.
 *
 * A cursor names a position. Sending one again (a retry whose answer was lost, or going back) serves the next page
 * afresh and forgets what had been served after that position, so a page the client never received is not lost.
 */

import { FEED_SESSION_LIMITS, type FeedName } from "../contract/feed-session-limits";

export interface ServedItem {
  readonly item_id: string;
  readonly author_id: string;
  /**
   * What the MTML predicted for the item when it was served (LABELS order, after the bundle's calibrators and before
   * any feedback map): an impression of it reported later carries them to trending, for calibration from feedback.
   */
  readonly p?: readonly number[];
}

/** How many of a user's newest pages an ingest searches for the predictions of the items it reports seen. */
const PREDICTION_PAGES = 16;

/** Why a cursor does not continue a session. */
export type CursorProblem = "unknown" | "expired" | "other_feed";

/** Where a cursor puts the next page: its session, the page it continues after, and everything served up to it. */
export interface SessionPosition {
  readonly session: string;
  readonly page: number;
}

export type SessionLookup = ({ readonly ok: true; readonly served: ServedItem[] } & SessionPosition) | { readonly ok: false; readonly problem: CursorProblem };
export type PageRecord = { readonly ok: true; readonly cursor: string } | { readonly ok: false; readonly problem: CursorProblem };

/** A served item as a page's JSON holds it. */
type StoredItem = [itemId: string, authorId: string, p?: readonly number[]];

const CURSOR = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{16})$/;

// One row per page, its items as JSON: recording a page is a handful of statements whatever its size (a row per
// item made a first page ~30 statements in the group object every feed request passes through, and halved its
// throughput under load).
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS feed_sessions (
    user_id TEXT NOT NULL, session_id TEXT NOT NULL, feed TEXT NOT NULL, expires_ms INTEGER NOT NULL, live INTEGER NOT NULL,
    PRIMARY KEY (user_id, session_id)
  );
  CREATE INDEX IF NOT EXISTS feed_sessions_by_expiry ON feed_sessions (live, expires_ms);
  CREATE TABLE IF NOT EXISTS feed_session_pages (
    user_id TEXT NOT NULL, session_id TEXT NOT NULL, page INTEGER NOT NULL, token TEXT NOT NULL, items TEXT NOT NULL, item_count INTEGER NOT NULL,
    PRIMARY KEY (user_id, session_id, page)
  );
`;

/** How often a group object frees expired sessions: at most once a minute, on a write. */
const SWEEP_EVERY_MS = 60_000;

function randomToken(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The feed sessions of one group's users, over the group object's storage. Every write is one transaction. */
export class FeedSessions {
  private schemaReady = false;
  private nextSweepMs = 0;

  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private hasSchema(): boolean {
    if (!this.schemaReady) this.schemaReady = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feed_session_pages'").toArray().length > 0;
    return this.schemaReady;
  }

  /** The position `cursor` names in one of `userId`'s sessions of `feed`, with the items served up to it. */
  lookup(userId: string, feed: FeedName, cursor: string, nowMs: number): SessionLookup {
    const parts = CURSOR.exec(cursor);
    if (!parts || !this.hasSchema()) return { ok: false, problem: "unknown" };
    const [, session, token] = parts as unknown as [string, string, string];
    const problem = this.sessionProblem(userId, session, feed, nowMs);
    if (problem) return { ok: false, problem };
    const page = this.sql.exec<{ page: number }>("SELECT page FROM feed_session_pages WHERE user_id = ? AND session_id = ? AND token = ?", userId, session, token).toArray()[0]?.page;
    if (page === undefined) return { ok: false, problem: "unknown" };
    const served: ServedItem[] = [];
    for (const row of this.sql.exec<{ items: string }>("SELECT items FROM feed_session_pages WHERE user_id = ? AND session_id = ? AND page <= ? ORDER BY page", userId, session, page)) {
      for (const [item_id, author_id] of JSON.parse(row.items) as StoredItem[]) served.push({ item_id, author_id });
    }
    return { ok: true, session, page, served: served.slice(-FEED_SESSION_LIMITS.served) };
  }

  /**
   * Records a page: after `after` (a position `lookup` returned) in its session, or as the first page of a new
   * session. Answers the cursor of the position after this page.
   */
  record(userId: string, feed: FeedName, after: SessionPosition | undefined, items: readonly ServedItem[], nowMs: number): PageRecord {
    if (items.length > FEED_SESSION_LIMITS.pageItems) throw new RangeError(`feed sessions: a page holds at most ${FEED_SESSION_LIMITS.pageItems} items, got ${items.length}`);
    if (!this.hasSchema()) {
      this.sql.exec(SCHEMA);
      this.schemaReady = true;
    }
    return this.storage.transactionSync((): PageRecord => {
      if (nowMs >= this.nextSweepMs) {
        this.sweep(nowMs);
        this.nextSweepMs = nowMs + SWEEP_EVERY_MS;
      }
      let session: string;
      let page: number;
      if (after) {
        // the session may have expired, or been forgotten for newer ones, since the lookup
        const problem = this.sessionProblem(userId, after.session, feed, nowMs);
        if (problem) return { ok: false, problem };
        ({ session } = after);
        page = after.page + 1;
        this.sql.exec("DELETE FROM feed_session_pages WHERE user_id = ? AND session_id = ? AND page >= ?", userId, session, page);
        this.sql.exec("UPDATE feed_sessions SET expires_ms = ? WHERE user_id = ? AND session_id = ?", nowMs + FEED_SESSION_LIMITS.ttlMs, userId, session);
      } else {
        session = randomToken(16);
        page = 0;
        this.sql.exec("INSERT INTO feed_sessions (user_id, session_id, feed, expires_ms, live) VALUES (?, ?, ?, ?, 1)", userId, session, feed, nowMs + FEED_SESSION_LIMITS.ttlMs);
        this.keepNewestSessions(userId, nowMs);
      }
      const token = randomToken(12);
      const json = JSON.stringify(items.map((item): StoredItem => (item.p === undefined ? [item.item_id, item.author_id] : [item.item_id, item.author_id, item.p])));
      this.sql.exec("INSERT INTO feed_session_pages (user_id, session_id, page, token, items, item_count) VALUES (?, ?, ?, ?, ?, ?)", userId, session, page, token, json, items.length);
      if (page > 0) this.keepNewestPages(userId, session);
      return { ok: true, cursor: `${session}.${token}` };
    });
  }

  /**
   * What the user's newest pages (of live sessions) predicted for these items, each item's newest prediction: an
   * impression is reported minutes after its page, so the newest pages hold nearly all of them.
   */
  servedPredictions(userId: string, itemIds: ReadonlySet<string>): Map<string, readonly number[]> {
    const found = new Map<string, readonly number[]>();
    if (itemIds.size === 0 || !this.hasSchema()) return found;
    const pages = this.sql
      .exec<{ items: string }>(
        `SELECT p.items FROM feed_session_pages p JOIN feed_sessions s ON s.user_id = p.user_id AND s.session_id = p.session_id
         WHERE p.user_id = ? AND s.live = 1 ORDER BY s.expires_ms DESC, p.page DESC LIMIT ?`,
        userId, PREDICTION_PAGES,
      )
      .toArray();
    for (const page of pages) {
      for (const [itemId, , p] of JSON.parse(page.items) as StoredItem[]) {
        if (p !== undefined && itemIds.has(itemId) && !found.has(itemId)) found.set(itemId, p);
      }
      if (found.size === itemIds.size) break;
    }
    return found;
  }

  private sessionProblem(userId: string, session: string, feed: FeedName, nowMs: number): CursorProblem | undefined {
    const row = this.sql.exec<{ feed: string; expires_ms: number; live: number }>("SELECT feed, expires_ms, live FROM feed_sessions WHERE user_id = ? AND session_id = ?", userId, session).toArray()[0];
    if (!row) return "unknown";
    if (row.feed !== feed) return "other_feed";
    if (row.live !== 1 || row.expires_ms <= nowMs) return "expired";
    return undefined;
  }

  /** Frees the pages of sessions that expired (a batch per sweep), and drops long-expired rows. */
  private sweep(nowMs: number): void {
    const expired = this.sql.exec<{ user_id: string; session_id: string }>("SELECT user_id, session_id FROM feed_sessions WHERE live = 1 AND expires_ms <= ? LIMIT ?", nowMs, FEED_SESSION_LIMITS.sweepBatch).toArray();
    for (const { user_id, session_id } of expired) this.free(user_id, session_id);
    this.sql.exec("DELETE FROM feed_sessions WHERE live = 0 AND expires_ms <= ?", nowMs - FEED_SESSION_LIMITS.expiredRowMs);
  }

  private free(userId: string, session: string): void {
    this.sql.exec("DELETE FROM feed_session_pages WHERE user_id = ? AND session_id = ?", userId, session);
    this.sql.exec("UPDATE feed_sessions SET live = 0 WHERE user_id = ? AND session_id = ?", userId, session);
  }

  /** A user's live sessions beyond the limit expire now (least recently used first); their expired rows are bounded too. */
  private keepNewestSessions(userId: string, nowMs: number): void {
    const beyond = this.sql
      .exec<{ session_id: string }>("SELECT session_id FROM feed_sessions WHERE user_id = ? AND live = 1 ORDER BY expires_ms DESC LIMIT -1 OFFSET ?", userId, FEED_SESSION_LIMITS.sessionsPerUser)
      .toArray();
    for (const { session_id } of beyond) {
      this.free(userId, session_id);
      this.sql.exec("UPDATE feed_sessions SET expires_ms = ? WHERE user_id = ? AND session_id = ?", nowMs, userId, session_id);
    }
    this.sql.exec(
      "DELETE FROM feed_sessions WHERE rowid IN (SELECT rowid FROM feed_sessions WHERE user_id = ? ORDER BY live DESC, expires_ms DESC LIMIT -1 OFFSET ?)",
      userId, FEED_SESSION_LIMITS.sessionRowsPerUser,
    );
  }

  /**
   * Keeps a session within its bounds, newest pages first: at most `pages` page cursors, and whole pages while the
   * items they hold stay within `served` (lookup trims the oldest page's surplus).
   */
  private keepNewestPages(userId: string, session: string): void {
    const pages = this.sql.exec<{ page: number; item_count: number }>("SELECT page, item_count FROM feed_session_pages WHERE user_id = ? AND session_id = ? ORDER BY page DESC", userId, session).toArray();
    let items = 0;
    let oldestKept: number | undefined;
    for (const [index, row] of pages.entries()) {
      if (index >= FEED_SESSION_LIMITS.pages || items >= FEED_SESSION_LIMITS.served) break;
      items += row.item_count;
      oldestKept = row.page;
    }
    if (oldestKept !== undefined && oldestKept > (pages[pages.length - 1]?.page ?? oldestKept)) {
      this.sql.exec("DELETE FROM feed_session_pages WHERE user_id = ? AND session_id = ? AND page < ?", userId, session, oldestKept);
    }
  }
}
