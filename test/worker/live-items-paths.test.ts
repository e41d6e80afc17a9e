// Takedowns on the paths that do not run the funnel: the off-peak precomputed feeds (KV) serve a heavy user's page
// without ranking it, and must still leave a taken-down item out from the next request on.
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { expect, it } from "vitest";
import { PRECOMPUTED_INDEX_KEY } from "../../worker/feeds/precompute";
import worker from "../../worker/index";
import "../support/fixture-types";
import { seedFixtureBundle } from "./setup/seed-bundle";

interface Page {
  items: { item_id: string }[];
  debug?: { precomputed?: { stored: number } };
}

const explore = async (userId: string, count: number): Promise<Page> =>
  (await (await exports.default.fetch("http://ranker.test/v1/explore", { method: "POST", body: JSON.stringify({ user_id: userId, count, debug: true }) })).json()) as Page;

it("leaves a taken-down item out of a precomputed feed from the next request on", async () => {
  await seedFixtureBundle();
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "0 19 * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  const userId = ((await env.FEEDS.get(PRECOMPUTED_INDEX_KEY, "json")) as { users: string[] }).users[0] as string;
  const before = await explore(userId, 6);
  expect(before.debug?.precomputed).toBeDefined();
  const [first, second] = before.items.map((item) => item.item_id);
  for (const id of [first, second] as string[]) {
    const response = await exports.default.fetch(`http://ranker.test/v1/items/${id}`, { method: "DELETE", headers: { authorization: "Bearer test-admin-token" } });
    expect(response.status).toBe(200);
  }
  const after = await explore(userId, 6);
  expect(after.debug?.precomputed).toBeDefined();
  expect(after.items.map((item) => item.item_id)).not.toContain(first);
  expect(after.items.map((item) => item.item_id)).not.toContain(second);
  expect(after.items.map((item) => item.item_id).slice(0, 4)).toEqual(before.items.slice(2, 6).map((item) => item.item_id));
});
