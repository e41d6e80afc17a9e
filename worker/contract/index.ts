import packageJson from "../../package.json";
import { deleteConfigRoute, getConfigRoute, putConfigRoute } from "./admin";
import { openApiDocument, type OpenApiDocument } from "./document";
import { eventsRoute } from "./events";
import { experimentReportRoute } from "./experiments";
import { exploreRoute, suggestedRoute } from "./feeds";
import { healthRoute } from "./health";
import { inspectRoute } from "./inspect";
import { exportItemsRoute, foldItemsRoute, takedownRoute, upsertItemsRoute } from "./items";
import { queryRoute } from "./query";
import { trendingRoute, userStateRoute } from "./realtime-state";
import type { RouteContract } from "./route";

/** Every route the Worker serves besides the pages and their assets (`/openapi.json`, `/docs`, `/inspect`). */
export const API_ROUTES: readonly RouteContract[] = [healthRoute, exploreRoute, suggestedRoute, eventsRoute, queryRoute, inspectRoute, getConfigRoute, putConfigRoute, deleteConfigRoute, experimentReportRoute, userStateRoute, trendingRoute, upsertItemsRoute, takedownRoute, exportItemsRoute, foldItemsRoute];

let document: OpenApiDocument | undefined;

/** The Worker's OpenAPI 3.1 document, built once per isolate. */
export function apiDocument(): OpenApiDocument {
  document ??= openApiDocument(
    API_ROUTES,
    {
      title: "explore-edge-ranker",
      version: packageJson.version,
      description: "An Instagram-Explore-style ranking funnel in a Cloudflare Worker: Explore and Suggested Posts feeds, real-time events, and the operators' routes. Every error answers `{\"error\": {\"code\", \"message\", \"field\"}}`.",
    },
    [
      { name: "feeds", description: "What app backends show their users." },
      { name: "events", description: "What users did, for the real-time state." },
      { name: "operations", description: "Health, sourcing queries and the inspector." },
      { name: "admin", description: "The serving config and its experiments, and live items." },
    ],
  );
  return document;
}
