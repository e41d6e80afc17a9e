import { validator } from "hono/validator";
import type { z } from "zod";
import { ApiError } from "./errors";

/**
 * Validates a JSON body with a zod schema. Malformed JSON and every schema violation become a 400
 * naming the first offending field (`items.3.ts`, say), never a 500.
 */
export function jsonBody<Schema extends z.ZodType>(schema: Schema) {
  return validator("json", async (_value, c): Promise<z.output<Schema>> => {
    let body: unknown;
    try {
      body = await c.req.raw.clone().json();
    } catch {
      throw new ApiError(400, "invalid_json", "the request body is not valid JSON", "body");
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
      throw new ApiError(400, "invalid_request", issue?.message ?? "invalid request", field);
    }
    return parsed.data;
  });
}
