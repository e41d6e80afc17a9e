import { z } from "zod";
import type { QueryErrorKind } from "../../core/query";

/** The one error shape every route answers with: `{"error": {"code", "message", "field"?}}`. */
export const apiErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().meta({ description: "What went wrong, for programs: invalid_json, invalid_request, invalid_cursor, cursor_expired, unauthorized, not_found, bundle_unavailable, user_state_unavailable, internal, …" }),
    message: z.string().meta({ description: "What went wrong, for people." }),
    field: z.string().optional().meta({ description: "The offending field's path (`events.3.ts`), or `body` for the body as a whole." }),
  }),
});
export type ApiErrorBody = z.output<typeof apiErrorBody>;

const QUERY_ERROR_KINDS = ["syntax", "type", "limit", "runtime"] as const satisfies readonly QueryErrorKind[];

/** A sourcing query's problem, located in its text (core/query QueryErrorJson). */
export const queryProblem = z.strictObject({
  kind: z.enum(QUERY_ERROR_KINDS),
  code: z.string(),
  message: z.string().meta({ description: "`line L, column C: reason`." }),
  line: z.number().int(),
  column: z.number().int(),
  offset: z.number().int(),
  length: z.number().int(),
  limit: z.string().optional().meta({ description: "The limit a valid query went over." }),
});

/** `POST /v1/query`'s error body for a query's problem: the usual fields plus where in the text and which limit. */
export const queryErrorBody = z.strictObject({
  error: queryProblem.extend({
    field: z.string().meta({ description: "`query`, or the root whose seeds the request did not pass (`seed_accounts`, `seed_media`)." }),
  }),
});

/** The period of the RATE_LIMITER binding's simple limit in wrangler.toml (a test holds the two together): what `Retry-After` says. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

const ERROR_DESCRIPTIONS = {
  400: "Malformed JSON or a field that breaks the schema, whatever the Content-Type; `field` names the first offending one.",
  401: "A missing, malformed or wrong bearer token.",
  404: "Nothing goes by the name in the path (`not_found`).",
  413: "The body is longer than the route's limit (`payload_too_large`, field `body`); the message names the limit in bytes. Checked from Content-Length, and while reading a body sent without one.",
  429: "Over the client's request rate (`rate_limited`): the limit is per route class (the token it needs) and per bearer token, or per client address on a feed route without one; `Retry-After` says when to try again (" + RATE_LIMIT_PERIOD_SECONDS + " s, the limit's period).",
  500: "An unexpected failure; the message says nothing more.",
  503: "A store the route needs is unavailable (`bundle_unavailable`, `user_state_unavailable`, `experiment_unavailable`); the same request may succeed later.",
  507: "A bounded store is full (`live_items_limit`, `takedowns_limit`); the message names the limit.",
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** The error responses of a route, each with the shared body. */
export function errorResponses<const Statuses extends readonly ErrorStatus[]>(...statuses: Statuses): { [S in Statuses[number]]: { description: string; name: "Error"; schema: typeof apiErrorBody } } {
  return Object.fromEntries(statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status], name: "Error", schema: apiErrorBody }])) as { [S in Statuses[number]]: { description: string; name: "Error"; schema: typeof apiErrorBody } };
}
