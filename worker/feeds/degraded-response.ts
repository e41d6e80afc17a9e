import type { Context } from "hono";

/**
 * The 200 a feed route answers when no bundle is ready: the fallback's items, `degraded: true`, and with `debug` the
 * reasons (the bundle's and the fallback's own) so that an operator sees what is missing.
 */
export function degradedFeedResponse<Item>(
  c: Context,
  request: { requestId: string; userId: string; debug: boolean },
  bundleReasons: readonly string[],
  fallback: { items: Item[]; reasons: readonly string[] },
): Response {
  return c.json({
    request_id: request.requestId,
    user_id: request.userId,
    model_version: null,
    cold_start: true,
    degraded: true,
    items: fallback.items,
    ...(request.debug ? { debug: { degraded_reasons: [...bundleReasons, ...fallback.reasons] } } : {}),
  });
}
