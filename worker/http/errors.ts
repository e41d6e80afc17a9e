import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiErrorBody } from "../contract/errors";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}

export function errorResponse(c: Context, error: ApiError): Response {
  return c.json(error.body(), error.status);
}

/**
 * The app's error handler: ApiErrors answer with their body; Hono's own HTTPExceptions that carry a response (the
 * bearer-auth middleware builds ours) answer with it; other client errors become a `bad_request` body; anything
 * else is a logged 500 that tells the client nothing more.
 */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ApiError) return errorResponse(c, error);
  if (error instanceof HTTPException && error.res !== undefined) return error.getResponse();
  if (error instanceof HTTPException && error.status < 500) return errorResponse(c, new ApiError(error.status as 400, "bad_request", error.message || "bad request"));
  console.error("unhandled error", error);
  return errorResponse(c, new ApiError(500, "internal", "internal error"));
}
