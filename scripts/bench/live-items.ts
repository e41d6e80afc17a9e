// Live items end to end under `wrangler dev` (workerd on 127.0.0.1): how long from `PUT /v1/items` until the item is
// in the user's next `/v1/explore`, and whether a takedown holds on the very next request. The fixture bundle is
// published to a fresh local KV; each round copies the features of the sparse user's best bundle item (the towers put
// the copy next to it) under a new id, upserts it, then asks for the user's feed until the item is there. Prints each
// round, the median and the worst, and the per-request cost of asking the ItemDelta object (Server-Timing `live`).
// Exits 1 when an item is not served within 60 s or a taken-down one comes back.
//
//   npm run bench:live-items [-- --items 10]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isKnown, itemTags } from "../../core/data/dataset";
import { publishBundle } from "../../core/bundle/store";
import { servingPublishOptions } from "../../core/serving/bundle-manifest";
import { BundleTables } from "../../core/serving/bundle-tables";
import { fixtureBundleDirectory } from "../../test/support/fixture-bundle";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { openLocalKv } from "../lib/kv-local";
import { median } from "./measure";
import { REPO_ROOT, startDevServer } from "./wrangler";

const { values } = parseArgs({ options: { items: { type: "string", default: "10" } } });
const rounds = Number(values.items);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--items must be a positive integer");
const SERVED_WITHIN_MS = 60_000;
const ADMIN_TOKEN = "bench-live-items";

interface FeedItem {
  readonly item_id: string;
  readonly author_id: string;
}

async function main(): Promise<void> {
  const { bundle: directory } = await fixtureBundleDirectory();
  const bundle = await loadBundleDirectory(directory);
  const tables = BundleTables.decode(bundle.manifest, bundle.files);
  const { items } = tables;
  // the sparsest user with some history: a live item has no co-occurrence or impressions yet (README "Live items")
  let userRow = -1;
  for (let row = 0; row < tables.users.ids.size; row++) {
    const events = (tables.histories.offsets[row + 1] as number) - (tables.histories.offsets[row] as number);
    if (events > 0 && (userRow < 0 || events < (tables.histories.offsets[userRow + 1] as number) - (tables.histories.offsets[userRow] as number))) userRow = row;
  }
  const userId = tables.users.ids.id(userRow);
  const persistTo = mkdtempSync(join(tmpdir(), "bench-live-items-kv-"));
  const local = await openLocalKv({ configPath: join(REPO_ROOT, "wrangler.toml"), persistTo, binding: "BUNDLES" });
  let failed = false;
  try {
    await publishBundle(local.kv, bundle.manifest, bundle.files, servingPublishOptions(bundle.manifest));
    const dev = await startDevServer(persistTo, 90_000, ["--var", `ADMIN_TOKEN:${ADMIN_TOKEN}`]);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    const liveMs: number[] = [];
    const feed = async (): Promise<FeedItem[]> => {
      const response = await fetch(`${dev.url}/v1/explore`, { method: "POST", body: JSON.stringify({ user_id: userId, count: 30 }) });
      if (response.status !== 200) throw new Error(`/v1/explore answered ${response.status}: ${await response.text()}`);
      const live = /(?:^|,)\s*live;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "");
      if (live) liveMs.push(Number(live[1]));
      return ((await response.json()) as { items: FeedItem[] }).items;
    };
    try {
      console.log(`user ${userId} (${(tables.histories.offsets[userRow + 1] as number) - (tables.histories.offsets[userRow] as number)} training events), ${rounds} items, feed count 30, wrangler dev at ${dev.url}`);
      await feed(); // the cold isolate's first answer is not what this measures
      const servedMs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const page = await feed();
        const lone = page.find((item) => items.ids.has(item.item_id) && page.filter((other) => other.author_id === item.author_id).length === 1) ?? page.find((item) => items.ids.has(item.item_id));
        if (!lone) throw new Error("the user's feed has no bundle item to copy");
        const row = items.ids.get(lone.item_id) as number;
        const duration = items.durationMs[row] as number;
        const itemId = `bench-live-${Date.now()}-${round}`;
        const record = {
          item_id: itemId,
          author_id: items.authors.id(items.author[row] as number),
          tags: Array.from(itemTags(items, row), (tag) => items.tags.id(tag)),
          created_at: Date.now() - 60_000,
          duration: isKnown(duration) ? duration : null,
          type: items.types.id(items.type[row] as number),
          integrity: 1,
        };
        const started = performance.now();
        const upsert = await fetch(`${dev.url}/v1/items`, { method: "PUT", headers: admin, body: JSON.stringify({ items: [record] }) });
        if (upsert.status !== 200) throw new Error(`PUT /v1/items answered ${upsert.status}: ${await upsert.text()}`);
        const upsertMs = performance.now() - started;
        let requests = 0;
        let served = false;
        while (!served && performance.now() - started < SERVED_WITHIN_MS) {
          requests++;
          served = (await feed()).some((item) => item.item_id === itemId);
        }
        const ms = performance.now() - started;
        if (!served) {
          console.log(`item ${round + 1}: ${itemId} NOT served within ${SERVED_WITHIN_MS / 1000} s (${requests} requests)`);
          failed = true;
          continue;
        }
        servedMs.push(ms);
        // take it down: the very next request must not serve it
        const takedown = await fetch(`${dev.url}/v1/items/${itemId}`, { method: "DELETE", headers: admin });
        if (takedown.status !== 200) throw new Error(`DELETE answered ${takedown.status}: ${await takedown.text()}`);
        const back = (await feed()).some((item) => item.item_id === itemId);
        if (back) failed = true;
        console.log(`item ${round + 1}: upsert ${upsertMs.toFixed(0)} ms, served after ${ms.toFixed(0)} ms (${requests} feed request${requests === 1 ? "" : "s"}, copy of ${lone.item_id}); after its takedown the next request ${back ? "STILL SERVED IT" : "left it out"}`);
      }
      if (servedMs.length > 0) console.log(`upsert → served in /v1/explore: median ${median(servedMs).toFixed(0)} ms, worst ${Math.max(...servedMs).toFixed(0)} ms over ${servedMs.length} items (bar: ${SERVED_WITHIN_MS / 1000} s)`);
      if (liveMs.length > 0) console.log(`ItemDelta check per feed request (Server-Timing live): median ${median(liveMs).toFixed(2)} ms, worst ${Math.max(...liveMs).toFixed(2)} ms over ${liveMs.length} requests`);
    } finally {
      await dev.stop();
    }
  } finally {
    await local.dispose();
    rmSync(persistTo, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

await main();
