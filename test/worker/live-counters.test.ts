// Counters that move with time, end to end in workerd: events posted to /v1/events reach the item counters that a
// later day's features and value model read (POST /v1/inspect shows them), equal to what training's counter code
// makes of the bundle's counters and the same events; and a trending object that cannot answer is reported.
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { EngagementCounters } from "../../core/features/counters";
import { LABEL_BIT } from "../../core/features/engagement";
import { localDayStart } from "../../core/features/replay";
import { decodeCatalogue, decodeCounters, ASSET_FILES } from "../../core/serving/assets";
import { createApp } from "../../worker/app";
import { trendingStub } from "../../worker/state/trending";
import "../support/fixture-types";
import { fixtureFiles, seedFixtureBundle } from "./setup/seed-bundle";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Inspection {
  degraded: boolean;
  degraded_reasons: string[];
  counters: { as_of: string; realtime_impressions: number; realtime_items: number; unknown_items: number };
  items: { item_id: string; item_counters: { impressions: number; decayed_impressions: number; decayed_clicks: number; relative_exposure: number } }[];
}

function inspect(body: unknown, environment?: Env): Promise<Response> {
  const request = new Request("http://ranker.test/v1/inspect", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify(body) });
  return environment ? Promise.resolve(createApp().fetch(request, environment)) : exports.default.fetch(request);
}

async function inspection(body: unknown, environment?: Env): Promise<Inspection> {
  const response = await inspect(body, environment);
  const json = (await response.json()) as Inspection;
  expect(response.status, JSON.stringify(json).slice(0, 300)).toBe(200);
  return json;
}

async function postEvents(events: unknown[]): Promise<void> {
  const response = await exports.default.fetch(new Request("http://ranker.test/v1/events", { method: "POST", headers: { authorization: "Bearer test-ingest-token" }, body: JSON.stringify({ events }) }));
  expect(response.status, await response.clone().text()).toBe(200);
  expect(((await response.json()) as { trending: string }).trending).toBe("ok");
}

let asOfMs = 0;
let userId = "";
beforeAll(async () => {
  await seedFixtureBundle();
  const fixture = inject("fixtureBundle");
  asOfMs = fixture.asOfMs;
  userId = fixture.expectations[0]?.userId as string;
});

