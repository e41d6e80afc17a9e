import { describe, expect, it } from "vitest";
import { DataError, GENERIC_FORMAT, MemoryDataSource, UNKNOWN, isKnown, itemTags, loadDataset, type Dataset } from "../../../core/data";
import { EngagementCounters, UserActivity, allocateMtmlInputs, fitFeatures, writeMtmlRow, type FeatureContext } from "../../../core/features";

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
    ["a negative duration", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,,-5,photo,1\nb,y,,,,video,1" }, /items\.csv, line 2, column "duration": -5 is negative: must be non-negative milliseconds, or empty/],
    ["a non-finite duration", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,,Infinity,photo,1\nb,y,,,,video,1" }, /items\.csv, line 2, column "duration": "Infinity" is not a finite number/],
    ["a non-finite created_at", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,NaN,,photo,1\nb,y,,,,video,1" }, /items\.csv, line 2, column "created_at": "NaN" is not a finite number/],
    ["a created_at outside the Date range", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,-8640000000000001,,photo,1\nb,y,,,,video,1" }, /items\.csv, line 2, column "created_at": "-8640000000000001" is out of range: .*\|value\| <= 8\.64e15/],
    ["a fractional created_at", { "items.csv": "item_id,author_id,tags,created_at,duration,type,integrity\na,x,,12.5,,photo,1\nb,y,,,,video,1" }, /items\.csv, line 2, column "created_at": "12\.5" is not an integer: a time must be integer milliseconds since the epoch/],
    ["an event for an unknown item", { "events.csv": "user_id,item_id,ts,surface,click\nu1,zzz,1,0,1" }, /events\.csv, line 2, column "item_id": item zzz is not in items\.csv/],
    ["an unknown label column", { "events.csv": "user_id,item_id,ts,surface,click,wow\nu1,a,1,0,1,1" }, /events\.csv, line 1, column "wow": unknown column/],
    ["a missing click column", { "events.csv": "user_id,item_id,ts,surface,like\nu1,a,1,0,1" }, /events\.csv, line 1, column "click": missing required column/],
    ["a fractional timestamp", { "events.csv": "user_id,item_id,ts,surface,click\nu1,a,1.5,0,1" }, /line 2, column "ts": "1\.5" is not an integer/],
    ["a timestamp after the Date range", { "events.csv": "user_id,item_id,ts,surface,click\nu1,a,8640000000000001,0,1" }, /events\.csv, line 2, column "ts": "8640000000000001" is out of range: a time must be integer milliseconds since the epoch with \|value\| <= 8\.64e15 \(the range of a JavaScript Date\)/],
    // beyond 2^53 a number is no longer an exact integer, but the problem to report is still the range
    ["a timestamp far outside the Date range", { "events.csv": "user_id,item_id,ts,surface,click\nu1,a,-1e300,0,1" }, /events\.csv, line 2, column "ts": "-1e300" is out of range/],
    ["a non-finite timestamp", { "events.csv": "user_id,item_id,ts,surface,click\nu1,a,-Infinity,0,1" }, /events\.csv, line 2, column "ts": "-Infinity" is not a finite number/],
    ["an undeclared user column", { "users.csv": "user_id,country,age,height\nu1,fr,31,180" }, /users\.csv, line 1, column "height": unknown column/],
    ["an empty numeric user feature", { "users.csv": "user_id,country,age\nu1,fr," }, /users\.csv, line 2, column "age": value is empty/],
  ];
  it("loads events and items from before 1970 (negative times), and the edges of the Date range", async () => {
    const moonLanding = Date.UTC(1969, 6, 20, 20, 17);
    const data = await load(files({
      "events.csv": [
        "user_id,item_id,ts,surface,click",
        `u1,a,${moonLanding},0,1`,
        "u2,b,-1,0,0", // one millisecond before the epoch: once the "unknown" marker, now a time like any other
        "u1,b,0,0,1",
        "u2,a,-8640000000000000,0,0",
        "u2,a,8640000000000000,0,1",
      ].join("\n"),
      "items.csv": ["item_id,author_id,tags,created_at,duration,type,integrity", `a,x,film,${Date.UTC(1927, 9, 6)},0,video,1`, "b,y,,-1,,photo,1"].join("\n"),
    }));
    expect(Array.from(data.events.ts)).toEqual([-8.64e15, moonLanding, -1, 0, 8.64e15]);
    const a = data.items.ids.get("a") as number;
    const b = data.items.ids.get("b") as number;
    expect(data.items.createdAt[a]).toBe(Date.UTC(1927, 9, 6));
    expect(data.items.createdAt[b]).toBe(-1);
    expect(isKnown(data.items.createdAt[b] as number)).toBe(true);
    expect(data.items.durationMs[a]).toBe(0);
    expect(isKnown(data.items.durationMs[b] as number)).toBe(false);
  });

  it("gives an item created before 1970 its true age, and an item of unknown age the unknown values", async () => {
    const HOUR = 3_600_000;
    const createdBefore1970 = Date.UTC(1939, 8, 1);
    const now = Date.UTC(2020, 0, 1);
    const data = await load(files({
      "events.csv": ["user_id,item_id,ts,surface,click", `u1,a,${now - 2 * HOUR},0,1`, `u2,b,${now - HOUR},0,0`, `u2,c,${now - HOUR},0,1`].join("\n"),
      "items.csv": [
        "item_id,author_id,tags,created_at,duration,type,integrity",
        `a,x,,${createdBefore1970},60000,video,1`,
        "b,y,,,,photo,1",
        `c,y,,${now - 10 * HOUR},,photo,1`,
      ].join("\n"),
    }));
    const { spec, context, user } = featureContext(data, now);
    const inputs = allocateMtmlInputs(spec, 3);
    const rows = ["a", "b", "c"].map((id) => data.items.ids.get(id) as number);
    rows.forEach((item, r) => writeMtmlRow(context, user, item, 0, now, inputs, r, false));
    const width = spec.dense.names.length;
    const logAge = spec.dense.names.indexOf("item_log_age_hours");
    const logDuration = spec.dense.names.indexOf("item_log_duration_seconds");
    expect(inputs.dense[0 * width + logAge]).toBeCloseTo(Math.log1p((now - createdBefore1970) / HOUR), 5);
    expect(inputs.dense[1 * width + logAge]).toBe(0);
    expect(inputs.dense[2 * width + logAge]).toBeCloseTo(Math.log1p(10), 5);
    expect(inputs.dense[0 * width + logDuration]).toBeCloseTo(Math.log1p(60), 5);
    expect(inputs.dense[1 * width + logDuration]).toBe(0);
    // age bucket: 80 years is past the last boundary; unknown is bucket 0; 10 hours is past the 6-hour boundary only
    const slots = spec.categorical.length;
    const ageSlot = spec.categorical.findIndex((slot) => slot.name === "age_bucket");
    const age = spec.categorical[ageSlot] as { offset: number; size: number };
    const ageBucket = (r: number) => (inputs.categorical[r * slots + ageSlot] as number) - age.offset;
    expect([ageBucket(0), ageBucket(1), ageBucket(2)]).toEqual([spec.ageBucketsMs.length + 1, 0, 2]);
    const durationSlot = spec.categorical.findIndex((slot) => slot.name === "duration_bucket");
    expect((inputs.categorical[1 * slots + durationSlot] as number) - (spec.categorical[durationSlot] as { offset: number }).offset).toBe(0);
  });

  for (const [name, overrides, message] of badCases) {
    it(`reports ${name} precisely`, async () => {
      const error = await load(files(overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect((error as Error).message).toMatch(message);
    });
  }
});

/** A feature context for a data set as of `atMs`, with no counts: enough to check the item-side features. */
function featureContext(data: Dataset, atMs: number) {
  const { spec, itemEmbeddingRow, authorEmbeddingRow, userEmbeddingRow } = fitFeatures({ ...data, endMs: atMs });
  const context: FeatureContext = {
    spec,
    catalogue: data.items,
    itemEmbeddingRow,
    authorEmbeddingRow,
    itemCounters: new EngagementCounters(data.items.ids.size, spec.halfLifeMs, atMs),
    authorCounters: new EngagementCounters(data.items.authors.size, spec.halfLifeMs, atMs),
  };
  const user = { embeddingRow: userEmbeddingRow[0] as number, categorical: [0], numeric: [0], hasFeatures: true, activity: UserActivity.from(data.items, []) };
  return { spec, context, user };
}
