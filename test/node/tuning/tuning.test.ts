// The pipeline's tuner: the held-out slice, the replay against the served funnel, the search space, and that it
// never reads a day after the training window.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset, EventTable, TrainingData } from "../../../core/data/dataset";
import { InsufficientDataError } from "../../../core/data/errors";
import { LABELS } from "../../../core/data/labels";
import { loadDataset } from "../../../core/data/load";
import { dayStartMs, localDay, trainingWindow } from "../../../core/data/split";
import { DecayedPopularity } from "../../../core/eval/baselines/popularity";
import { SOURCE_NAMES, type ServingConfig } from "../../../core/config/serving";
import { EXPLORE_STAGES, createFeedState, runFeed } from "../../../core/funnel/explore";
import { admitsUser, mergeSourceResults, mixTerms, runSource } from "../../../core/funnel/stages/retrieval";
import { NO_REALTIME_STATE } from "../../../core/funnel/types";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../../core/funnel/user";
import { createRandom } from "../../../core/util/random";
import { chooseHoldout } from "../../../models/tuning/holdout";
import { replayFeed, retrievalScores } from "../../../models/tuning/objective";
import { buildReplay, splitReplayByUser, type Replay } from "../../../models/tuning/replay";
import { applyPoint, checkSearchSpace, confirmOnCheckHalf, pointOf, tuningSearchSpaceSchema } from "../../../models/tuning/tune";
import { DEFAULT_SERVING_CONFIG } from "../../../models/serving-config";
import servingConfigFile from "../../../models/serving-config.json";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";
import { syntheticDay, writeSyntheticKuaiRand } from "../../../scripts/models/synthetic-kuairand";
import { tuneOnHeldOutSlice } from "../../../scripts/pipeline/tune-step";
import { fixtureServingBundle } from "../funnel/serving-bundle-fixture";
import { FIXTURE_DATA_OPTIONS, FIXTURE_TRAIN_END, fixtureBundleDirectory } from "../../support/fixture-bundle";

const DAY_MS = 86_400_000;

/** An event table of `times` (sorted), one event each, user i % 7, item i % 11, clicks on even rows. */
function eventsAt(times: readonly number[]): EventTable {
  return {
    size: times.length,
    user: Int32Array.from(times, (_, i) => i % 7),
    item: Int32Array.from(times, (_, i) => i % 11),
    ts: Float64Array.from(times),
    surface: new Int32Array(times.length),
    labels: { click: Uint8Array.from(times, (_, i) => (i % 2 === 0 ? 1 : 0)) },
  };
}

describe("the held-out slice", () => {
  it("is whole days when every day has events, the last share of them", () => {
    // ten days of 100 events each, UTC
    const start = Date.UTC(2022, 3, 25);
    const times = Array.from({ length: 1000 }, (_, i) => start + Math.floor(i / 100) * DAY_MS + (i % 100) * 60_000);
    const holdout = chooseHoldout(eventsAt(times), { share: 0.2, minEvents: 50, timezoneOffsetMinutes: 0 });
    expect(holdout.onDayBoundary).toBe(true);
    expect(holdout.cutMs).toBe(start + 8 * DAY_MS);
    expect(holdout.heldOut.size).toBe(200);
    expect(holdout.fit.size).toBe(800);
    expect(holdout.describe).toMatch(/20220503\.\.20220504/);
  });

  it("cuts between two events when the days are sparse (years of history), by share", () => {
    // 600 events spread over four years, a burst every ~40 days
    const start = Date.UTC(2019, 0, 1);
    const times = Array.from({ length: 600 }, (_, i) => start + Math.floor(i / 15) * 40 * DAY_MS + (i % 15) * 3_600_000);
    const holdout = chooseHoldout(eventsAt(times), { share: 0.2, minEvents: 50, timezoneOffsetMinutes: -300 });
    expect(holdout.heldOut.size + holdout.fit.size).toBe(600);
    expect(holdout.share).toBeGreaterThanOrEqual(0.1);
    expect(holdout.share).toBeLessThanOrEqual(0.4);
    expect((holdout.heldOut.ts[0] as number) >= holdout.cutMs && (holdout.fit.ts[holdout.fit.size - 1] as number) < holdout.cutMs).toBe(true);
  });

  it("says which step needs more data, and how much, when there is too little", () => {
    const tiny = eventsAt(Array.from({ length: 30 }, (_, i) => Date.UTC(2022, 0, 1) + i * 1000));
    expect(() => chooseHoldout(tiny, { share: 0.2, minEvents: 50, timezoneOffsetMinutes: 0 })).toThrow(InsufficientDataError);
    expect(() => chooseHoldout(tiny, { share: 0.2, minEvents: 50, timezoneOffsetMinutes: 0 })).toThrow(/held-out slice: needs at least 100 training events .* has 30/);
  });
});

