import { bearerAuth } from "hono/bearer-auth";
import { every } from "hono/combine";
import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import type { RouteAuth, TokenSecret } from "../contract/route";
import { appFactory, type AppEnv } from "./factory";
import { ApiError, errorResponse } from "./errors";
import { rateLimited } from "./rate-limit";

function configuredSecret(env: Env, name: TokenSecret): string | undefined {
  const value = env[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Requires `Authorization: Bearer <token>` matching the secret `name`: hono/bearer-auth, reading the secret per
 * request (bindings only exist then). Every failure answers 401 with the Worker's JSON error body: a missing header,
 * another scheme (Hono would say 400) and a wrong token alike, so a client learns nothing from the difference. A
 * missing secret refuses everyone: a deployment mistake must not open the door.
 */
export function requireBearer(name: TokenSecret): MiddlewareHandler<AppEnv> {
  const unauthorized = (c: Context) => errorResponse(c, new ApiError(401, "unauthorized", `this route needs Authorization: Bearer <${name}>`));
  const failure = { message: unauthorized };
  return bearerAuth<AppEnv>({
    verifyToken: async (token, c) => {
      const expected = configuredSecret(c.env, name);
      return expected !== undefined && (await timingSafeEqual(token, expected));
    },
    noAuthenticationHeader: failure,
    invalidAuthenticationHeader: failure,
    invalidToken: failure,
  });
}

/** Open until the deployment sets the secret `name`; then like requireBearer. */
export function optionalBearer(name: TokenSecret): MiddlewareHandler<AppEnv> {
  const bearer = requireBearer(name);
  return appFactory.createMiddleware(async (c, next) => {
    if (configuredSecret(c.env, name) === undefined) return next();
    return bearer(c, next);
  });
}

/**
 * Feed routes are open unless the deployment sets FEED_TOKEN; then they need `Authorization: Bearer <FEED_TOKEN>`
 * like every other protected route (app backends call them, so the token is theirs to hold).
 */
export function optionalFeedAuth(): MiddlewareHandler<AppEnv> {
  return optionalBearer("FEED_TOKEN");
}

/**
 * The check a route's contract declares, so that the OpenAPI document's security is the one enforced, then the rate
 * limit of the route's class (worker/http/rate-limit.ts): only a client that passed the check is counted.
 */
export function bearerFor(auth: RouteAuth): MiddlewareHandler<AppEnv> {
  return every(auth.optional ? optionalBearer(auth.token) : requireBearer(auth.token), rateLimited(auth.token));
}
