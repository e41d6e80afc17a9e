import type { Context } from "hono";
import type { AppEnv } from "../app";
import { serverTiming } from "../http/server-timing";

/**
 * The 200 a feed route answers when no bundle is ready: the fallback's items, `degraded: true`, and with `debug` the
 * reasons (the bundle's and the fallback's own) so that an operator sees what is missing.
 */
export function degradedFeedResponse<Item>(
  c: Context<AppEnv>,
  request: { requestId: string; userId: string; debug: boolean; startedMs: number },
  bundleReasons: readonly string[],
  fallback: { items: Item[]; reasons: readonly string[] },
): Response {
  const elapsedMs = performance.now() - request.startedMs;
  c.header("Server-Timing", serverTiming({ fallback: elapsedMs }, elapsedMs));
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
