// The event log read back as impression rows (core/event-log/impressions.ts): labels join impressions by the shared rule,
// retried events count once, hours bound what is read, and quoted ids survive the round trip through the writer's CSV.
import { describe, expect, it } from "vitest";
import { appendEvents, impressionsFromLog, logEventTable, logKeyHourStart, readEventLog, type LogObjectText } from "../../../core/event-log/impressions";
import { IdIndex } from "../../../core/data/ids";
import { LABELS } from "../../../core/data/labels";
import { eventLogObjects } from "../../../core/event-log/format";
import type { UserEvent } from "../../../core/realtime/events";

const HOUR = 3_600_000;
const H0 = Date.UTC(2022, 4, 2, 10); // 2022050210
const MINUTE = 60_000;

function ev(event_id: string, type: UserEvent["type"], ts: number, overrides: Partial<UserEvent> = {}): UserEvent {
  return { event_id, user_id: "u1", item_id: "v1", type, ts, surface: 1, ...overrides };
}

/** The log objects the Worker's writer makes of these events (one flight per call). */
function objects(events: UserEvent[], writer = "w0", fromSeq = 1): LogObjectText[] {
  return eventLogObjects(writer, fromSeq, fromSeq + events.length, events).map((o) => ({ key: o.key, text: o.body }));
}

function labelsOf(row: { labels: number }): string[] {
  return LABELS.filter((_, i) => (row.labels & (1 << i)) !== 0);
}

describe("labels join impressions", () => {
  it("a label joins the user's latest impression of the item at or before it; other users and items stay apart", () => {
    const { impressions, implied } = impressionsFromLog([
      ev("a", "impression", H0),
      ev("b", "impression", H0 + 10 * MINUTE),
      ev("c", "click", H0 + 12 * MINUTE),
      ev("d", "like", H0 + 13 * MINUTE),
      ev("e", "click", H0 + 12 * MINUTE, { user_id: "u2" }), // no impression of u2: implied at its own time
      ev("f", "impression", H0 + 5 * MINUTE, { item_id: "v2" }),
    ]);
    expect(impressions.map((row) => [row.userId, row.itemId, row.ts, labelsOf(row)])).toEqual([
      ["u1", "v1", H0, []],
      ["u1", "v2", H0 + 5 * MINUTE, []],
      ["u1", "v1", H0 + 10 * MINUTE, ["click", "like"]],
      ["u2", "v1", H0 + 12 * MINUTE, ["click"]],
    ]);
    expect(implied).toBe(1);
  });

  it("a click logged at its impression's millisecond joins it, whichever comes first in the object", () => {
    const { impressions } = impressionsFromLog([ev("c", "click", H0), ev("a", "impression", H0)]);
    expect(impressions).toHaveLength(1);
    expect(labelsOf(impressions[0]!)).toEqual(["click"]);
    expect(impressions[0]!.hasImpression).toBe(true);
  });

  it("a label long after the impression (beyond the shared impression window) opens an impression of its own", () => {
    const { impressions, implied } = impressionsFromLog([ev("a", "impression", H0), ev("b", "like", H0 + 3 * HOUR)]);
    expect(impressions.map((row) => labelsOf(row))).toEqual([[], ["like"]]);
    expect(implied).toBe(1);
  });
});

describe("deduplication", () => {
  it("counts a retried event once, by (user_id, event_id); the same id of another user is another event", () => {
    const click = ev("e1", "click", H0 + MINUTE);
    const { impressions, duplicates } = impressionsFromLog([ev("e0", "impression", H0), click, click, { ...click }, ev("e1", "click", H0 + MINUTE, { user_id: "u2" })]);
    expect(duplicates).toBe(2);
    expect(impressions).toHaveLength(2);
  });

  it("an event in two objects (a batch written again after a crash) is read once", () => {
    const batch = [ev("e0", "impression", H0), ev("e1", "click", H0 + MINUTE)];
    const read = readEventLog([...objects(batch, "w0", 1), ...objects(batch, "w0", 7)]);
    expect(read.objects).toBe(2);
    const { impressions, duplicates } = impressionsFromLog(read.events);
    expect(duplicates).toBe(2);
    expect(impressions).toHaveLength(1);
    expect(labelsOf(impressions[0]!)).toEqual(["click"]);
  });
});

