// The event log's object format (core/event-log/format.ts, data/FORMAT.md "The event log"): keys, CSV text, quoting,
// row order and the round trip through the project's CSV reader.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvField, eventLogCsv, eventLogHour, eventLogKey, eventLogObjects, parseEventLogCsv, parseEventLogKey } from "../../../core/event-log/format";
import { INTERACTION_TYPES, type UserEvent } from "../../../core/realtime/events";

const T0 = Date.UTC(2026, 2, 4, 13, 59, 59, 999);

function event(overrides: Partial<UserEvent> = {}): UserEvent {
  return { event_id: "e1", user_id: "u1", item_id: "v1", type: "click", ts: T0, surface: 2, ...overrides };
}

describe("event log keys", () => {
  it("names the UTC hour of a time, and pads the sequence range", () => {
    expect(eventLogHour(T0)).toBe("2026030413");
    expect(eventLogHour(T0 + 1)).toBe("2026030414");
    expect(eventLogHour(Date.UTC(2022, 4, 4, 0))).toBe("2022050400");
    expect(eventLogKey({ hour: "2026030413", writer: "group_17", fromSeq: 1, toSeq: 5_000 })).toBe("events/v1/hour=2026030413/group_17-000000000001-000000005000.csv");
  });

  it("parses what it writes, and nothing else", () => {
    const parts = { hour: "2022050423", writer: "group_0", fromSeq: 42, toSeq: 99 };
    expect(parseEventLogKey(eventLogKey(parts))).toEqual(parts);
    expect(parseEventLogKey("events/v1/hour=2022050423/group_0-1-2.csv")).toEqual({ hour: "2022050423", writer: "group_0", fromSeq: 1, toSeq: 2 });
    for (const stray of ["events/v1/hour=2022050423/README.md", "events/v2/hour=2022050423/g-1-2.csv", "events/v1/hour=20220504/g-1-2.csv", "events/v1/hour=2022050423/g-1.csv"]) {
      expect(parseEventLogKey(stray)).toBeNull();
    }
  });

  it("refuses writers that would make a key ambiguous, and empty or negative ranges", () => {
    expect(() => eventLogKey({ hour: "2026030413", writer: "group-17", fromSeq: 1, toSeq: 2 })).toThrow(/writer/);
    expect(() => eventLogKey({ hour: "2026030413", writer: "a/b", fromSeq: 1, toSeq: 2 })).toThrow(/writer/);
    expect(() => eventLogKey({ hour: "2026030413", writer: "g", fromSeq: 3, toSeq: 2 })).toThrow(/empty/);
    expect(() => eventLogKey({ hour: "2026030413", writer: "g", fromSeq: -1, toSeq: 2 })).toThrow(/sequence/);
    expect(() => eventLogKey({ hour: "2026-03-04", writer: "g", fromSeq: 1, toSeq: 2 })).toThrow(/YYYYMMDDHH/);
  });
});

describe("event log CSV", () => {
  it("quotes a field only when RFC 4180 needs it", () => {
    expect(csvField("plain-id_7")).toBe("plain-id_7");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
  });

  it("writes the header, then rows sorted by (ts, event_id) whatever the input order", () => {
    const rows = [event({ event_id: "b", ts: T0 }), event({ event_id: "c", ts: T0 - 5, type: "impression", surface: 0 }), event({ event_id: "a", ts: T0, user_id: "u,2", item_id: 'x"y' })];
    const text = eventLogCsv(rows);
    expect(text).toBe(["event_id,user_id,item_id,type,ts,surface", `c,u1,v1,impression,${T0 - 5},0`, `a,"u,2","x""y",click,${T0},2`, `b,u1,v1,click,${T0},2`, ""].join("\n"));
    expect(eventLogCsv([...rows].reverse())).toBe(text);
  });

  it("reads back exactly what it wrote, for any ids and types", () => {
    const id = fc.string({ minLength: 1, maxLength: 12 }).filter((value) => value.trim() === value && value.length > 0);
    const anEvent = fc.record({
      event_id: id,
      user_id: id,
      item_id: id,
      type: fc.constantFrom(...INTERACTION_TYPES),
      ts: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 0, 1) }),
      surface: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(fc.array(anEvent, { maxLength: 20 }), (events) => {
        const back = parseEventLogCsv("object.csv", eventLogCsv(events));
        const key = (e: UserEvent) => JSON.stringify([e.ts, e.event_id, e.user_id, e.item_id, e.type, e.surface]);
        expect(back.map(key).sort()).toEqual(events.map(key).sort());
        expect(back.map((e) => e.ts)).toEqual([...back.map((e) => e.ts)].sort((a, b) => a - b));
      }),
    );
  });

  it("names the line of a malformed row", () => {
    expect(() => parseEventLogCsv("bad.csv", "event_id,user_id,item_id,type,ts,surface\ne1,u1,v1,buy,1,0\n")).toThrow(/bad\.csv, line 2, column "type"/);
    expect(() => parseEventLogCsv("bad.csv", "event_id,user_id,item_id,type,ts,surface\ne1,u1,v1,click,soon,0\n")).toThrow(/bad\.csv, line 2: .*ts/);
    expect(() => parseEventLogCsv("bad.csv", "user_id,item_id,ts\n")).toThrow(/expected the header/);
  });
});

describe("a flight's objects", () => {
  it("writes one object per UTC hour of the rows, each named by the flight's whole range", () => {
    const rows = [event({ event_id: "late", ts: T0 + 1 }), event({ event_id: "early", ts: T0 }), event({ event_id: "earlier", ts: T0 - 3_600_000 })];
    const objects = eventLogObjects("group_3", 10, 12, rows);
    expect(objects.map((object) => [object.key, object.rows])).toEqual([
      ["events/v1/hour=2026030412/group_3-000000000010-000000000012.csv", 1],
      ["events/v1/hour=2026030413/group_3-000000000010-000000000012.csv", 1],
      ["events/v1/hour=2026030414/group_3-000000000010-000000000012.csv", 1],
    ]);
    expect(parseEventLogCsv("x", (objects[1] as { body: string }).body).map((e) => e.event_id)).toEqual(["early"]);
    // deterministic: the same rows in another order give the same keys and bytes (a retried flight rewrites identically)
    expect(eventLogObjects("group_3", 10, 12, [...rows].reverse())).toEqual(objects);
  });
});
