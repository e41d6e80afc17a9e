import { describe, expect, it } from "vitest";
import { DataError, GENERIC_FORMAT, MemoryDataSource, UNKNOWN, itemTags, loadDataset } from "../../../core/data";

const manifest = {
  format: GENERIC_FORMAT,
  name: "tiny",
  timezone_offset_minutes: 60,
  home_surfaces: [0],
  user_features: { country: "categorical", age: "numeric" },
};

function files(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    "dataset.json": JSON.stringify(manifest),
    "events.csv": ["user_id,item_id,ts,surface,click,like,hate", "u1,a,2000,0,1,0,0", "u2,b,1000,3,0,0,1", "u1,b,3000,0,1,1,0"].join("\n"),
    "items.csv": ["item_id,author_id,tags,created_at,duration,type,integrity", "a,x,cats|dogs,500,15000,photo,0.9", "b,y,,,,video,0.2"].join("\n"),
    "users.csv": ["user_id,country,age", "u1,fr,31", "u2,,40"].join("\n"),
    ...overrides,
  };
}
const load = (f: Record<string, string>) => loadDataset(new MemoryDataSource(f, "generic"));

describe("generic data set format", () => {
  it("loads events (sorted), items, users and the manifest's settings", async () => {
    const data = await load(files());
    expect(data.name).toBe("tiny");
    expect(data.timezoneOffsetMinutes).toBe(60);
    expect(data.homeSurfaces).toEqual([0]);
    expect(data.labels).toEqual(["click", "like", "hate"]);
    expect(Array.from(data.events.ts)).toEqual([1000, 2000, 3000]);
    expect(Array.from(data.events.labels.hate ?? [])).toEqual([1, 0, 0]);
    expect(data.events.labels.long_view).toBeUndefined();
    expect(data.notes.join(" ")).toMatch(/no column for long_view, comment, forward, follow/);
    const b = data.items.ids.get("b") as number;
    expect(itemTags(data.items, data.items.ids.get("a") as number).length).toBe(2);
    expect(itemTags(data.items, b).length).toBe(0);
    expect(data.items.createdAt[b]).toBe(UNKNOWN);
    expect(data.items.durationMs[b]).toBe(UNKNOWN);
    expect(data.items.integrity[b]).toBeCloseTo(0.2, 6);
    expect(data.users.categorical[0]?.name).toBe("country");
    expect(data.users.numeric[0]?.values[data.users.ids.get("u2") as number]).toBe(40);
  });

  const badCases: [string, Record<string, string>, RegExp][] = [
    ["a wrong format tag", { "dataset.json": JSON.stringify({ ...manifest, format: "other" }) }, /dataset\.json, column "format"/],
    ["an unknown manifest key", { "dataset.json": JSON.stringify({ ...manifest, colour: "blue" }) }, /dataset\.json.*colour/],
    ["manifest that is not JSON", { "dataset.json": "{" }, /dataset\.json: not valid JSON/],
    ["integrity outside [0, 1]", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,,,photo,1.5" }, /items\.csv, line 2, column "integrity": 1\.5 is outside \[0, 1\]/],
    ["a negative duration", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,,-5,photo,1\nb,y,,,,video,1" }, /items\.csv, line 2, column "duration"/],
    ["an event for an unknown item", { "events.csv": "user_id,item_id,ts,surface,click\nu1,zzz,1,0,1" }, /events\.csv, line 2, column "item_id": item zzz is not in items\.csv/],
    ["an unknown label column", { "events.csv": "user_id,item_id,ts,surface,click,wow\nu1,a,1,0,1,1" }, /events\.csv, line 1, column "wow": unknown column/],
    ["a missing click column", { "events.csv": "user_id,item_id,ts,surface,like\nu1,a,1,0,1" }, /events\.csv, line 1, column "click": missing required column/],
    ["a fractional timestamp", { "events.csv": "user_id,item_id,ts,surface,click\nu1,a,1.5,0,1" }, /line 2, column "ts": "1\.5" is not an integer/],
    ["an undeclared user column", { "users.csv": "user_id,country,age,height\nu1,fr,31,180" }, /users\.csv, line 1, column "height": unknown column/],
    ["an empty numeric user feature", { "users.csv": "user_id,country,age\nu1,fr," }, /users\.csv, line 2, column "age": value is empty/],
  ];
  for (const [name, overrides, message] of badCases) {
    it(`reports ${name} precisely`, async () => {
      const error = await load(files(overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect((error as Error).message).toMatch(message);
    });
  }
});