describe("hours", () => {
  const events = [ev("a", "impression", H0 - 1), ev("b", "impression", H0), ev("c", "impression", H0 + HOUR - 1), ev("d", "impression", H0 + HOUR)];

  it("the writer files events by UTC hour; the reader keeps [from, to) and skips stray files", () => {
    const log = objects(events);
    expect(log.map((o) => logKeyHourStart(o.key))).toEqual([H0 - HOUR, H0, H0 + HOUR]);
    const read = readEventLog([...log, { key: "events/v1/hour=2022050210/README.md", text: "not a log" }], { fromMs: H0, toMs: H0 + HOUR });
    expect(read.events.map((e) => e.event_id)).toEqual(["b", "c"]);
    expect(read.hours).toEqual([H0]);
    expect(readEventLog(log, { fromMs: H0 + 30 * MINUTE }).events.map((e) => e.event_id)).toEqual(["c", "d"]);
    expect(readEventLog(log).events).toHaveLength(4);
  });

  it("refuses an event filed under another hour than its own", () => {
    const [object] = objects([ev("a", "impression", H0)]);
    const misfiled = { key: object!.key.replace("hour=2022050210", "hour=2022050211"), text: object!.text };
    expect(() => readEventLog([misfiled])).toThrow(/outside the object's hour/);
  });
});

describe("quoting and the data set's ids", () => {
  it("ids with commas, quotes and line breaks survive the writer and the reader", () => {
    const odd = [ev('id,"1"', "impression", H0, { user_id: 'user "a", b', item_id: "item\nwith break" }), ev("id 2", "like", H0 + 1, { user_id: 'user "a", b', item_id: "item\nwith break" })];
    const read = readEventLog(objects(odd));
    expect(read.events.map((e) => [e.event_id, e.user_id, e.item_id])).toEqual(odd.map((e) => [e.event_id, e.user_id, e.item_id]));
    const { impressions } = impressionsFromLog(read.events);
    const table = logEventTable(impressions, { items: IdIndex.from(["other", "item\nwith break"]), users: IdIndex.from(['user "a", b']) });
    expect(table.events.size).toBe(1);
    expect(table.events.item[0]).toBe(1);
    expect(table.events.labels.like?.[0]).toBe(1);
    expect(table.events.labels.click?.[0]).toBe(0);
  });

  it("leaves out impressions of unknown items and users, counted", () => {
    const { impressions } = impressionsFromLog([ev("a", "impression", H0), ev("b", "impression", H0, { item_id: "new" }), ev("c", "impression", H0, { user_id: "stranger" })]);
    const table = logEventTable(impressions, { items: IdIndex.from(["v1"]), users: IdIndex.from(["u1"]) });
    expect([table.events.size, table.unknownItems, table.unknownUsers]).toEqual([1, 1, 1]);
  });

  it("appends the log's rows after the base events, and refuses a log that starts before them", () => {
    const ids = { items: IdIndex.from(["v1"]), users: IdIndex.from(["u1"]) };
    const early = logEventTable(impressionsFromLog([ev("a", "impression", H0)]).impressions, ids).events;
    const late = logEventTable(impressionsFromLog([ev("b", "click", H0 + HOUR)]).impressions, ids).events;
    const joined = appendEvents(early, late);
    expect(Array.from(joined.ts)).toEqual([H0, H0 + HOUR]);
    expect(Array.from(joined.labels.click ?? [])).toEqual([0, 1]);
    expect(() => appendEvents(late, early)).toThrow(/starts before/);
  });
});
