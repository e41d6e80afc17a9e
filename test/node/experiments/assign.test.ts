import { describe, expect, it } from "vitest";
import { parseServingConfig, servingConfigSchema } from "../../../core/config/serving";
import { experimentSchema } from "../../../core/config/experiments";
import { assignArm, assignmentPoint, attributeEvents, experimentServing, rateEstimate, wilsonInterval } from "../../../core/experiments";
import type { UserEvent } from "../../../core/realtime/events";
import { DEFAULT_SERVING_CONFIG } from "../../../models/serving-config";

const experiment = (weights: readonly number[], name = "ranker-test") => experimentSchema.parse({ name, arms: weights.map((weight, index) => ({ name: `arm${index}`, weight })) });

/** 100k ids of two shapes: the decimal ids KuaiRand uses (sequential: the hardest case for a weak hash) and uuids. */
const sequentialIds = Array.from({ length: 100_000 }, (_, i) => String(i));
const uuidIds = Array.from({ length: 100_000 }, (_, i) => `${(i * 2654435761) >>> 0}-${i.toString(36)}-user`);

function shares(arms: ReturnType<typeof experiment>, ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) {
    const arm = assignArm(arms, id).name;
    counts.set(arm, (counts.get(arm) ?? 0) + 1);
  }
  return new Map([...counts].map(([arm, count]) => [arm, count / ids.length]));
}

