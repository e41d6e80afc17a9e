import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { ApiError } from "../http/errors";
import { FEED_SESSION_LIMITS, type FeedName } from "../contract/feed-session-limits";
import type { CursorProblem, ServedItem, SessionPosition } from "../state/feed-sessions";
import { userStateStub } from "../state/user-state";
import { LABELS, type Label } from "../../core/data/labels";
import { uncalibrate, type MtmlCalibration } from "../../core/ranking/calibration";

/** A page's place in its feed session (worker/state/feed-sessions.ts): what it must not repeat, whose authors it follows. */
export interface FeedPage {
  /** Item ids the session served before this page. */
  readonly served: readonly string[];
  /** The authors of the session's last items before this page, oldest first: the author rules continue from them. */
  readonly precedingAuthors: readonly string[];
  /**
   * Records the page in the session and answers the cursor of the next one (null, and why, when it could not be
   * recorded). With `feedback` (the maps the items' `p` were scored with), each item keeps what the model itself
   * predicted, for calibration from feedback; without it, none.
   */
  record(items: readonly PageItem[], feedback?: MtmlCalibration): Promise<{ cursor: string | null; problem?: string }>;
}

const TTL_MINUTES = FEED_SESSION_LIMITS.ttlMs / 60_000;

/** A cursor that continues no session is the client's mistake: a 400 naming it, never a silent first page. */
function cursorError(problem: CursorProblem, feed: FeedName): ApiError {
  switch (problem) {
    case "expired":
      return new ApiError(400, "cursor_expired", `the cursor's session has expired (${TTL_MINUTES} minutes after its last page, or when the user started newer sessions); ask again without a cursor`, "cursor");
    case "other_feed":
      return new ApiError(400, "invalid_cursor", `the cursor continues a session of another feed, not /v1/${feed}`, "cursor");
    case "unknown":
      return new ApiError(400, "invalid_cursor", "the cursor names no session of this user: it was altered, or is another user's", "cursor");
  }
}

/**
 * The session a page belongs to: a new one without `cursor`, else the position the cursor names. Reading it needs the
 * user's state object; when that fails the request is answered 503, because serving the page anyway could repeat
 * what the session already showed.
 */
export async function openFeedPage(env: Env, userId: string, feed: FeedName, cursor: string | undefined, count: number): Promise<FeedPage> {
  let after: SessionPosition | undefined;
  let served: readonly ServedItem[] = [];
  if (cursor !== undefined) {
    let found;
    try {
      found = await withinTimeBudget(userStateStub(env, userId).feedSession(userId, feed, cursor), REQUEST_BUDGETS_MS.stateObject, "the user's state object");
    } catch (error) {
      throw new ApiError(503, "user_state_unavailable", `the cursor's session cannot be read: ${(error as Error).message}`);
    }
    if (!found.ok) throw cursorError(found.problem, feed);
    after = { session: found.session, page: found.page };
    served = found.served;
  }
  return {
    served: served.map((item) => item.item_id),
    precedingAuthors: served.slice(-count).map((item) => item.author_id),
    async record(items, feedback) {
      let recorded;
      try {
        recorded = await withinTimeBudget(
          userStateStub(env, userId).recordFeedPage(userId, feed, after, items.map((item) => servedItem(item, feedback))),
          REQUEST_BUDGETS_MS.stateObject,
          "the user's state object",
        );
      } catch (error) {
        // the page itself is fine: serve it, without a way to continue
        return { cursor: null, problem: `feed session not recorded: ${(error as Error).message}` };
      }
      if (!recorded.ok) throw cursorError(recorded.problem, feed);
      return { cursor: recorded.cursor };
    },
  };
}

/** An item of a page as the routes answer it: its ids, and the probabilities served for it (null without a model). */
interface PageItem {
  readonly item_id: string;
  readonly author_id: string;
  readonly p?: Readonly<Record<Label, number>> | null;
}

/** What the session keeps of a served item: the model's probabilities are the served ones with the feedback maps undone. */
function servedItem(item: PageItem, feedback: MtmlCalibration | undefined): ServedItem {
  const { p } = item;
  if (feedback === undefined || p === undefined || p === null) return { item_id: item.item_id, author_id: item.author_id };
  // six significant digits: the fit bins logit(p) far more coarsely, and the page's row stays small
  return { item_id: item.item_id, author_id: item.author_id, p: LABELS.map((label) => Number(uncalibrate(feedback[label] ?? { method: "none" }, p[label]).toPrecision(6))) };
}

/** A feed body as the routes build it, before its cursor. */
interface PageBody {
  readonly items: readonly PageItem[];
  readonly degraded: boolean;
  readonly debug?: object | undefined;
}

/** Records `body`'s items in the session and adds the cursor; a page that could not be recorded says degraded, and why. */
export async function withCursor<Body extends PageBody>(page: FeedPage, body: Body, feedback?: MtmlCalibration): Promise<Body & { cursor: string | null }> {
  const { cursor, problem } = await page.record(body.items, feedback);
  if (problem === undefined) return { ...body, cursor };
  const debug = body.debug && "degraded_reasons" in body.debug && Array.isArray(body.debug.degraded_reasons) ? { ...body.debug, degraded_reasons: [...(body.debug.degraded_reasons as unknown[]), problem] } : body.debug;
  return { ...body, degraded: true, ...(debug ? { debug } : {}), cursor };
}
