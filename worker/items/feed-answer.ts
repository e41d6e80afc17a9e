import type { LiveState } from "./live-view";

interface FeedBody {
  readonly degraded: boolean;
  readonly items: readonly { readonly item_id: string }[];
  readonly debug?: object | undefined;
}

/**
 * A feed's answer under the live delta: never a taken-down id, whichever path built it (the funnel excludes them
 * already; the precomputed feed and the fallback list are filtered by id, and this last pass holds for any path a
 * later change adds), and `degraded` when the delta could not be read or applied, with the reasons in the debug trace.
 */
export function withLiveState<Body extends FeedBody>(body: Body, live: Pick<LiveState, "takenDownIds" | "problems">): Body {
  const items = body.items.filter((item) => !live.takenDownIds.has(item.item_id));
  if (live.problems.length === 0 && items.length === body.items.length) return body;
  const debug = body.debug && "degraded_reasons" in body.debug && Array.isArray(body.debug.degraded_reasons) ? { ...body.debug, degraded_reasons: [...(body.debug.degraded_reasons as string[]), ...live.problems] } : body.debug;
  return { ...body, items, degraded: body.degraded || live.problems.length > 0, ...(debug ? { debug } : {}) };
}
