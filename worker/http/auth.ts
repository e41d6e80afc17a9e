import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors";

/**
 * Requires `Authorization: Bearer <token>` matching the secret named `secretName`. A missing secret
 * refuses everyone (a deployment mistake must not open the door); the comparison takes constant time.
 */
export function bearerAuth(secretName: "INGEST_TOKEN" | "ADMIN_TOKEN"): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = (c.env as unknown as Record<string, unknown>)[secretName];
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (typeof expected !== "string" || expected === "" || !match || !timingSafeEqual(match[1] as string, expected)) {
      throw new ApiError(401, "unauthorized", `this route needs Authorization: Bearer <${secretName}>`);
    }
    await next();
  };
}

function timingSafeEqual(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

/**
 * Feed routes are open unless the deployment sets FEED_TOKEN; then they need `Authorization: Bearer <FEED_TOKEN>`
 * like every other protected route (app backends call them, so the token is theirs to hold).
 */
export function optionalFeedAuth(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = (c.env as unknown as Record<string, unknown>).FEED_TOKEN;
    if (typeof expected !== "string" || expected === "") return next();
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
    if (!match || !timingSafeEqual(match[1] as string, expected)) throw new ApiError(401, "unauthorized", "this route needs Authorization: Bearer <FEED_TOKEN>");
    await next();
  };
}
