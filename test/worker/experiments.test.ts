// An A/B experiment end to end inside workerd: a slice of the shipped KuaiRand log (two days of the test window,
// through the project's loader in Node) replayed through POST /v1/events under a two-arm experiment, and the per-arm
// counts of GET /v1/admin/experiments/:name checked exactly against what the log's rows imply under the same
// assignment function; the feeds name the arm a user is served under.
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { experimentSchema } from "../../core/config/experiments";
import { LABELS, type Label } from "../../core/data/labels";
import { assignArm } from "../../core/experiments/assign";
import { wilsonInterval } from "../../core/experiments/stats";
import type { InteractionType } from "../../core/realtime/events";
import type { ExperimentReport } from "../../worker/contract/experiments";
import { PRECOMPUTED_INDEX_KEY } from "../../worker/feeds/precompute";
import worker from "../../worker/index";
import "../support/fixture-types";
import "../support/log-slice-setup";
import { seedFixtureBundle } from "./setup/seed-bundle";

const BASE = "http://ranker.test";
const ADMIN = { authorization: "Bearer test-admin-token" };
const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) =>
  exports.default.fetch(`${BASE}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

const slice = inject("kuairandSlice");
const EXPERIMENT = experimentSchema.parse({
  name: "replay-kuairand",
  arms: [
    { name: "control", weight: 3 },
    { name: "fewer-per-author", weight: 2, override: { rerank: { max_per_author: 1 } } },
  ],
  startMs: slice.startMs,
});

/** The log's rows as events: an impression per row, and one event per label the row carries, at the row's time. */
const events = slice.rows.flatMap((row, index) =>
  (["impression", ...row.labels] as InteractionType[]).map((type) => ({ event_id: `kuairand-${index}-${type}`, user_id: row.user_id, item_id: row.item_id, type, ts: row.ts, surface: row.surface })),
);

async function postEvents(batch: readonly unknown[]): Promise<{ accepted: number; duplicates: number; experiments: string }> {
  const response = await send("POST", "/v1/events", { events: batch }, { authorization: "Bearer test-ingest-token" });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  await seedFixtureBundle();
  const current = (await (await send("GET", "/v1/admin/config")).json()) as { config: Record<string, unknown> };
  const stored = await send("PUT", "/v1/admin/config", { ...current.config, experiments: [EXPERIMENT] });
  expect(stored.status, await stored.clone().text()).toBe(200);
}, 120_000);

describe("an experiment over a replayed slice of the real log", () => {
  it("counts per arm exactly what the log's rows imply under the assignment", async () => {
    expect(slice.rows.length).toBeGreaterThan(3_000);
    for (let from = 0; from < events.length; from += 1_000) expect((await postEvents(events.slice(from, from + 1_000))).experiments).toBe("ok");
    // a retried batch counts nothing twice
    expect(await postEvents(events.slice(0, 1_000))).toMatchObject({ accepted: 0, duplicates: 1_000, experiments: "ok" });

    // from the rows themselves: each row one impression, each label one engagement, rows before the start left out
    const expected = new Map(EXPERIMENT.arms.map((arm) => [arm.name, { users: new Set<string>(), impressions: 0, labels: Object.fromEntries(LABELS.map((label) => [label, 0])) as Record<Label, number> }]));
    let counted = 0;
    for (const row of slice.rows) {
      if (row.ts < slice.startMs) continue;
      const arm = expected.get(assignArm(EXPERIMENT, row.user_id).name);
      if (arm === undefined) throw new Error("an arm the experiment does not have");
      arm.users.add(row.user_id);
      arm.impressions++;
      for (const label of row.labels) arm.labels[label]++;
      counted += 1 + row.labels.length;
    }
    expect(slice.rows.some((row) => row.ts < slice.startMs)).toBe(true);

    const response = await send("GET", `/v1/admin/experiments/${EXPERIMENT.name}`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as ExperimentReport;
    expect(report).toMatchObject({ experiment: EXPERIMENT.name, running: true, start_ms: slice.startMs, counted_events: counted });
    expect(report.arms.map((arm) => [arm.arm, arm.weight, arm.share])).toEqual([["control", 3, 0.6], ["fewer-per-author", 2, 0.4]]);
    for (const arm of report.arms) {
      const truth = expected.get(arm.arm);
      expect(truth, arm.arm).toBeDefined();
      if (truth === undefined) continue;
      expect(arm.users, arm.arm).toBe(truth.users.size);
      expect(arm.impressions, arm.arm).toBe(truth.impressions);
      expect(arm.events, arm.arm).toEqual({ impression: truth.impressions, ...truth.labels });
      for (const label of LABELS) {
        expect(arm.rates[label].count, `${arm.arm} ${label}`).toBe(truth.labels[label]);
        expect(arm.rates[label].rate, `${arm.arm} ${label}`).toBeCloseTo(truth.labels[label] / truth.impressions, 12);
        expect(arm.rates[label].ci95, `${arm.arm} ${label}`).toEqual(wilsonInterval(truth.labels[label], truth.impressions));
      }
    }
    // both arms drew users in about the configured proportion (loosely: a few thousand users, not 100k)
    const users = report.arms.map((arm) => arm.users);
    expect(Math.abs((users[0] as number) / ((users[0] as number) + (users[1] as number)) - 0.6)).toBeLessThan(0.05);
  }, 120_000);

  it("names in every feed response the arm the user is counted under", async () => {
    const userIds = [...new Set(slice.rows.map((row) => row.user_id))].slice(0, 6);
    const arms = new Set<string>();
    for (const userId of userIds) {
      const arm = assignArm(EXPERIMENT, userId).name;
      arms.add(arm);
      for (const feed of ["explore", "suggested"]) {
        const response = await send("POST", `/v1/${feed}`, { user_id: userId, count: 5 }, {});
        expect(response.status).toBe(200);
        expect(((await response.json()) as { experiments: unknown }).experiments, `${feed} ${userId}`).toEqual([{ experiment: EXPERIMENT.name, arm }]);
      }
    }
    expect(arms.size).toBe(2);
  }, 120_000);

  it("precomputes each heavy user's feed under their arm, so that both arms serve precomputed feeds", async () => {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "0 19 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const heavy = ((await env.FEEDS.get(PRECOMPUTED_INDEX_KEY, "json")) as { users: string[] }).users;
    const byArm = new Map<string, string>();
    for (const userId of heavy) byArm.set(assignArm(EXPERIMENT, userId).name, userId);
    expect([...byArm.keys()].sort()).toEqual(["control", "fewer-per-author"]);
    for (const [arm, userId] of byArm) {
      const body = (await (await send("POST", "/v1/explore", { user_id: userId, count: 5, debug: true }, {})).json()) as { experiments: unknown; debug: { precomputed?: unknown } };
      expect(body.experiments).toEqual([{ experiment: EXPERIMENT.name, arm }]);
      expect(body.debug.precomputed, arm).toBeDefined();
    }
  }, 120_000);

  it("refuses a config whose experiments cannot split traffic, naming the field", async () => {
    const current = (await (await send("GET", "/v1/admin/config")).json()) as { config: Record<string, unknown> };
    const arms = (weights: readonly number[]) => weights.map((weight, index) => ({ name: `arm${index}`, weight }));
    for (const [experiments, field] of [
      [[{ name: "e", arms: arms([-1, 1]) }], "experiments.0.arms.0.weight"],
      [[{ name: "e", arms: arms([0, 0]) }], "experiments.0.arms"],
      [[{ name: "e", arms: [{ name: "a", weight: 1 }, { name: "a", weight: 2 }] }], "experiments.0.arms.1.name"],
      [[{ name: "e", arms: arms([1, 1]) }, { name: "e", arms: arms([1, 1]) }], "experiments.1.name"],
    ] as const) {
      const response = await send("PUT", "/v1/admin/config", { ...current.config, experiments });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_request", field } });
    }
  });

  it("answers 404 for an experiment the config does not hold, and stops counting a stopped one", async () => {
    const missing = await send("GET", "/v1/admin/experiments/no-such-experiment");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "not_found", field: "name" } });
    const current = (await (await send("GET", "/v1/admin/config")).json()) as { config: Record<string, unknown> };
    expect((await send("PUT", "/v1/admin/config", { ...current.config, experiments: [{ ...EXPERIMENT, running: false }] })).status).toBe(200);
    const before = (await (await send("GET", `/v1/admin/experiments/${EXPERIMENT.name}`)).json()) as ExperimentReport;
    const late = { event_id: "after-stop", user_id: slice.rows[0]?.user_id, item_id: slice.rows[0]?.item_id, type: "click", ts: slice.startMs + 1, surface: 0 };
    await postEvents([late]);
    const after = (await (await send("GET", `/v1/admin/experiments/${EXPERIMENT.name}`)).json()) as ExperimentReport;
    expect(after).toMatchObject({ running: false, counted_events: before.counted_events });
    const feed = (await (await send("POST", "/v1/explore", { user_id: slice.rows[0]?.user_id, count: 3 }, {})).json()) as { experiments: unknown };
    expect(feed.experiments).toEqual([]);
  });
});
