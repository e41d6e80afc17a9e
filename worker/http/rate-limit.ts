import type { Context, MiddlewareHandler } from "hono";
import type { TokenSecret } from "../contract/route";
import { RATE_LIMIT_PERIOD_SECONDS } from "../contract/errors";
import { ApiError, errorResponse } from "./errors";
import { appFactory, type AppEnv } from "./factory";

/**
 * Rate limits per client and route class, on the Workers rate-limiting binding `RATE_LIMITER` (its limit and period in
 * wrangler.toml). A client is the bearer token it sends (a SHA-256 of it, so no secret becomes a key), or its address
 * on an open feed route; the class is the token the route needs, so an app backend's feed traffic and its event batches
 * count apart. Over the limit the answer is 429 `rate_limited` with `Retry-After`; without the binding (a deployment
 * that left it out) nothing is limited. The binding counts per Cloudflare location and eventually consistently: a guard
 * against runaway clients, not an exact quota.
 */
export function rateLimited(routeClass: TokenSecret): MiddlewareHandler<AppEnv> {
  return appFactory.createMiddleware(async (c, next) => {
    const limiter = c.env.RATE_LIMITER;
    if (!limiter) return next();
    const { success } = await limiter.limit({ key: `${routeClass}:${await clientKey(c)}` });
    if (success) return next();
    const response = errorResponse(c, new ApiError(429, "rate_limited", `this client is over its request rate on ${routeClass} routes; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`));
    response.headers.set("Retry-After", String(RATE_LIMIT_PERIOD_SECONDS));
    return response;
  });
}

async function clientKey(c: Context<AppEnv>): Promise<string> {
  const authorization = c.req.header("authorization");
  if (authorization) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(authorization)));
    return `token:${Array.from(digest.subarray(0, 16), (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
  }
  return `address:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
}
