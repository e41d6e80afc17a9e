import { z } from "zod";
import { liveItemSchema, MAX_LIVE_ITEMS, MAX_TAKEDOWNS, MAX_UPSERT_BATCH } from "../../core/live-items/record";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

export const upsertItemsRequest = z.strictObject({
  items: z.array(liveItemSchema).min(1).max(MAX_UPSERT_BATCH).meta({ description: `1..${MAX_UPSERT_BATCH} items in the generic format's items.csv columns (data/FORMAT.md).` }),
});

const limits = z.strictObject({
  live_items: z.number().int().meta({ description: "The most live items the delta holds (upserted ids the active bundle did not hold)." }),
  takedowns: z.number().int(),
  batch: z.number().int(),
});

export const upsertItemsResponse = z.strictObject({
  version: z.number().int().meta({ description: "The delta's version after this batch; every isolate serves it from its next request on." }),
  inserted: z.number().int(),
  updated: z.number().int(),
  live_items: z.number().int().meta({ description: "Live items in the delta now." }),
  limits,
});

export const takedownResponse = z.strictObject({
  item_id: z.string(),
  version: z.number().int(),
  was_live: z.boolean().meta({ description: "Whether the item was a live (upserted) item rather than only the bundle's." }),
});

export const liveItemsExport = z.strictObject({
  version: z.number().int(),
  live_items: z.array(liveItemSchema).meta({ description: "Every upserted item still in the delta, taken down or not, in upsert order." }),
  taken_down: z.array(z.string()).meta({ description: "Every id taken down (bundle items and live ones)." }),
  items_csv: z.string().meta({ description: "The live items that are not taken down as a generic items.csv (header included), for the next bundle's pipeline." }),
  limits,
});

const items = { tag: "admin", auth: { token: "ADMIN_TOKEN" } } as const;

export const upsertItemsRoute = {
  ...items,
  operationId: "upsertItems",
  method: "put",
  path: "/v1/items",
  summary: "Upsert live items",
  description:
    "Each item is embedded by the active bundle's item towers and served by every isolate from its next request on (two-tower and `media_nn` retrieval, the authors' media, trending once it has events). An `author_id` the active bundle does not know, or a malformed field, is a 400 naming it (`items.3.author_id`). Beyond the delta's live-item limit the whole batch is refused with 507.",
  body: { name: "UpsertItems", schema: upsertItemsRequest, maxBytes: 512 * 1024 },
  responses: { 200: { description: "The delta's new version.", name: "UpsertedItems", schema: upsertItemsResponse }, ...errorResponses(400, 401, 413, 429, 500, 503, 507) },
} satisfies RouteContract;

export const takedownRoute = {
  ...items,
  operationId: "takeDownItem",
  method: "delete",
  path: "/v1/items/{id}",
  summary: "Take an item down",
  description: "A bundle item or a live one: every isolate leaves it out of every feed from its next request on, across bundle switches too. An id neither the active bundle nor the delta knows is a 404 (while no bundle is loaded, every id is taken down as it comes).",
  params: { id: z.string().min(1).max(64).meta({ description: "The item's id." }) },
  responses: { 200: { description: "The delta's new version.", name: "TakenDownItem", schema: takedownResponse }, ...errorResponses(401, 404, 429, 500, 503, 507) },
} satisfies RouteContract;

export const exportItemsRoute = {
  ...items,
  operationId: "exportLiveItems",
  method: "get",
  path: "/v1/items",
  summary: "The live delta, for the next bundle",
  description: "Everything the delta holds, and its live items as a generic items.csv to append to the next bundle's catalogue.",
  responses: { 200: { description: "The delta.", name: "LiveItemsExport", schema: liveItemsExport }, ...errorResponses(401, 429, 500, 503) },
} satisfies RouteContract;

export const foldResponse = z.strictObject({
  bundle: z.string().meta({ description: "The active bundle's version." }),
  folded: z.number().int().meta({ description: "Live items the active bundle holds now, which stop counting against the limit." }),
  live_items: z.number().int().meta({ description: "Live items left in the delta." }),
  limits,
});

export const foldItemsRoute = {
  ...items,
  operationId: "foldLiveItems",
  method: "post",
  path: "/v1/items/fold",
  summary: "Release the live items the active bundle folded in",
  description: "Run after activating a bundle built with the delta's items.csv: the upserted items that bundle holds stop counting as live items (README \"Live items\"). Takedowns and upserted integrities keep applying.",
  responses: { 200: { description: "What was folded.", name: "FoldedLiveItems", schema: foldResponse }, ...errorResponses(401, 429, 500, 503) },
} satisfies RouteContract;

export const LIVE_ITEM_LIMITS = { live_items: MAX_LIVE_ITEMS, takedowns: MAX_TAKEDOWNS, batch: MAX_UPSERT_BATCH } as const;

export type UpsertItemsResponse = ResponseOf<typeof upsertItemsResponse>;
export type TakedownResponse = ResponseOf<typeof takedownResponse>;
export type LiveItemsExport = ResponseOf<typeof liveItemsExport>;
export type FoldResponse = ResponseOf<typeof foldResponse>;
