import { describe, expect, it } from "vitest";
import { MemoryDataSource, loadDataset, splitByDate, type EventTable } from "../../../core/data";
import { LABELS } from "../../../core/data/labels";
import { trainingData } from "../../../core/eval/harness";
import { userContextOf, type FeatureContext } from "../../../core/features/context";
import { EngagementCounters, decayWeight } from "../../../core/features/counters";
import { advanceCounters, counterSnapshotTime, countImpressionRows, realtimeCountersProblem } from "../../../core/features/live-counters";
import { allocateMtmlInputs, writeMtmlRow } from "../../../core/features/mtml-features";
import { DayByDayReplay, eventLabelBits, localDayStart } from "../../../core/features/replay";
import { fitFeatures } from "../../../core/features/fit-spec";
import { allocateItemTowerInputs, writeItemTowerRow } from "../../../core/features/tower-features";
import type { UserEvent } from "../../../core/realtime/events";
import { ImpressionRowBuilder } from "../../../core/realtime/impression-rows";
import { relativeExposure } from "../../../core/ranking/value-model";
import { decodeCounters, encodeCounters } from "../../../core/serving/assets";
import { DAY0, HOUR, LOG_HEADER, kuairandFiles, logRow } from "../data/kuairand-fixture";

const DAY = 24 * HOUR;
const ITEMS = [10, 11, 12, 13];
const USERS = [1, 2, 3, 4, 5, 6];
/** The request: user 1 scores item 10 on day 4, mid-afternoon. */
const REQUEST = { user: 1, item: 10, ts: DAY0 + 4 * DAY + 15 * HOUR };

/** Five days of exposures (and one row on a sixth) with seeded labels, one of them the request's own row (training scores it like any other). */
function exposureLog(): string {
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const rows = [LOG_HEADER];
  for (let day = 0; day < 5; day++) {
    for (let n = 0; n < 40; n++) {
      const ts = DAY0 + day * DAY + Math.floor(random() * DAY);
      const click = random() < 0.4 ? 1 : 0;
      rows.push(logRow(USERS[Math.floor(random() * USERS.length)] as number, ITEMS[Math.floor(random() * ITEMS.length)] as number, ts, { click, like: click && random() < 0.5 ? 1 : 0, long_view: random() < 0.3 ? 1 : 0, hate: random() < 0.05 ? 1 : 0 }));
    }
  }
  rows.push(logRow(REQUEST.user, REQUEST.item, REQUEST.ts, { click: 1 }));
  // a day after, so that a split through day 4 has test days
  rows.push(logRow(2, 11, DAY0 + 5 * DAY + HOUR));
  return rows.join("\n");
}

/** What a client posts to /v1/events for one exposure row: the impression, then one event per label, a few seconds apart. */
function interactionEvents(events: EventTable, row: number, userId: string, itemId: string): UserEvent[] {
  const ts = events.ts[row] as number;
  const bits = eventLabelBits(events, row);
  const labels = LABELS.filter((_, l) => bits & (1 << l));
  return [
    { event_id: `${row}-i`, user_id: userId, item_id: itemId, type: "impression", ts, surface: events.surface[row] as number },
    ...labels.map((label, k): UserEvent => ({ event_id: `${row}-${label}`, user_id: userId, item_id: itemId, type: label, ts: ts + (k + 1) * 5_000, surface: events.surface[row] as number })),
  ];
}

async function scenario() {
  const dataset = await loadDataset(new MemoryDataSource(kuairandFiles({ "log_standard.csv": exposureLog() })));
  // the bundle is trained through day 2; training's own replay of the whole log goes through day 4
  const bundleWindow = trainingData(dataset, splitByDate(dataset, { trainEnd: "20220427", testStart: "20220428", testEnd: "20220429" }));
  const wholeLog = trainingData(dataset, splitByDate(dataset, { trainEnd: "20220429", testStart: "20220430", testEnd: "20220430" }));
  const fitted = fitFeatures(bundleWindow);
  const newReplay = () => new DayByDayReplay(dataset.items, dataset.items.ids.size, dataset.items.authors.size, fitted.spec.halfLifeMs, dataset.timezoneOffsetMinutes, DAY0);
  const item = dataset.items.ids.get(String(REQUEST.item)) as number;
  const user = dataset.users.ids.get(String(REQUEST.user)) as number;
  return { dataset, bundleWindow, wholeLog, fitted, newReplay, item, user };
}

