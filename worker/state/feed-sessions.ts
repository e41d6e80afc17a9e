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

import { FEED_SESSION_LIMITS, type FeedName } from "./feed-session-limits";

export interface ServedItem {
  readonly item_id: string;
  readonly author_id: string;
}

/** Why a cursor does not continue a session. */
export type CursorProblem = "unknown" | "expired" | "other_feed";

/** Where a cursor puts the next page: its session, the page it continues after, and everything served up to it. */
export interface SessionPosition {
  readonly session: string;
  readonly page: number;
}

export type SessionLookup = ({ readonly ok: true; readonly served: ServedItem[] } & SessionPosition) | { readonly ok: false; readonly problem: CursorProblem };
export type PageRecord = { readonly ok: true; readonly cursor: string } | { readonly ok: false; readonly problem: CursorProblem };

const CURSOR = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{16})$/;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS feed_sessions (
    user_id TEXT NOT NULL, session_id TEXT NOT NULL, feed TEXT NOT NULL, expires_ms INTEGER NOT NULL, live INTEGER NOT NULL,
    PRIMARY KEY (user_id, session_id)
  );
  CREATE INDEX IF NOT EXISTS feed_sessions_by_expiry ON feed_sessions (live, expires_ms);
  CREATE TABLE IF NOT EXISTS feed_pages (user_id TEXT NOT NULL, session_id TEXT NOT NULL, page INTEGER NOT NULL, token TEXT NOT NULL, PRIMARY KEY (user_id, session_id, page));
  CREATE TABLE IF NOT EXISTS feed_served (
    user_id TEXT NOT NULL, session_id TEXT NOT NULL, page INTEGER NOT NULL, position INTEGER NOT NULL, item_id TEXT NOT NULL, author_id TEXT NOT NULL,
    PRIMARY KEY (user_id, session_id, page, position)
  );
`;

function randomToken(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The feed sessions of one group's users, over the group object's storage. Every write is one transaction. */
export class FeedSessions {
  private schemaReady = false;

  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private hasSchema(): boolean {
    if (!this.schemaReady) this.schemaReady = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feed_sessions'").toArray().length > 0;
    return this.schemaReady;
  }

  /** The position `cursor` names in one of `userId`'s sessions of `feed`, with the items served up to it. */
  lookup(userId: string, feed: FeedName, cursor: string, nowMs: number): SessionLookup {
    const parts = CURSOR.exec(cursor);
    if (!parts || !this.hasSchema()) return { ok: false, problem: "unknown" };
    const [, session, token] = parts as unknown as [string, string, string];
    const problem = this.sessionProblem(userId, session, feed, nowMs);
    if (problem) return { ok: false, problem };
    const page = this.sql.exec<{ page: number }>("SELECT page FROM feed_pages WHERE user_id = ? AND session_id = ? AND token = ?", userId, session, token).toArray()[0]?.page;
    if (page === undefined) return { ok: false, problem: "unknown" };
    const served = this.sql
      .exec<{ item_id: string; author_id: string }>("SELECT item_id, author_id FROM feed_served WHERE user_id = ? AND session_id = ? AND page <= ? ORDER BY page, position", userId, session, page)
      .toArray()
      .map((row) => ({ item_id: row.item_id, author_id: row.author_id }));
    return { ok: true, session, page, served };
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
      this.sweep(nowMs);
      let session: string;
      let page: number;
      if (after) {
        // the session may have expired, or been forgotten for newer ones, since the lookup
        const problem = this.sessionProblem(userId, after.session, feed, nowMs);
        if (problem) return { ok: false, problem };
        ({ session } = after);
        page = after.page + 1;
        for (const table of ["feed_served", "feed_pages"]) this.sql.exec(`DELETE FROM ${table} WHERE user_id = ? AND session_id = ? AND page >= ?`, userId, session, page);
      } else {
        session = randomToken(16);
        page = 0;
        this.sql.exec("INSERT INTO feed_sessions (user_id, session_id, feed, expires_ms, live) VALUES (?, ?, ?, ?, 1)", userId, session, feed, nowMs + FEED_SESSION_LIMITS.ttlMs);
        this.keepNewestSessions(userId, nowMs);
      }
      items.forEach((item, position) => {
        this.sql.exec("INSERT INTO feed_served (user_id, session_id, page, position, item_id, author_id) VALUES (?, ?, ?, ?, ?, ?)", userId, session, page, position, item.item_id, item.author_id);
      });
      const token = randomToken(12);
      this.sql.exec("INSERT INTO feed_pages (user_id, session_id, page, token) VALUES (?, ?, ?, ?)", userId, session, page, token);
      this.sql.exec("UPDATE feed_sessions SET expires_ms = ? WHERE user_id = ? AND session_id = ?", nowMs + FEED_SESSION_LIMITS.ttlMs, userId, session);
      this.keepNewest("feed_served", userId, session, "page DESC, position DESC", FEED_SESSION_LIMITS.served);
      this.keepNewest("feed_pages", userId, session, "page DESC", FEED_SESSION_LIMITS.pages);
      return { ok: true, cursor: `${session}.${token}` };
    });
  }

  private sessionProblem(userId: string, session: string, feed: FeedName, nowMs: number): CursorProblem | undefined {
    const row = this.sql.exec<{ feed: string; expires_ms: number; live: number }>("SELECT feed, expires_ms, live FROM feed_sessions WHERE user_id = ? AND session_id = ?", userId, session).toArray()[0];
    if (!row) return "unknown";
    if (row.feed !== feed) return "other_feed";
    if (row.live !== 1 || row.expires_ms <= nowMs) return "expired";
    return undefined;
  }

  /** Frees the served items and cursors of sessions that expired (a batch per call), and drops long-expired rows. */
  private sweep(nowMs: number): void {
    const expired = this.sql.exec<{ user_id: string; session_id: string }>("SELECT user_id, session_id FROM feed_sessions WHERE live = 1 AND expires_ms <= ? LIMIT ?", nowMs, FEED_SESSION_LIMITS.sweepBatch).toArray();
    for (const { user_id, session_id } of expired) this.free(user_id, session_id);
    this.sql.exec("DELETE FROM feed_sessions WHERE live = 0 AND expires_ms <= ?", nowMs - FEED_SESSION_LIMITS.expiredRowMs);
  }

  private free(userId: string, session: string): void {
    for (const table of ["feed_served", "feed_pages"]) this.sql.exec(`DELETE FROM ${table} WHERE user_id = ? AND session_id = ?`, userId, session);
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

  private keepNewest(table: string, userId: string, session: string, newestFirst: string, limit: number): void {
    this.sql.exec(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE user_id = ? AND session_id = ? ORDER BY ${newestFirst} LIMIT -1 OFFSET ?)`, userId, session, limit);
  }
}
