import type { Env as HonoEnv, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { ApiError } from "./errors";

/**
 * Validates a JSON body with a zod schema, whatever Content-Type the client sent (Hono's own json
 * validator skips bodies without `application/json`). A body over `maxBytes` is a 413 before it is parsed
 * (Hono's body limit: from Content-Length, or counted while reading a body sent without one); malformed
 * JSON and every schema violation become a 400 naming the first offending field (`events.3.ts`, say),
 * never a 500. Read the result with `c.req.valid("json")`.
 */
export function jsonBody<Schema extends z.ZodType, E extends HonoEnv = HonoEnv>(
  contract: { readonly schema: Schema; readonly maxBytes: number },
): MiddlewareHandler<E, string, { in: { json: z.input<Schema> }; out: { json: z.output<Schema> } }> {
  const { schema, maxBytes } = contract;
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `the request body is over this route's limit of ${maxBytes} bytes`, "body");
    },
  });
  return async (c, next) => {
    // the limit's onError throws, so past this line the body is within it (and buffered when it came without a length)
    await limit(c, async () => {});
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError(400, "invalid_json", "the request body is not valid JSON", "body");
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // an unknown key is named itself, not its parent object
      const path = issue ? [...issue.path, ...(issue.code === "unrecognized_keys" ? issue.keys.slice(0, 1) : [])] : [];
      const field = path.length > 0 ? path.join(".") : "body";
      throw new ApiError(400, "invalid_request", issue?.message ?? "invalid request", field);
    }
    c.req.addValidatedData("json", parsed.data as object);
    await next();
  };
}
