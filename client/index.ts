import createClient, { type ClientOptions } from "openapi-fetch";
import type { paths } from "./openapi-types";

export type { components, operations, paths } from "./openapi-types";

/** A fetch client typed by the Worker's OpenAPI document: paths, bodies and answers are checked at compile time. */
export function createRankerClient(options: ClientOptions) {
  return createClient<paths>(options);
}