describe("item counters at serving time", () => {
  it("within the bundle's own day are the bundle's; on a later day they take in the impressions /v1/events saw before that day", async () => {
    const files = fixtureFiles();
    const catalogue = decodeCatalogue(files.get(ASSET_FILES.catalogue) as Uint8Array);
    const bundleCounters = decodeCounters(files.get(ASSET_FILES.counters) as Uint8Array, catalogue.items.ids.size, catalogue.items.authors.size).items;
    const tz = inject("fixtureBundle").manifest as { feature_spec: { timezoneOffsetMinutes: number; halfLifeMs: number } };
    const { timezoneOffsetMinutes, halfLifeMs } = tz.feature_spec;
    expect(localDayStart(asOfMs, timezoneOffsetMinutes)).toBe(asOfMs);

    const sameDay = await inspection({ user_id: userId, count: 10, at_ms: asOfMs + 2 * HOUR });
    expect(sameDay.counters).toEqual({ as_of: new Date(asOfMs).toISOString(), realtime_impressions: 0, realtime_items: 0, unknown_items: 0 });
    const target = sameDay.items[0] as Inspection["items"][number];
    const row = catalogue.items.ids.get(target.item_id) as number;
    expect(target.item_counters.impressions).toBe(bundleCounters.impressions[row]);

    // other users see the item: on the day after the bundle's (impressions, clicks, one like in a batch of its own), and
    // on the day after that (the request's own day in the next read, which must not count)
    const dayOne = asOfMs + 3 * HOUR;
    const dayTwo = asOfMs + DAY + 3 * HOUR;
    const viewers = ["viewer-1", "viewer-2", "viewer-3", "viewer-4"];
    await postEvents(viewers.flatMap((viewer, v) => [
      { event_id: `${viewer}-imp`, user_id: viewer, item_id: target.item_id, type: "impression", ts: dayOne + v * 60_000, surface: 1 },
      ...(v < 3 ? [{ event_id: `${viewer}-click`, user_id: viewer, item_id: target.item_id, type: "click", ts: dayOne + v * 60_000 + 5_000, surface: 1 }] : []),
    ]));
    await postEvents([{ event_id: "viewer-1-like", user_id: "viewer-1", item_id: target.item_id, type: "like", ts: dayOne + 10_000, surface: 1 }]);
    await postEvents([{ event_id: "late-imp", user_id: "viewer-5", item_id: target.item_id, type: "impression", ts: dayTwo, surface: 1 }]);

    // what training's counter code makes of the bundle's counters and these impressions at the start of day two
    const expected = EngagementCounters.restore({ ...bundleCounters, size: bundleCounters.size });
    expected.advanceTo(dayOne + 10 * 60_000);
    viewers.forEach((_, v) => expected.add(row, dayOne + v * 60_000, (v < 3 ? LABEL_BIT.click : 0) | (v === 0 ? LABEL_BIT.like : 0)));
    expected.advanceTo(asOfMs + DAY);
    expect(expected.halfLifeMs).toBe(halfLifeMs);

    const dayTwoRead = await inspection({ user_id: userId, count: 10, at_ms: dayTwo + 2 * HOUR });
    expect(dayTwoRead.degraded_reasons).toEqual([]);
    expect(dayTwoRead.counters).toEqual({ as_of: new Date(asOfMs + DAY).toISOString(), realtime_impressions: 4, realtime_items: 1, unknown_items: 0 });
    const served = dayTwoRead.items.find((item) => item.item_id === target.item_id);
    expect(served, "the item the viewers saw is still on the page").toBeDefined();
    expect(served?.item_counters.impressions).toBe((bundleCounters.impressions[row] as number) + 4);
    expect(served?.item_counters.decayed_impressions).toBeCloseTo(expected.decayedImpressions[row] as number, 4);
    expect(served?.item_counters.decayed_clicks).toBeCloseTo(expected.decayedClicks[row] as number, 4);
    expect(served?.item_counters.relative_exposure).toBeGreaterThan(target.item_counters.relative_exposure);

    // a day later still, the impression of day two counts too
    const dayThreeRead = await inspection({ user_id: userId, count: 10, at_ms: asOfMs + 2 * DAY + HOUR });
    expect(dayThreeRead.counters.realtime_impressions).toBe(5);
  });

  it("are answered 'unchanged' until a row before the asked day changes: that day's own events change nothing", async () => {
    const query = { fromMs: asOfMs + 8 * DAY, beforeMs: asOfMs + 10 * DAY, halfLifeMs: DAY };
    const impressionAt = (id: string, ts: number) => ({ event_id: id, user_id: "revision-viewer", item_id: "revision-item", type: "impression", ts, surface: 1 });
    await postEvents([impressionAt("revision-1", asOfMs + 9 * DAY)]);
    const first = await trendingStub(env).countsBetween(query);
    expect(first.unchanged).toBe(false);
    expect((await trendingStub(env).countsBetween({ ...query, knownRevision: first.revision })).unchanged).toBe(true);
    await postEvents([impressionAt("revision-today", asOfMs + 10 * DAY)]);
    expect((await trendingStub(env).countsBetween({ ...query, knownRevision: first.revision })).unchanged).toBe(true);
    await postEvents([impressionAt("revision-late", asOfMs + 9 * DAY + 2 * HOUR)]);
    const changed = await trendingStub(env).countsBetween({ ...query, knownRevision: first.revision });
    expect(changed.unchanged).toBe(false);
    if (!changed.unchanged) expect(Array.from(changed.counters.impressions)).toEqual([2]);
  });

  it("says degraded when the real-time counts cannot be read, and serves the bundle's counters advanced", async () => {
    const failing = { countsBetween: () => Promise.reject(new Error("trending object down")), top: () => Promise.reject(new Error("trending object down")) };
    const brokenTrending = { idFromName: (name: string) => env.TRENDING.idFromName(name), get: () => failing } as unknown as Env["TRENDING"];
    const read = await inspection({ user_id: userId, count: 5, at_ms: asOfMs + 5 * DAY }, { ...env, TRENDING: brokenTrending });
    expect(read.degraded).toBe(true);
    expect(read.degraded_reasons.some((reason) => /real-time item counters unavailable: .*trending object down/.test(reason))).toBe(true);
    expect(read.counters).toMatchObject({ as_of: new Date(asOfMs + 5 * DAY).toISOString(), realtime_impressions: 0 });
  });
});
