// Calibration from feedback, served end to end in workerd (issue 18): a feed page records what the model predicted for
// each item, the impressions /v1/events takes for those items carry it to the trending object, which fits a map per
// task once an hour is closed, and the next requests are scored with it — and record the model's own prediction again.
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { LABELS, type Label } from "../../core/data/labels";
import { calibrate } from "../../core/ranking/calibration";
import { createApp } from "../../worker/app";
import { PRECOMPUTED_INDEX_KEY } from "../../worker/feeds/precompute";
import worker from "../../worker/index";
import { trendingStub, type Trending } from "../../worker/state/trending";
import { userStateStub, type UserState } from "../../worker/state/user-state";
import "../support/fixture-types";
import { seedFixtureBundle } from "./setup/seed-bundle";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface FeedItem {
  item_id: string;
  author_id: string;
  p: Record<Label, number> | null;
}

interface Feedback {
  period: string | null;
  impressions: number;
  maps: Partial<Record<Label, { a: number; b: number }>>;
  problem: string | null;
}

async function exploreBody(body: unknown, environment?: Env): Promise<{ items: FeedItem[]; debug?: { precomputed?: unknown } }> {
  const request = new Request("http://ranker.test/v1/explore", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const response = await (environment ? createApp().fetch(request, environment) : exports.default.fetch(request));
  const json = (await response.json()) as { items: FeedItem[]; debug?: { precomputed?: unknown } };
  expect(response.status, JSON.stringify(json).slice(0, 300)).toBe(200);
  return json;
}

async function explore(body: unknown, environment?: Env): Promise<FeedItem[]> {
  return (await exploreBody(body, environment)).items;
}

interface Inspection {
  feedback_calibration: Feedback;
  items: { item_id: string; p: Record<Label, number> | null }[];
}

async function inspect(body: unknown): Promise<Inspection> {
  const request = new Request("http://ranker.test/v1/inspect", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify(body) });
  const response = await exports.default.fetch(request);
  const json = (await response.json()) as Inspection;
  expect(response.status, JSON.stringify(json).slice(0, 300)).toBe(200);
  return json;
}

async function feedback(userId: string, atMs: number): Promise<Feedback> {
  return (await inspect({ user_id: userId, count: 5, at_ms: atMs })).feedback_calibration;
}

async function postEvents(events: unknown[]): Promise<void> {
  for (let start = 0; start < events.length; start += 1000) {
    const response = await exports.default.fetch(new Request("http://ranker.test/v1/events", { method: "POST", headers: { authorization: "Bearer test-ingest-token" }, body: JSON.stringify({ events: events.slice(start, start + 1000) }) }));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(((await response.json()) as { trending: string }).trending).toBe("ok");
  }
}

/** What the user's feed-session pages hold: each item's recorded prediction. */
function recordedPredictions(userId: string): Promise<Map<string, readonly number[]>> {
  return runInDurableObject(userStateStub(env, userId), (_instance: UserState, state) => {
    const found = new Map<string, readonly number[]>();
    for (const row of state.storage.sql.exec<{ items: string }>("SELECT items FROM feed_session_pages WHERE user_id = ?", userId)) {
      for (const [itemId, , p] of JSON.parse(row.items) as [string, string, number[]?][]) if (p) found.set(itemId, p);
    }
    return found;
  });
}

let hourStart = 0;
beforeAll(async () => {
  await seedFixtureBundle();
  // an hour two days after the bundle's snapshot: a day no other test of this file writes to
  hourStart = Math.floor((inject("fixtureBundle").asOfMs + 2 * DAY) / HOUR) * HOUR;
});