describe("assignment", () => {
  it("is stable: pinned points that must never change while experiments run", () => {
    // a change here moves users between arms of running experiments: change the hash only with a new experiment name
    expect([assignmentPoint("ranker-test", "712"), assignmentPoint("ranker-test", "13414"), assignmentPoint("other", "712")].map((point) => point.toFixed(9))).toEqual(["0.088119850", "0.795005384", "0.581450383"]);
    for (const id of sequentialIds.slice(0, 1000)) expect(assignArm(experiment([1, 1]), id)).toEqual(assignArm(experiment([1, 1]), id));
  });

  it.each([
    ["50/50", [1, 1]],
    ["90/10", [90, 10]],
    ["three arms 50/30/20", [5, 3, 2]],
    ["an arm at weight 0", [2, 0, 1]],
  ] as const)("splits 100k ids within 1%% of the weights: %s", (_, weights) => {
    const total = weights.reduce<number>((sum, weight) => sum + weight, 0);
    for (const ids of [sequentialIds, uuidIds]) {
      const observed = shares(experiment(weights), ids);
      weights.forEach((weight, index) => expect(Math.abs((observed.get(`arm${index}`) ?? 0) - weight / total), `arm${index}`).toBeLessThan(0.01));
    }
  });

  it("splits two experiments independently: each arm pair holds the product of the shares", () => {
    const first = experiment([1, 1], "first");
    const second = experiment([1, 1], "second");
    const pairs = new Map<string, number>();
    for (const id of sequentialIds) {
      const key = `${assignArm(first, id).name}/${assignArm(second, id).name}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
    expect(pairs.size).toBe(4);
    for (const count of pairs.values()) expect(Math.abs(count / sequentialIds.length - 0.25)).toBeLessThan(0.01);
  });
});

describe("experiments in the serving config", () => {
  const withExperiments = (experiments: unknown) => servingConfigSchema.safeParse({ ...DEFAULT_SERVING_CONFIG, experiments });
  const issueOf = (experiments: unknown) => {
    const parsed = withExperiments(experiments);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    return { path: issue?.path.join("."), message: issue?.message };
  };

  it("defaults to none, and an arm's override to the empty (control) one", () => {
    expect(DEFAULT_SERVING_CONFIG.experiments).toEqual([]);
    const parsed = withExperiments([{ name: "e1", arms: [{ name: "control", weight: 1 }, { name: "treatment", weight: 1, override: { rerank: { max_per_author: 1 } } }] }]);
    expect(parsed.data?.experiments[0]).toMatchObject({ running: true, arms: [{ override: {} }, { override: { rerank: { max_per_author: 1 } } }] });
  });

  it("refuses negative weights, weights that sum to 0, duplicate arms or experiments, bad names and unknown override fields, naming the field", () => {
    const arms = [{ name: "a", weight: 1 }, { name: "b", weight: 1 }];
    expect(issueOf([{ name: "e1", arms: [{ name: "a", weight: -1 }, { name: "b", weight: 1 }] }]).path).toBe("experiments.0.arms.0.weight");
    expect(issueOf([{ name: "e1", arms: [{ name: "a", weight: 0 }, { name: "b", weight: 0 }] }])).toMatchObject({ path: "experiments.0.arms", message: expect.stringContaining("sum to 0") });
    expect(issueOf([{ name: "e1", arms: [{ name: "a", weight: 1 }, { name: "a", weight: 1 }] }])).toMatchObject({ path: "experiments.0.arms.1.name", message: expect.stringContaining("two arms") });
    expect(issueOf([{ name: "e1", arms }, { name: "e1", arms }])).toMatchObject({ path: "experiments.1.name", message: expect.stringContaining("two experiments") });
    expect(issueOf([{ name: "E 1", arms }]).path).toBe("experiments.0.name");
    expect(issueOf([{ name: "e1", arms: [arms[0]] }]).path).toBe("experiments.0.arms");
    expect(issueOf([{ name: "e1", arms: [{ name: "a", weight: 1, override: { rerank: { max_per_autor: 2 } } }, arms[1]] }]).path).toBe("experiments.0.arms.0.override.rerank");
  });

  it("refuses two running experiments that change one setting, but not a stopped one", () => {
    const changing = (name: string, running = true) => ({ name, running, arms: [{ name: "a", weight: 1 }, { name: "b", weight: 1, override: { first_stage_keep: 50 } }] });
    expect(issueOf([changing("e1"), changing("e2")])).toMatchObject({ path: "experiments.1.arms.1.override.first_stage_keep", message: expect.stringContaining("\"e1\"") });
    expect(withExperiments([changing("e1", false), changing("e2")]).success).toBe(true);
  });
});

describe("experimentServing", () => {
  const config = parseServingConfig({
    ...DEFAULT_SERVING_CONFIG,
    experiments: [
      { name: "author-cap", arms: [{ name: "control", weight: 1 }, { name: "cap1", weight: 1, override: { rerank: { max_per_author: 1 } } }] },
      { name: "keep", arms: [{ name: "control", weight: 1 }, { name: "k50", weight: 1, override: { first_stage_keep: 50 } }] },
      { name: "stopped", running: false, arms: [{ name: "a", weight: 1 }, { name: "b", weight: 1 }] },
    ],
  });

  it("names every running experiment's arm and serves the config they make, one object per arm combination", () => {
    const byArms = new Map<string, string>();
    for (const id of sequentialIds.slice(0, 200)) {
      const served = experimentServing(config, id);
      expect(served.arms.map((arm) => arm.experiment)).toEqual(["author-cap", "keep"]);
      const [cap, keep] = served.arms.map((arm) => arm.arm);
      expect(cap).toBe(assignArm(config.experiments[0] as never, id).name);
      expect(served.config.rerank.maxPerAuthor).toBe(cap === "cap1" ? 1 : config.rerank.maxPerAuthor);
      expect(served.config.firstStage.keep).toBe(keep === "k50" ? 50 : config.firstStage.keep);
      expect(served.problems).toEqual([]);
      expect(experimentServing(config, id).config).toBe(served.config);
      byArms.set(JSON.stringify(served.arms), id);
    }
    expect(byArms.size).toBe(4);
    const control = [...byArms].find(([key]) => !key.includes("cap1") && !key.includes("k50"));
    expect(experimentServing(config, control?.[1] as string).config).toBe(config);
  });

  it("serves a config without experiments as it is", () => {
    expect(experimentServing(DEFAULT_SERVING_CONFIG, "u1")).toEqual({ config: DEFAULT_SERVING_CONFIG, arms: [], problems: [] });
  });
});

describe("attributeEvents", () => {
  const events: UserEvent[] = [
    { event_id: "e1", user_id: "1", item_id: "i", type: "impression", ts: 1_000, surface: 0 },
    { event_id: "e2", user_id: "2", item_id: "i", type: "click", ts: 2_000, surface: 0 },
    { event_id: "e3", user_id: "1", item_id: "i", type: "like", ts: 3_000, surface: 0 },
  ];

  it("counts each event under its user's arm, from the start on, and nothing once stopped", () => {
    const e = experimentSchema.parse({ name: "e", arms: [{ name: "a", weight: 1 }, { name: "b", weight: 1 }] });
    expect(attributeEvents(e, events)).toEqual(events.map((event) => ({ event_id: event.event_id, user_id: event.user_id, type: event.type, arm: assignArm(e, event.user_id).name })));
    expect(attributeEvents({ ...e, startMs: 2_000 }, events).map((event) => event.event_id)).toEqual(["e2", "e3"]);
    expect(attributeEvents({ ...e, running: false }, events)).toEqual([]);
  });
});

describe("wilsonInterval", () => {
  it("matches worked values and stays inside [0, 1]", () => {
    const [low, high] = wilsonInterval(10, 100) ?? [NaN, NaN];
    expect(low).toBeCloseTo(0.0552, 4);
    expect(high).toBeCloseTo(0.1744, 4);
    expect(wilsonInterval(0, 50)?.[0]).toBe(0);
    expect(wilsonInterval(50, 50)?.[1]).toBe(1);
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(wilsonInterval(3, 2)).toBeNull();
    expect(rateEstimate(3, 0)).toEqual({ count: 3, rate: null, ci95: null });
  });
});