describe("the search space in models/serving-config.json", () => {
  const space = tuningSearchSpaceSchema.parse(servingConfigFile.searchSpace);

  it("names numbers of the serving config, within bounds that contain the defaults", () => {
    expect(() => checkSearchSpace(DEFAULT_SERVING_CONFIG, space)).not.toThrow();
    for (const phase of [space.retrieval, space.value, space.ranking, space.suggested]) {
      const point = pointOf(DEFAULT_SERVING_CONFIG, phase);
      for (const d of phase) {
        expect(point[d.path], d.path).toBeGreaterThanOrEqual(d.low);
        expect(point[d.path], d.path).toBeLessThanOrEqual(d.high);
      }
    }
  });

  it("writes a point into a validated copy of the config, integers rounded, and refuses unknown paths", () => {
    const dims = [{ path: "valueModel.exposureExponent", low: 0, high: 2 }, { path: "firstStage.keep", low: 50, high: 300, integer: true }];
    const changed = applyPoint(DEFAULT_SERVING_CONFIG, dims, { "valueModel.exposureExponent": 1.25, "firstStage.keep": 137.6 });
    expect(changed.valueModel.exposureExponent).toBe(1.25);
    expect(changed.firstStage.keep).toBe(138);
    expect(DEFAULT_SERVING_CONFIG.firstStage.keep).not.toBe(138); // a copy
    expect(() => checkSearchSpace(DEFAULT_SERVING_CONFIG, { ...space, ranking: [{ path: "valueModel.nope", low: 0, high: 1 }] })).toThrow(/valueModel\.nope is not a setting/);
    // a value the config's own schema refuses fails the config, not silently
    expect(() => applyPoint(DEFAULT_SERVING_CONFIG, [{ path: "firstStage.keep", low: 0, high: 5000 }], { "firstStage.keep": 5000 })).toThrow(/firstStage\.keep/);
  });
});