describe("calibration from feedback, served", () => {
  it("fits a map from served items' impressions once their hour is closed, reports the next feeds' probabilities through it, and keeps recording the model's own prediction", async () => {
    // 24 users each served a page of 100 and reporting every item seen; they click one in ten, far fewer than the model expects
    const users = Array.from({ length: 24 }, (_, u) => `feedback-user-${u}`);
    const servedAt = hourStart + 5 * 60_000;
    const pages = new Map<string, FeedItem[]>();
    for (const user of users) pages.set(user, await explore({ user_id: user, count: 100, at_ms: servedAt }));
    const served = [...pages.values()].flat();
    expect(served.length).toBeGreaterThan(2_000);
    expect(served.every((item) => item.p !== null)).toBe(true);
    const events = users.flatMap((user) =>
      (pages.get(user) as FeedItem[]).flatMap((item, i) => [
        { event_id: `${user}-imp-${i}`, user_id: user, item_id: item.item_id, type: "impression", ts: servedAt + 5 * 60_000 + i * 1_000, surface: 1 },
        ...(i % 10 === 0 ? [{ event_id: `${user}-click-${i}`, user_id: user, item_id: item.item_id, type: "click", ts: servedAt + 5 * 60_000 + i * 1_000 + 500, surface: 1 }] : []),
      ]).concat([
        // an impression of an item no page served this user carries no prediction: it does not count
        { event_id: `${user}-imp-unserved`, user_id: user, item_id: `unserved-${user}`, type: "impression", ts: servedAt + 20 * 60_000, surface: 1 },
      ]),
    );
    await postEvents(events);

    // within the next hour the impressions' hour is not closed (a click may still join its last impression)
    const early = await feedback("feedback-reader", hourStart + HOUR + 30 * 60_000);
    expect(early).toEqual({ period: new Date(hourStart + HOUR).toISOString(), impressions: 0, maps: {}, problem: null });

    const nextHour = hourStart + 2 * HOUR + 60_000;
    const fitted = await feedback("feedback-reader", nextHour);
    expect(fitted.period).toBe(new Date(hourStart + 2 * HOUR).toISOString());
    expect(fitted.impressions).toBe(served.length);
    // only click has the positives a fit needs; the other tasks are served as the bundle calibrates them
    expect(Object.keys(fitted.maps)).toEqual(["click"]);
    const clickMap = { method: "platt" as const, ...(fitted.maps.click as { a: number; b: number }) };
    // Platt's fit reproduces the observed click rate on the impressions it was fitted on
    const clickRate = [...pages.values()].reduce((sum, page) => sum + page.filter((_, i) => i % 10 === 0).length, 0) / served.length;
    const meanModel = served.reduce((sum, item) => sum + (item.p as Record<Label, number>).click, 0) / served.length;
    const meanCalibrated = served.reduce((sum, item) => sum + calibrate(clickMap, (item.p as Record<Label, number>).click), 0) / served.length;
    expect(meanModel).toBeGreaterThan(clickRate + 0.1);
    expect(meanCalibrated).toBeCloseTo(clickRate, 2);

    // the next feed reports each item's click probability through the map and the other tasks as the model says,
    // while ranking reads the model's own (compared with the same request served without the maps): same items, same order
    const newcomer = "feedback-newcomer";
    const withMaps = await explore({ user_id: newcomer, count: 50, at_ms: nextHour });
    const withoutMaps = await explore({ user_id: newcomer, count: 50, at_ms: nextHour }, { ...env, FEEDBACK_CALIBRATION: "off" });
    expect(withMaps.map((item) => item.item_id)).toEqual(withoutMaps.map((item) => item.item_id));
    const model = new Map(withoutMaps.map((item) => [item.item_id, item.p as Record<Label, number>]));
    for (const item of withMaps) {
      const p = item.p as Record<Label, number>;
      const own = model.get(item.item_id) as Record<Label, number>;
      expect(p.click).toBeCloseTo(calibrate(clickMap, own.click), 5);
      expect(p.click).not.toBeCloseTo(own.click, 2);
      for (const label of LABELS.filter((name) => name !== "click")) expect(p[label]).toBe(own[label]);
    }
    // an experiment arm (here the request's own override) may rank with the maps: the probabilities reported are the same
    const ranked = await explore({ user_id: newcomer, count: 50, at_ms: nextHour, weights: { calibration: { feedback_in_ranking: true } } });
    const reported = new Map(withMaps.map((item) => [item.item_id, item.p as Record<Label, number>]));
    let shared = 0;
    for (const item of ranked) {
      const before = reported.get(item.item_id);
      if (!before) continue;
      shared++;
      for (const label of LABELS) expect((item.p as Record<Label, number>)[label]).toBeCloseTo(before[label], 6);
    }
    expect(shared).toBeGreaterThan(25);
    // what the value model read, as the inspector shows it: the model's own by default, the maps' with the override
    const valueModelP = async (weights?: unknown) => new Map((await inspect({ user_id: newcomer, count: 10, at_ms: nextHour, ...(weights ? { weights } : {}) })).items.map((item) => [item.item_id, item.p as Record<Label, number>]));
    const byDefault = await valueModelP();
    const withOverride = await valueModelP({ calibration: { feedback_in_ranking: true } });
    // (the int8 model's outputs move by ~1e-3 with the batch it runs in, so the two runs are compared to that)
    let inspected = 0;
    for (const [itemId, p] of withOverride) {
      const own = byDefault.get(itemId);
      if (!own) continue;
      inspected++;
      expect(Math.abs(p.click - calibrate(clickMap, own.click))).toBeLessThan(3e-3);
      expect(Math.abs(p.click - own.click)).toBeGreaterThan(0.05);
    }
    expect(inspected).toBeGreaterThan(5);
    // a page precomputed off-peak holds the model's probabilities: it reports them through the maps as well
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: nextHour, cron: "0 19 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const heavy = ((await env.FEEDS.get(PRECOMPUTED_INDEX_KEY, "json")) as { users: string[] }).users[0] as string;
    const precomputed = await exploreBody({ user_id: heavy, count: 5, at_ms: nextHour + 60_000, debug: true });
    const precomputedOff = await exploreBody({ user_id: heavy, count: 5, at_ms: nextHour + 60_000, debug: true }, { ...env, FEEDBACK_CALIBRATION: "off" });
    expect(precomputed.debug?.precomputed).toBeDefined();
    expect(precomputedOff.debug?.precomputed).toBeDefined();
    expect(precomputed.items.map((item) => item.item_id)).toEqual(precomputedOff.items.map((item) => item.item_id));
    precomputed.items.forEach((item, i) => {
      const own = precomputedOff.items[i]?.p as Record<Label, number>;
      expect((item.p as Record<Label, number>).click).toBeCloseTo(calibrate(clickMap, own.click), 5);
      expect((item.p as Record<Label, number>).like).toBe(own.like);
    });
    // and every page records what the model itself predicted, for the next fits
    const recordedHeavy = await recordedPredictions(heavy);
    for (const item of precomputedOff.items) {
      const p = recordedHeavy.get(item.item_id);
      LABELS.forEach((label, l) => expect(Math.abs((p?.[l] as number) - (item.p as Record<Label, number>)[label])).toBeLessThan(2e-6 + 1e-4 * (item.p as Record<Label, number>)[label]));
    }
    const recorded = await recordedPredictions(newcomer);
    for (const item of [...withMaps, ...ranked]) {
      const own = model.get(item.item_id);
      const p = recorded.get(item.item_id);
      if (!own) continue;
      expect(p, item.item_id).toBeDefined();
      LABELS.forEach((label, l) => expect(Math.abs((p?.[l] as number) - own[label])).toBeLessThan(2e-6 + 1e-4 * own[label]));
    }
  });

  it("serves the bundle's calibration alone, and says why in the inspection, when the maps are switched off or cannot be read", async () => {
    const at = hourStart + 10 * HOUR;
    const off = await createApp().fetch(new Request("http://ranker.test/v1/inspect", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify({ user_id: "x", count: 3, at_ms: at }) }), { ...env, FEEDBACK_CALIBRATION: "off" });
    const offBody = (await off.json()) as { degraded: boolean; feedback_calibration: Feedback };
    expect(offBody.feedback_calibration).toEqual({ period: null, impressions: 0, maps: {}, problem: "off (FEEDBACK_CALIBRATION)" });
    expect(offBody.degraded).toBe(false);

    // a trending object that answers everything but the maps: the feed is served, not degraded, and the inspection says why
    const real = trendingStub(env);
    const partial = {
      countsBetween: (query: Parameters<typeof real.countsBetween>[0]) => real.countsBetween(query),
      top: (n: number, asOfMs?: number) => real.top(n, asOfMs),
      feedbackMaps: () => Promise.reject(new Error("feedback store down")),
    };
    const brokenTrending = { idFromName: (name: string) => env.TRENDING.idFromName(name), get: () => partial } as unknown as Env["TRENDING"];
    const broken = await createApp().fetch(new Request("http://ranker.test/v1/inspect", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify({ user_id: "x", count: 3, at_ms: at + HOUR }) }), { ...env, TRENDING: brokenTrending });
    const brokenBody = (await broken.json()) as { degraded: boolean; degraded_reasons: string[]; feedback_calibration: Feedback };
    expect(brokenBody.feedback_calibration.maps).toEqual({});
    expect(brokenBody.feedback_calibration.problem).toMatch(/feedback maps unavailable: .*feedback store down/);
    expect(brokenBody.degraded_reasons).toEqual([]);
    const items = await explore({ user_id: "x", count: 5, at_ms: at + HOUR }, { ...env, TRENDING: brokenTrending });
    expect(items.length).toBe(5);
  });

  it("refuses a delivered prediction that is not one probability per task", async () => {
    const delivery = (predicted: unknown) => ({ writer: "feedback-writer", batches: [{ fromSeq: 1, toSeq: 1, events: [{ event_id: "e1", user_id: "u", item_id: "i", type: "impression", ts: hourStart, surface: 1, predicted }] }] });
    await runInDurableObject(trendingStub(env), (instance: Trending) => {
      for (const bad of [[0.1, 0.2], LABELS.map(() => 1.5), LABELS.map(() => "0.1"), "0.1"]) {
        expect(() => instance.applyDeliveries([delivery(bad)] as never)).toThrow(/predicted must hold a probability per task/);
      }
    });
  });
});
