import type { z } from "zod";

/** The secrets a route's bearer token is checked against (wrangler secrets, `.dev.vars` locally). */
export type TokenSecret = "INGEST_TOKEN" | "ADMIN_TOKEN" | "FEED_TOKEN";

/** A route needs `Authorization: Bearer <token>`; an `optional` one only once the deployment sets the secret. */
export interface RouteAuth {
  readonly token: TokenSecret;
  readonly optional?: boolean;
}

/** One response of a route: its JSON body's schema, named as a component of the OpenAPI document. */
export interface ResponseContract {
  readonly description: string;
  readonly name: string;
  readonly schema: z.ZodType;
}

/**
 * What a route promises: where it lives, who may call it, the body it validates and every body it answers with.
 * The route validates requests with `body` (jsonBody) and types its answers against `responses`; the OpenAPI document
 * is generated from the same schema objects, so the two cannot disagree.
 */
export interface RouteContract {
  readonly operationId: string;
  readonly method: "get" | "post" | "put" | "delete";
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly auth?: RouteAuth;
  /** The JSON body: its schema, and the most bytes the route reads (a longer body is a 413, `payload_too_large`). */
  readonly body?: { readonly name: string; readonly schema: z.ZodType; readonly maxBytes: number };
  /** The path's parameters (`/v1/admin/experiments/{name}`), each a string schema; Hono's path spells them `:name` (`honoPath`). */
  readonly params?: Readonly<Record<string, z.ZodType<string>>>;
  readonly responses: Readonly<Record<number, ResponseContract>>;
}

type DeepReadonly<T> = T extends readonly (infer Element)[] ? readonly DeepReadonly<Element>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** What a handler may answer for a response schema: readonly throughout, so core's readonly data goes out as it is. */
export type ResponseOf<Schema extends z.ZodType> = DeepReadonly<z.input<Schema>>;

/** A contract's path as Hono routes it: OpenAPI's `{name}` is Hono's `:name`. */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ":$1");
}
