/** What bounds the feed sessions (worker/state/feed-sessions.ts): part of the HTTP contract (page sizes, cursor lifetimes), which the state quotes. */

export const FEED_NAMES = ["explore", "suggested"] as const;
export type FeedName = (typeof FEED_NAMES)[number];

export const FEED_SESSION_LIMITS = {
  /** A session expires this long after its last page. */
  ttlMs: 30 * 60_000,
  /** Served items remembered per session, newest kept: an item served 2,000 items ago may come back. */
  served: 2_000,
  /** Pages whose cursors stay valid per session, newest kept. */
  pages: 200,
  /** Live sessions per user; a new one expires the least recently used beyond it. */
  sessionsPerUser: 8,
  /**
   * An expired session's served items go at once; its row stays this long so that its cursor is answered
   * "expired" rather than "unknown", and at most `sessionRowsPerUser` such rows per user.
   */
  expiredRowMs: 24 * 3_600_000,
  sessionRowsPerUser: 32,
  /** Items per page (the feed routes' `count` limit). */
  pageItems: 100,
  /** Expired sessions freed per write: the sweep's work per request stays small. */
  sweepBatch: 32,
} as const;