describe("counters that move with time", () => {
  it("give a counter feature at serving time the value training computes for the same events and time", async () => {
    const { dataset, bundleWindow, wholeLog, fitted, newReplay, item, user } = await scenario();
    const { spec } = fitted;
    const T0 = bundleWindow.endMs;
    expect(T0).toBe(DAY0 + 3 * DAY);

    // serving: the bundle's counters as the pipeline writes them (replay of its window, advanced to its end, encoded) ...
    const bundleReplay = newReplay();
    bundleReplay.run(bundleWindow.events);
    bundleReplay.advanceTo(T0);
    const bundle = decodeCounters(encodeCounters(bundleReplay.itemCounters, bundleReplay.authorCounters), dataset.items.ids.size, dataset.items.authors.size);
    // ... and every exposure since, posted as events: days 3 and 4, the request's own day included (which must not count)
    const builder = new ImpressionRowBuilder(1);
    const rows = [];
    for (let r = 0; r < wholeLog.events.size; r++) {
      if ((wholeLog.events.ts[r] as number) < T0) continue;
      const events = interactionEvents(wholeLog.events, r, dataset.users.ids.id(wholeLog.events.user[r] as number), dataset.items.ids.id(wholeLog.events.item[r] as number));
      // an impression in one batch and its labels in the next: the builder still makes one row of them
      for (const batch of [events.slice(0, 1), events.slice(1)]) for (const change of builder.applyBatch(batch)) if (change.opened) rows.push(change.row);
    }
    const asOfMs = counterSnapshotTime(T0, spec.timezoneOffsetMinutes, REQUEST.ts);
    expect(asOfMs).toBe(DAY0 + 4 * DAY);
    const inRange = rows.filter((row) => row.ts >= T0 && row.ts < asOfMs);
    expect(inRange.length).toBeGreaterThan(20);
    expect(rows.length).toBeGreaterThan(inRange.length); // the request's day has rows, and they stay out
    const realtime = countImpressionRows(inRange, spec.halfLifeMs, asOfMs);
    expect(realtimeCountersProblem(realtime)).toBeUndefined();
    const advanced = advanceCounters({ itemCounters: bundle.items, authorCounters: bundle.authors, itemIds: dataset.items.ids, authorOfItem: dataset.items.author }, asOfMs, realtime);
    expect(advanced.realtimeImpressions).toBe(inRange.length);
    expect(advanced.unknownItems).toBe(0);
    const servingContext: FeatureContext = { spec, catalogue: dataset.items, itemEmbeddingRow: fitted.itemEmbeddingRow, authorEmbeddingRow: fitted.authorEmbeddingRow, itemCounters: advanced.items, authorCounters: advanced.authors };
    const servingInputs = allocateMtmlInputs(spec, 1);
    const servingTower = allocateItemTowerInputs(spec, 1);

    // training: the replay of the whole log, at the request row's day, writes that row as it writes every training row
    const training = newReplay();
    const requestRow = Array.from({ length: wholeLog.events.size }, (_, r) => r).find((r) => wholeLog.events.ts[r] === REQUEST.ts && wholeLog.events.item[r] === item) as number;
    const trainingInputs = allocateMtmlInputs(spec, 1);
    const trainingTower = allocateItemTowerInputs(spec, 1);
    let trainingCounters: { items: EngagementCounters; authors: EngagementCounters } | undefined;
    training.run(wholeLog.events, (_day, from, to) => {
      if (requestRow < from || requestRow >= to) return;
      const context: FeatureContext = { spec, catalogue: dataset.items, itemEmbeddingRow: fitted.itemEmbeddingRow, authorEmbeddingRow: fitted.authorEmbeddingRow, itemCounters: training.itemCounters, authorCounters: training.authorCounters };
      writeMtmlRow(context, userContextOf(dataset.users, fitted.userEmbeddingRow, user, training.activity(user)), item, 1, REQUEST.ts, trainingInputs, 0);
      writeItemTowerRow(context, item, REQUEST.ts, trainingTower, 0);
      // serving writes the row at the same time; the user's side is not this test's subject, so it reads the same
      // activity and every difference is a counter's
      writeMtmlRow(servingContext, userContextOf(dataset.users, fitted.userEmbeddingRow, user, training.activity(user)), item, 1, REQUEST.ts, servingInputs, 0);
      writeItemTowerRow(servingContext, item, REQUEST.ts, servingTower, 0);
      trainingCounters = { items: training.itemCounters.clone(), authors: training.authorCounters.clone() };
    });
    expect(trainingCounters).toBeDefined();

    // every counter, item and author, equal to float tolerance
    const trained = trainingCounters as { items: EngagementCounters; authors: EngagementCounters };
    for (const [served, expected] of [[advanced.items, trained.items], [advanced.authors, trained.authors]] as const) {
      expect(served.asOfMs).toBe(expected.asOfMs);
      expect(Array.from(served.impressions)).toEqual(Array.from(expected.impressions));
      expect(Array.from(served.positives)).toEqual(Array.from(expected.positives));
      for (let key = 0; key < served.size; key++) {
        expect(served.decayedImpressions[key]).toBeCloseTo(expected.decayedImpressions[key] as number, 12);
        expect(served.decayedClicks[key]).toBeCloseTo(expected.decayedClicks[key] as number, 12);
      }
    }
    expect(trained.items.impressions[item]).toBeGreaterThan(bundle.items.impressions[item] as number);
    // the model inputs: every MTML dense column and the item tower's, standardised as the models read them
    const names = spec.dense.names;
    names.forEach((name, c) => expect(servingInputs.dense[c], name).toBeCloseTo(trainingInputs.dense[c] as number, 5));
    expect(Array.from(servingInputs.categorical)).toEqual(Array.from(trainingInputs.categorical));
    spec.tower.itemDense.names.forEach((name, c) => expect(servingTower.dense[c], name).toBeCloseTo(trainingTower.dense[c] as number, 5));
    // and the value model's exposure share
    const mean = (counters: EngagementCounters) => counters.decayedImpressions.reduce((a, b) => a + b, 0) / counters.size;
    expect(relativeExposure(advanced.items.decayedImpressions[item] as number, mean(advanced.items))).toBeCloseTo(relativeExposure(trained.items.decayedImpressions[item] as number, mean(trained.items)), 12);
    // the frozen bundle would have been wrong here: the counters did move
    expect(bundle.items.impressions[item]).not.toBe(advanced.items.impressions[item]);
  });

  it("read at the bundle's own day are the bundle's counters: the evaluation's inputs do not move", async () => {
    const { bundleWindow, fitted } = await scenario();
    const T0 = bundleWindow.endMs;
    expect(localDayStart(T0, fitted.spec.timezoneOffsetMinutes)).toBe(T0);
    for (const at of [T0 - DAY, T0, T0 + 1, T0 + DAY - 1]) expect(counterSnapshotTime(T0, fitted.spec.timezoneOffsetMinutes, at)).toBe(T0);
    expect(counterSnapshotTime(T0, fitted.spec.timezoneOffsetMinutes, T0 + DAY)).toBe(T0 + DAY);
  });

  it("decay through one function, as 2^(−Δ/halfLife)", () => {
    expect(decayWeight(DAY, 0, DAY)).toBeCloseTo(0.5, 15);
    expect(decayWeight(DAY, 5 * DAY, 8 * DAY)).toBeCloseTo(0.125, 15);
    const counters = new EngagementCounters(1, DAY, 2 * DAY);
    counters.add(0, 0, 1);
    expect(counters.decayedClicks[0]).toBe(decayWeight(DAY, 0, 2 * DAY));
  });

  it("refuse to add counters of another instant or half-life", () => {
    const counters = new EngagementCounters(1, DAY, DAY);
    expect(() => counters.addFrom(0, new EngagementCounters(1, DAY, 2 * DAY), 0)).toThrow(/cannot add counters/);
    expect(() => counters.addFrom(0, new EngagementCounters(1, HOUR, DAY), 0)).toThrow(/cannot add counters/);
  });
});

