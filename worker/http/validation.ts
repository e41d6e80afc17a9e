import type { Env as HonoEnv, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors";

/**
 * Validates a JSON body with a zod schema, whatever Content-Type the client sent (Hono's own json
 * validator skips bodies without `application/json`). A body over `maxBytes` is a 413 before it is parsed
 * (from Content-Length, or counted while reading a body sent without one: limitedRequest); malformed
 * JSON and every schema violation become a 400 naming the first offending field (`events.3.ts`, say),
 * never a 500. Read the result with `c.req.valid("json")`.
 */
export function jsonBody<Schema extends z.ZodType, E extends HonoEnv = HonoEnv>(
  contract: { readonly schema: Schema; readonly maxBytes: number },
): MiddlewareHandler<E, string, { in: { json: z.input<Schema> }; out: { json: z.output<Schema> } }> {
  const { schema, maxBytes } = contract;
  return async (c, next) => {
    // past this line the body is within the limit, buffered in the request
    c.req.raw = await limitedRequest(c.req.raw, maxBytes);
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
      // an empty key is spelled "" so that `field` still names it (joined bare, `{"": 1}` would name nothing)
      const field = path.length > 0 ? path.map((segment) => (segment === "" ? '""' : String(segment))).join(".") : "body";
      throw new ApiError(400, "invalid_request", issue?.message ?? "invalid request", field);
    }
    c.req.addValidatedData("json", parsed.data as object);
    await next();
  };
}

/** How much of a refused body is read and dropped (so the connection stays usable) before it is cancelled instead. */
const DRAIN_FACTOR = 4;

const tooLarge = (maxBytes: number) => new ApiError(413, "payload_too_large", `the request body is over this route's limit of ${maxBytes} bytes`, "body");

/**
 * The request with its body read into memory, refused with a 413 once it is over `maxBytes`: judged from
 * Content-Length before reading, else counted while reading (a chunked body). Hono's bodyLimit did the same but left
 * the rest of a refused body unread, and the connection it came on broke for the requests after it (under wrangler
 * dev, concurrent requests answered 503 "Your worker restarted mid-request" while 413s were being answered; found by
 * fuzzing, scripts/reliability/fuzz.ts): so a refused body is read to its end and dropped, up to DRAIN_FACTOR times
 * the limit, and cancelled beyond that, which bounds what a client can make the Worker read.
 */
async function limitedRequest(request: Request, maxBytes: number): Promise<Request> {
  const body = request.body;
  if (body === null) return request;
  const declared = request.headers.has("transfer-encoding") ? null : request.headers.get("content-length");
  const reader = body.getReader();
  if (declared !== null && Number.parseInt(declared, 10) > maxBytes) {
    await discard(reader, maxBytes);
    throw tooLarge(maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await discard(reader, maxBytes);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const buffer = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    buffer.set(chunk, offset);
    offset += chunk.byteLength;
  }
  // built afresh rather than from `request`, whose body is now used (workerd refused to copy such a request, now and then)
  return new Request(request.url, { method: request.method, headers: request.headers, body: buffer });
}

/** Reads and drops the rest of a refused body, up to DRAIN_FACTOR times the limit; past that, cancels it. */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  let drained = 0;
  try {
    while (drained <= maxBytes * DRAIN_FACTOR) {
      const { done, value } = await reader.read();
      if (done) return;
      drained += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing left to drain
  }
}