describe("the replay of a held-out day, against the served funnel", () => {
  let bundle: ServingBundle;
  let replay: Replay;
  let dataset: Dataset;

  beforeAll(async () => {
    bundle = await fixtureServingBundle();
    const { data } = await fixtureBundleDirectory();
    dataset = await loadDataset(new DirectoryDataSource(data));
    // the fixture bundle is trained through FIXTURE_TRAIN_END; the next day is its held-out day
    const from = dayStartMs("test", FIXTURE_TRAIN_END, dataset.timezoneOffsetMinutes) + DAY_MS;
    const times = dataset.events.ts;
    let start = 0;
    while (start < dataset.events.size && (times[start] as number) < from) start++;
    const heldOut: EventTable = { ...dataset.events, size: dataset.events.size - start, user: dataset.events.user.subarray(start), item: dataset.events.item.subarray(start), ts: times.subarray(start), surface: dataset.events.surface.subarray(start), labels: Object.fromEntries(LABELS.filter((l) => dataset.events.labels[l]).map((l) => [l, (dataset.events.labels[l] as Uint8Array).subarray(start)])) };
    const config = bundle.tables.config;
    const maxQuotas = Object.fromEntries(SOURCE_NAMES.map((name) => [name, config.retrieval.sources[name].quota]));
    replay = await buildReplay(bundle, config, heldOut, { toBundleUser: (u) => u, toBundleItem: (i) => i }, (items) => new Float32Array(items.length * LABELS.length), new Int32Array(0), { users: 40, seed: 3, maxQuotas, count: 30 });
  }, 600_000);

  it("merges the sources as the retrieval stage does, for any weights and shorter quotas", async () => {
    const next = createRandom(17);
    const base = bundle.tables.config;
    for (let trial = 0; trial < 5; trial++) {
      const sources = Object.fromEntries(SOURCE_NAMES.map((name) => [name, { ...base.retrieval.sources[name], weight: 0.05 + next() * 3 }])) as ServingConfig["retrieval"]["sources"];
      // popular's and trending's lists are prefixes of their longer selves, so their quotas may shrink too
      sources.popular = { ...sources.popular, quota: Math.max(1, Math.floor(sources.popular.quota * (0.3 + 0.7 * next()))) };
      const config: ServingConfig = { ...base, retrieval: { ...base.retrieval, sources, maxCandidates: 20 + Math.floor(next() * 200) } };
      for (const user of replay.users.slice(0, 10)) {
        const state = await createFeedState(bundle, { ...user.request, config });
        const results = [];
        for (const name of SOURCE_NAMES) {
          if (!admitsUser(config.retrieval.sources[name], user.request.user)) continue;
          results.push({ name, result: await runSource(state, name) });
        }
        const embedding = config.retrieval.affinityWeight > 0 ? state.retrievalEmbedding : undefined;
        const served = new Map(mergeSourceResults(results, config.retrieval, bundle.tables.items.ids.size, mixTerms(bundle.tables, config, embedding)).map((c) => [c.item, c.retrievalScore]));
        const replayed = retrievalScores(user, config);
        const members = new Map<number, number>();
        replayed.forEach((score, i) => {
          if (score !== Number.NEGATIVE_INFINITY) members.set(user.items[i] as number, score);
        });
        // ties at the merge's cap may fall either way; away from them, the same items with the same scores
        const cutScore = Math.min(...served.values());
        for (const [item, score] of served) if (score > cutScore + 1e-12) expect(members.get(item)).toBeCloseTo(score, 10);
        for (const [item, score] of members) if (score > cutScore + 1e-12) expect(served.get(item)).toBeCloseTo(score, 10);
      }
    }
  });

  // The served MTML is dynamically quantized: its activations' int8 scale is set per batch, and the replay scores a
  // user's whole pool in one batch where the second stage scores the first stage's cut, so probabilities differ in
  // the third decimal and can swap two items of near-equal value. Everything else is the same arithmetic.
  it.each([
    ["the bundle's config", 0],
    ["a retrieval-order term in the prior (η = 0.7)", 0.7],
  ])("serves the same feed as the funnel, user for user, but for near ties: %s", async (_, retrievalOrderWeight) => {
    const base = bundle.tables.config;
    const config: ServingConfig = retrievalOrderWeight === 0 ? base : { ...base, valueModel: { ...base.valueModel, retrievalOrderWeight } };
    let identical = 0;
    let sameItems = 0;
    let topOverlap = 0;
    for (const user of replay.users) {
      const served = (await runFeed(bundle, { ...user.request, config }, EXPLORE_STAGES)).candidates.map((c) => c.item);
      const replayed = Array.from(replayFeed(replay, user, config));
      // a near tie at the end of the page (or of the first stage's cut) swaps one item in or out
      expect(replayed.filter((item) => served.includes(item)).length, user.id).toBeGreaterThanOrEqual(served.length - 2);
      if (new Set(replayed).size === served.length && replayed.every((item) => served.includes(item))) sameItems++;
      if (replayed.join() === served.join()) identical++;
      const top = new Set(served.slice(0, 10));
      topOverlap += replayed.slice(0, 10).filter((item) => top.has(item)).length / Math.max(1, top.size);
    }
    expect(replay.users.length).toBeGreaterThan(10);
    expect(identical / replay.users.length).toBeGreaterThanOrEqual(0.8);
    expect(sameItems / replay.users.length).toBeGreaterThanOrEqual(0.9);
    expect(topOverlap / replay.users.length).toBeGreaterThanOrEqual(0.98);
  });

  it("ranks by the retrieval order when the prior's retrieval-order term dominates", () => {
    const base = bundle.tables.config;
    const dominated: ServingConfig = { ...base, rerank: { ...base.rerank, maxPerAuthor: 100 }, exploration: { ...base.exploration, from: 1000 }, valueModel: { ...base.valueModel, retrievalOrderWeight: 10, sourceWeights: Object.fromEntries(SOURCE_NAMES.map((name) => [name, 0])) as ServingConfig["valueModel"]["sourceWeights"] } };
    let overlap = 0;
    for (const user of replay.users) {
      const retrieval = retrievalScores(user, dominated);
      const order = Array.from(retrieval.keys()).filter((i) => retrieval[i] !== Number.NEGATIVE_INFINITY && user.passesFilters[i]).sort((a, b) => (retrieval[b] as number) - (retrieval[a] as number));
      const top = new Set(order.slice(0, 10).map((i) => user.items[i] as number));
      const page = Array.from(replayFeed(replay, user, dominated, retrieval)).slice(0, 10);
      overlap += page.filter((item) => top.has(item)).length / Math.max(1, top.size);
    }
    expect(overlap / replay.users.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe("the tuning step", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "tuning-test-"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("never reads a day after the training window: poisoning those days changes nothing", async () => {
    const data = join(work, "data");
    await writeSyntheticKuaiRand(data, FIXTURE_DATA_OPTIONS);
    const dataset = await loadDataset(new DirectoryDataSource(data));
    const trainEnd = syntheticDay(3);
    const window = trainingWindow(dataset, trainEnd);
    expect(window.train.size).toBeLessThan(dataset.events.size); // there are days after the window to poison
    // every event after the window: clicked, liked, by user 0, of item 0, on another surface
    const poisoned: Dataset = { ...dataset, events: poison(dataset.events, window.trainEndMs) };
    const space = tuningSearchSpaceSchema.parse(servingConfigFile.searchSpace);
    const options = { seed: 2, method: "bayesian" as const, prior: "searched" as const, holdoutShare: 0.2, users: 120, suggestedUsers: 60, trials: { retrieval: 4, value: 4, ranking: 4, suggested: 3 }, quantization: "dynamic-int8-fp32-dense" as const, log: () => {} };
    const runs = [];
    for (const source of [dataset, poisoned]) {
      const w = trainingWindow(source, trainEnd);
      const train: TrainingData = { ...source, events: w.train, endMs: w.trainEndMs };
      runs.push(await tuneOnHeldOutSlice(source, train, DEFAULT_SERVING_CONFIG, space, options));
    }
    const [clean, dirty] = runs as [Awaited<ReturnType<typeof tuneOnHeldOutSlice>>, Awaited<ReturnType<typeof tuneOnHeldOutSlice>>];
    expect(clean.tuned).toBe(true);
    expect(dirty.config).toEqual(clean.config);
    if (!clean.tuned || !dirty.tuned) throw new Error("both runs should tune");
    const measures = (r: typeof clean) => (r.tuned ? { phases: r.report.phases, tuned: r.report.measures_tuned, holdout: r.report.holdout } : undefined);
    expect(measures(dirty)).toEqual(measures(clean));
    expect(localDay(clean.report.holdout.cut_ms, dataset.timezoneOffsetMinutes) <= trainEnd).toBe(true);
  }, 600_000);
});

function poison(events: EventTable, fromMs: number): EventTable {
  let first = 0;
  while (first < events.size && (events.ts[first] as number) < fromMs) first++;
  const copy = (array: Int32Array, value: number) => Int32Array.from(array, (v, i) => (i >= first ? value : v));
  const labels = Object.fromEntries(Object.entries(events.labels).map(([label, column]) => [label, Uint8Array.from(column as Uint8Array, (v, i) => (i >= first ? 1 : v))]));
  return { ...events, user: copy(events.user, 0), item: copy(events.item, 0), surface: copy(events.surface, 7), labels };
}

describe("the search half and the check half", () => {
  /** A replay of `users` users, each with three impressions, labels and rates marking the user's row. */
  function replayOf(users: number): Replay {
    const width = LABELS.length;
    const size = users * 3;
    const impressionUser = Int32Array.from({ length: size }, (_, i) => Math.floor(i / 3));
    const marked = (i: number) => Float32Array.from({ length: width }, () => impressionUser[i] as number);
    const perImpression = <T extends Float32Array | Uint8Array>(make: (n: number) => T, value: (i: number) => ArrayLike<number>): T => {
      const out = make(size * width);
      for (let i = 0; i < size; i++) out.set(value(i), i * width);
      return out;
    };
    return {
      users: Array.from({ length: users }, (_, u) => ({ id: `u${u}`, datasetUser: u, warm: true, positives: new Set([u]) }) as unknown as Replay["users"][number]),
      population: users,
      impressions: {
        size,
        user: impressionUser,
        item: Int32Array.from({ length: size }, (_, i) => i),
        probabilities: perImpression((n) => new Float32Array(n), marked),
        labels: perImpression((n) => new Uint8Array(n), (i) => Uint8Array.from({ length: width }, () => (impressionUser[i] as number) % 2)),
        itemRates: perImpression((n) => new Float32Array(n), marked),
      },
      catalogueSize: size,
      items: { integrity: new Float32Array(size), author: new Int32Array(size) },
      quotas: Object.fromEntries(SOURCE_NAMES.map((name) => [name, 1])) as Replay["quotas"],
      popularity: new Int32Array(0),
    };
  }

  it("splits users into two disjoint halves of about equal size, each user's impressions with the user, the same for a seed", () => {
    const replay = replayOf(2000);
    const { search, check } = splitReplayByUser(replay, 3);
    const searched = new Set(search.users.map((user) => user.datasetUser));
    const checked = new Set(check.users.map((user) => user.datasetUser));
    expect(searched.size + checked.size).toBe(2000);
    expect([...searched].some((user) => checked.has(user))).toBe(false);
    expect(Math.abs(searched.size - 1000)).toBeLessThan(100);
    for (const [half, members] of [[search, searched], [check, checked]] as const) {
      expect(half.impressions.size).toBe(members.size * 3);
      for (let i = 0; i < half.impressions.size; i++) {
        const user = half.impressions.user[i] as number;
        expect(members.has(user)).toBe(true);
        // each impression's rows travel with it
        expect(half.impressions.probabilities[i * LABELS.length]).toBe(user);
        expect(half.impressions.itemRates[i * LABELS.length + 2]).toBe(user);
        expect(half.impressions.labels[i * LABELS.length]).toBe(user % 2);
      }
    }
    expect(splitReplayByUser(replay, 3).search.users.map((user) => user.datasetUser)).toEqual(search.users.map((user) => user.datasetUser));
    expect(splitReplayByUser(replay, 4).search.users.map((user) => user.datasetUser)).not.toEqual(search.users.map((user) => user.datasetUser));
  });

  it("keeps a phase's best point only when it beats the start on the check half's folds by more than their noise", () => {
    const start = { x: 0 };
    const best = { x: 1 };
    const result = { best: { index: 3, point: best, value: 2, phase: "model" as const }, trials: [] };
    const folds = (gains: readonly number[]) => ({ folds: gains.map((gain) => (point: Readonly<Record<string, number>>) => (point.x === 1 ? 1 + gain : 1)) });
    const steady = confirmOnCheckHalf("ranking", result, start, folds([0.05, 0.06, 0.04, 0.05, 0.05]), () => {});
    expect(steady.kept).toEqual(best);
    expect(steady.check.kept).toBe("best");
    expect(steady.check.best - steady.check.start).toBeCloseTo(0.05, 12);
    // the same mean gain, but carried by one fold: within the noise, the start stays
    const lucky = confirmOnCheckHalf("ranking", result, start, folds([0.25, 0, 0, 0, 0]), () => {});
    expect(lucky.kept).toEqual(start);
    expect(lucky.check.kept).toBe("start");
    expect(lucky.check.fold_gains).toEqual([0.25, 0, 0, 0, 0]);
    // a loss on the check half keeps the start, and so does a tie
    expect(confirmOnCheckHalf("ranking", result, start, folds([-0.05, -0.06, -0.04, -0.05, -0.05]), () => {}).kept).toEqual(start);
    expect(confirmOnCheckHalf("ranking", result, start, folds([0, 0, 0, 0, 0]), () => {}).kept).toEqual(start);
    // the rails are the whole half's: a best that misses one loses its fold gains, a start that misses one is left
    const rails = (missedBy: { readonly x: number; readonly penalty: number }) => (point: Readonly<Record<string, number>>) => (point.x === missedBy.x ? -missedBy.penalty : 0);
    expect(confirmOnCheckHalf("ranking", result, start, { ...folds([0.05, 0.06, 0.04, 0.05, 0.05]), rails: rails({ x: 1, penalty: 0.1 }) }, () => {}).kept).toEqual(start);
    const rescued = confirmOnCheckHalf("ranking", result, start, { ...folds([-0.01, 0, -0.02, 0, -0.01]), rails: rails({ x: 0, penalty: 1 }) }, () => {});
    expect(rescued.kept).toEqual(best);
    expect(rescued.check.start).toBeCloseTo(0, 12);
  });
});