describe("impression rows from real-time events", () => {
  const event = (type: UserEvent["type"], ts: number, extra: Partial<UserEvent> = {}): UserEvent => ({ event_id: `${type}-${ts}`, user_id: "u", item_id: "i", type, ts, surface: 1, ...extra });

  it("merge an impression and its engagements into one row, as the per-user snapshot does", () => {
    const builder = new ImpressionRowBuilder(1);
    const [opened] = builder.applyBatch([event("impression", 0)]);
    const [liked, likedAgain] = builder.applyBatch([event("like", 1_000), event("like", 2_000)]);
    expect(opened?.opened).toBe(true);
    expect(liked).toMatchObject({ opened: false, countsChanged: true });
    expect(likedAgain).toMatchObject({ opened: false, countsChanged: false });
    expect(liked?.row.seq).toBe(opened?.row.seq);
    // another surface, another user, or after the window: rows of their own
    const others = builder.applyBatch([event("click", 3_000, { surface: 2 }), event("click", 3_000, { user_id: "v" }), event("click", 2 * HOUR)]);
    expect(others.map((change) => change.opened)).toEqual([true, true, true]);
  });

  it("complete an implied impression with a late impression event, without counting it twice", () => {
    const builder = new ImpressionRowBuilder(1);
    const changes = builder.applyBatch([event("impression", 10), event("click", 5)]);
    // applied in ts order: the click opens an implied impression, the impression completes it
    expect(changes.map((change) => [change.opened, change.countsChanged])).toEqual([[true, true], [false, false]]);
  });

  it("count with training's counters: rows at the snapshot time weigh 1, a half-life earlier ½", () => {
    const counted = countImpressionRows([{ itemId: "a", ts: DAY, labels: 1 }, { itemId: "b", ts: 0, labels: 0 }, { itemId: "a", ts: 0, labels: 0 }], DAY, DAY);
    expect(counted.itemIds).toEqual(["a", "b"]);
    expect(Array.from(counted.impressions)).toEqual([2, 1]);
    expect(Array.from(counted.decayedImpressions)).toEqual([1.5, 0.5]);
    expect(Array.from(counted.decayedClicks)).toEqual([1, 0]);
  });
});

describe("real-time counters from another process", () => {
  it("are refused when malformed, naming what is wrong", () => {
    const good = countImpressionRows([{ itemId: "a", ts: 0, labels: 0 }], DAY, DAY);
    expect(realtimeCountersProblem(good)).toBeUndefined();
    expect(realtimeCountersProblem({ ...good, itemIds: "a" as unknown as string[] })).toMatch(/itemIds/);
    expect(realtimeCountersProblem({ ...good, positives: new Float64Array(3) })).toMatch(/positives is not a Float64Array of 7 values/);
    expect(realtimeCountersProblem({ ...good, impressions: [1] as unknown as Float64Array })).toMatch(/impressions/);
  });
});
