import { z } from "zod";
import { LABELS } from "../../core/data/labels";
import { entityId, servingInstant } from "./fields";
import { apiErrorBody, errorResponses, queryErrorBody } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

export const seedAccount = z.union([entityId, z.strictObject({ id: entityId, type: z.string().min(1).max(16).optional() })]);

export const queryRequest = z.strictObject({
  /** The language's own max_query_bytes (4096) answers first, naming the limit; this only stops absurd bodies. */
  query: z.string().min(1).max(65_536).meta({ description: "A query in the sourcing query language (core/query/README.md)." }),
  user_id: entityId,
  count: z.number().int().min(1).max(5000).default(100).meta({ description: "How many of the candidates to return (all are counted in `total`)." }),
  seed_accounts: z.array(seedAccount).max(1000).optional().meta({ description: "The `seed_accounts` root's stream: author ids, optionally with a seed type." }),
  seed_media: z.array(seedAccount).max(1000).optional().meta({ description: "The `seed_media` root's stream: item ids." }),
  seed_type: z.string().min(1).max(16).optional().meta({ description: "Stamped on candidates whose seed has no type of its own." }),
  at_ms: servingInstant.optional(),
});

/** A query's execution trace: each step's counts in and out and its time, root first. */
export const queryTrace = z.strictObject({
  steps: z.array(z.strictObject({ operator: z.string(), line: z.number().int(), column: z.number().int(), countIn: z.number().int(), countOut: z.number().int(), elapsedMs: z.number() })),
  total_ms: z.number(),
});

const attributeValue = z.union([z.number(), z.string(), z.boolean()]);
const streamKind = z.enum(["user", "account", "media"]);

export const queryResponse = z.strictObject({
  request_id: z.uuid(),
  model_version: z.string(),
  user_id: z.string(),
  query: z.string().meta({ description: "The query's canonical text." }),
  total: z.number().int(),
  candidates: z.array(
    z.strictObject({
      item_id: z.string(),
      author_id: z.string(),
      score: z.number(),
      seed_id: attributeValue.nullable(),
      seed_type: z.string().nullable(),
      attributes: z.record(z.string(), attributeValue),
      path: z.array(z.strictObject({ operator: z.string(), kind: streamKind, id: z.string(), score: z.number() })),
      p: z.record(z.enum(LABELS), z.number()).nullable(),
    }),
  ),
  trace: queryTrace,
  degraded_reasons: z.array(z.string()).optional(),
});

/** Either a query's located problem or the usual error (a malformed body, seeds missing from the bundle). */
const queryFailureBody = z.union([queryErrorBody, apiErrorBody]);

export const queryRoute = {
  operationId: "query",
  method: "post",
  path: "/v1/query",
  tag: "operations",
  summary: "Run a sourcing query for a user",
  description: "Runs the query over the serving stores that Suggested Posts reads and returns its candidates with their provenance and the execution trace.",
  auth: { token: "ADMIN_TOKEN" },
  body: { name: "QueryRequest", schema: queryRequest, maxBytes: 256 * 1024 },
  responses: {
    200: { description: "The query's candidates.", name: "QueryResponse", schema: queryResponse },
    ...errorResponses(401, 413, 429, 503),
    400: { description: "A malformed body, or a query with a syntax, type or limit problem (located by line and column), or seeds that are not in the bundle.", name: "QueryError", schema: queryFailureBody },
    500: { description: "A port failed while the query ran, or an unexpected failure.", name: "QueryError", schema: queryFailureBody },
  },
} satisfies RouteContract;

export type QueryResponse = ResponseOf<typeof queryResponse>;
export type QueryCandidate = QueryResponse["candidates"][number];
export type QueryErrorBody = ResponseOf<typeof queryErrorBody>;
