import { ITEMS_CSV_HEADER, itemsCsvLine, type LiveItemRecord } from "../../core/live-items/record";
import { holdServingBundle } from "../bundle/hold";
import { exportItemsRoute, foldItemsRoute, LIVE_ITEM_LIMITS, takedownRoute, upsertItemsRequest, upsertItemsRoute, type FoldResponse, type LiveItemsExport, type TakedownResponse, type UpsertItemsResponse } from "../contract/items";
import { honoPath } from "../contract/route";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { appFactory } from "../http/factory";
import { jsonBody } from "../http/validation";
import { itemDeltaStub, type DeltaSync, type ItemDelta, type TakedownResult, type UpsertResult } from "../items/item-delta";
import { embedForUpsert } from "../items/live-view";

/**
 * Live items (ADMIN_TOKEN): upsert a batch (checked against the active bundle, embedded by its item towers, stored in
 * the ItemDelta object), take one down, export the delta for the next bundle, release what that bundle folded in. Every isolate serves the change from its
 * next request on (worker/items/live-view.ts).
 */
export const itemRoutes = appFactory
  .createApp()
  .put(upsertItemsRoute.path, bearerFor(upsertItemsRoute.auth), jsonBody(upsertItemsRoute.body), holdServingBundle, async (c) => {
    const { items } = c.req.valid("json");
    const { bundle } = c.var;
    if (bundle.status !== "ready") throw new ApiError(503, "bundle_unavailable", `no model bundle is loaded, so items cannot be checked or embedded: ${bundle.reasons.join("; ")}`);
    const { tables } = bundle.decoded;
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const earlier = seen.get(item.item_id);
      if (earlier !== undefined) throw new ApiError(400, "invalid_request", `item ${item.item_id} is also items.${earlier}: one entry per id in a batch`, `items.${i}.item_id`);
      seen.set(item.item_id, i);
      if (!tables.items.authors.has(item.author_id)) throw new ApiError(400, "invalid_request", `author ${item.author_id} is not in the active bundle's catalogue (${tables.version})`, `items.${i}.author_id`);
      const bundleRow = tables.items.ids.get(item.item_id);
      if (bundleRow !== undefined && tables.items.authors.id(tables.items.author[bundleRow] as number) !== item.author_id) {
        throw new ApiError(400, "invalid_request", `item ${item.item_id} belongs to author ${tables.items.authors.id(tables.items.author[bundleRow] as number)} in the active bundle`, `items.${i}.author_id`);
      }
    });
    const records: LiveItemRecord[] = items;
    try {
      await embedForUpsert(c.env, bundle.decoded, records);
    } catch (error) {
      console.error("live items: the item towers failed", error);
      throw new ApiError(503, "item_towers_unavailable", `the active bundle's item towers could not embed the batch: ${(error as Error).message}`);
    }
    const result = await delta<UpsertResult>(c.env, (stub) => stub.upsert(records, records.map((record) => tables.items.ids.has(record.item_id))));
    if (!result.ok) throw new ApiError(507, "live_items_limit", `the live delta holds at most ${result.limit} live items (it has ${result.liveItems}; this batch would make ${result.wouldBe}); publish a bundle that folds them in (README "Live items")`, "items");
    return c.json({ version: result.version, inserted: result.inserted, updated: result.updated, live_items: result.liveItems, limits: LIVE_ITEM_LIMITS } satisfies UpsertItemsResponse);
  })
  .delete(honoPath(takedownRoute.path), bearerFor(takedownRoute.auth), holdServingBundle, async (c) => {
    const itemId = c.req.param("id") ?? "";
    const parsed = takedownRoute.params.id.safeParse(itemId);
    if (!parsed.success) throw new ApiError(400, "invalid_request", parsed.error.issues[0]?.message ?? "invalid id", "id");
    const { bundle } = c.var;
    // without a loaded bundle the id cannot be checked; a takedown then is taken as it comes (the popular fallback list
    // being served must be cleanable too)
    const known = bundle.status !== "ready" || bundle.decoded.tables.items.ids.has(itemId) || (await delta<boolean>(c.env, (stub) => stub.has(itemId)));
    if (!known) throw new ApiError(404, "not_found", `neither the active bundle nor the live delta holds item ${JSON.stringify(itemId)}`, "id");
    const result = await delta<TakedownResult>(c.env, (stub) => stub.takeDown(itemId));
    if (!result.ok) throw new ApiError(507, "takedowns_limit", `the live delta holds at most ${result.limit} takedowns; publish a bundle without the taken-down items`, "id");
    return c.json({ item_id: itemId, version: result.version, was_live: result.wasLive } satisfies TakedownResponse);
  })
  .post(foldItemsRoute.path, bearerFor(foldItemsRoute.auth), holdServingBundle, async (c) => {
    const { bundle } = c.var;
    if (bundle.status !== "ready") throw new ApiError(503, "bundle_unavailable", `no model bundle is loaded: ${bundle.reasons.join("; ")}`);
    const { items } = bundle.decoded.tables;
    const sync = await delta<DeltaSync>(c.env, (stub) => stub.sync(null, 0));
    const held = sync.entries.flatMap((entry) => (entry.record !== null && items.ids.has(entry.item_id) ? [entry.item_id] : []));
    const result = await delta<{ folded: number; liveItems: number }>(c.env, (stub) => stub.markFolded(held));
    return c.json({ bundle: bundle.decoded.tables.version, folded: result.folded, live_items: result.liveItems, limits: LIVE_ITEM_LIMITS } satisfies FoldResponse);
  })
  .get(exportItemsRoute.path, bearerFor(exportItemsRoute.auth), async (c) => {
    const sync = await delta<DeltaSync>(c.env, (stub) => stub.sync(null, 0));
    const records = sync.entries.flatMap((entry) => (entry.record === null ? [] : [entry.record]));
    const served = sync.entries.flatMap((entry) => (entry.record === null || entry.taken_down ? [] : [entry.record]));
    return c.json({
      version: sync.version,
      live_items: records,
      taken_down: sync.entries.filter((entry) => entry.taken_down).map((entry) => entry.item_id),
      items_csv: [ITEMS_CSV_HEADER, ...served.map(itemsCsvLine)].join("\n") + "\n",
      limits: LIVE_ITEM_LIMITS,
    } satisfies LiveItemsExport);
  });

/** One call to the ItemDelta object; an object that cannot answer is a 503 (the change was not stored). */
async function delta<T>(env: Env, call: (stub: DurableObjectStub<ItemDelta>) => Promise<T> | T): Promise<T> {
  try {
    return await call(itemDeltaStub(env));
  } catch (error) {
    console.error("live items: the ItemDelta object failed", error);
    throw new ApiError(503, "item_delta_unavailable", `the live delta could not be reached: ${(error as Error).message}`);
  }
}
