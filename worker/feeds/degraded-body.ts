/**
 * The body of the 200 a feed route answers when no bundle is ready: the fallback's items, `degraded: true`, and with
 * `debug` the reasons (the bundle's and the fallback's own) so that an operator sees what is missing.
 */
export function degradedFeedBody<Item>(
  request: { requestId: string; userId: string; debug: boolean },
  bundleReasons: readonly string[],
  fallback: { items: Item[]; reasons: readonly string[] },
): { request_id: string; user_id: string; model_version: null; cold_start: true; degraded: true; items: Item[]; experiments: []; debug?: { degraded_reasons: string[] } } {
  return {
    request_id: request.requestId,
    user_id: request.userId,
    model_version: null,
    cold_start: true,
    degraded: true,
    items: fallback.items,
    // the fallback serves every user alike, so it serves no arm
    experiments: [],
    ...(request.debug ? { debug: { degraded_reasons: [...bundleReasons, ...fallback.reasons] } } : {}),
  };
}
