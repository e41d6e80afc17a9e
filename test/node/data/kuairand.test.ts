import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DataError, MemoryDataSource, UNKNOWN, itemTags, loadDataset } from "../../../core/data";
import { DirectoryDataSource } from "../../../scripts/lib/directory-source";
import { DAY0, HOUR, LOG_HEADER, kuairandFiles, logRow } from "./kuairand-fixture";

const load = (files: Record<string, string>) => loadDataset(new MemoryDataSource(files, "fixture"));

describe("KuaiRand adapter", () => {
  it("maps logs, items and users into the generic tables, sorted by time", async () => {
    const data = await load(kuairandFiles());
    expect(data.events.size).toBe(4);
    expect(Array.from(data.events.ts)).toEqual([DAY0 + HOUR, DAY0 + 2 * HOUR, DAY0 + 30 * HOUR, DAY0 + 50 * HOUR]);
    expect(Array.from(data.events.item, (row) => data.items.ids.id(row))).toEqual(["10", "10", "11", "12"]);
    expect(Array.from(data.events.labels.click ?? [])).toEqual([1, 0, 1, 1]);
    expect(Array.from(data.events.labels.long_view ?? [])).toEqual([1, 0, 0, 0]);
    expect(Array.from(data.events.labels.like ?? [])).toEqual([0, 0, 1, 0]);
    expect(Array.from(data.events.labels.hate ?? [])).toEqual([0, 0, 0, 1]);
    expect(Array.from(data.events.surface)).toEqual([1, 0, 1, 1]);
    expect(data.homeSurfaces).toEqual([1]);
    expect(data.timezoneOffsetMinutes).toBe(480);

    const items = data.items;
    expect(items.ids.size).toBe(4);
    const row10 = items.ids.get("10") as number;
    const row11 = items.ids.get("11") as number;
    const row12 = items.ids.get("12") as number;
    expect(Array.from(itemTags(items, row10), (t) => items.tags.id(t))).toEqual(["3", "9"]);
    expect(itemTags(items, row12).length).toBe(0);
    expect(items.authors.id(items.author[row12] as number)).toBe("500");
    expect(items.durationMs[row11]).toBe(UNKNOWN);
    expect(items.durationMs[row10]).toBe(10000);
    expect(items.createdAt[row10]).toBe(Date.UTC(2022, 3, 10) - 8 * HOUR);
    expect(items.types.id(items.type[row12] as number)).toBe("AD");
    // integrity: 1 - percentile of (report + reduce_similar) / viewers; item 13 is cleanest, item 12 worst
    expect(items.integrity[items.ids.get("13") as number]).toBe(1);
    expect(items.integrity[row12]).toBe(0);
    expect(items.integrity[row10]).toBeCloseTo(2 / 3, 6);
  });

  it("keeps users without a feature row, with empty features, and says so", async () => {
    const data = await load(kuairandFiles());
    const user3 = data.users.ids.get("3") as number;
    expect(data.users.hasFeatures[user3]).toBe(0);
    const degree = data.users.categorical.find((f) => f.name === "user_active_degree");
    expect(degree?.values.id(degree.codes[user3] as number)).toBe("");
    expect(degree?.values.id(degree.codes[data.users.ids.get("1") as number] as number)).toBe("full_active");
    expect(data.users.numeric.find((f) => f.name === "register_days")?.values[data.users.ids.get("2") as number]).toBe(100);
    expect(data.notes.join(" ")).toMatch(/1 users .* no row in user_features.csv/);
  });

  it("reads every log_*.csv in the directory", async () => {
    const data = await load(kuairandFiles({ "log_random.csv": [LOG_HEADER, logRow(2, 13, DAY0 + 3 * HOUR, { click: 1 })].join("\n") }));
    expect(data.events.size).toBe(5);
    expect(data.items.ids.id(data.events.item[2] as number)).toBe("13");
  });

  const badCases: [string, Record<string, string>, RegExp][] = [
    ["a row with too few fields", { "log_standard.csv": [LOG_HEADER, logRow(1, 10, DAY0), "1,10,20220425"].join("\n") }, /log_standard\.csv, line 3: expected 19 fields/],
    ["an unknown header column", { "log_standard.csv": [`${LOG_HEADER},extra`, `${logRow(1, 10, DAY0)},1`].join("\n") }, /log_standard\.csv, line 1, column "extra": unknown column/],
    ["a missing header column", { "log_standard.csv": [LOG_HEADER.replace(",tab", ""), logRow(1, 10, DAY0).replace(/,1$/, "")].join("\n") }, /column "tab": missing required column/],
    ["a non-numeric time", { "log_standard.csv": [LOG_HEADER, logRow(1, 10, DAY0).replace(String(DAY0), "soon")].join("\n") }, /line 2, column "time_ms": "soon" is not a finite number/],
    ["a label that is not 0/1", { "log_standard.csv": [LOG_HEADER, logRow(1, 10, DAY0, { click: 2 as 1 })].join("\n") }, /line 2, column "is_click": "2" is not a 0\/1 label/],
    ["an empty label", { "log_standard.csv": [LOG_HEADER, logRow(1, 10, DAY0).replace(/^(\d+,\d+,\d+,\d+,\d+),0,/, "$1,,")].join("\n") }, /line 2, column "is_click": value is empty/],
    ["an unknown video", { "log_standard.csv": [LOG_HEADER, logRow(1, 99, DAY0)].join("\n") }, /line 2, column "video_id": video 99 is not in video_features_basic\.csv/],
    ["an unclosed quote", { "video_features_basic.csv": kuairandFiles()["video_features_basic.csv"]!.replace('"3,9"', '"3,9') }, /video_features_basic\.csv, line 2: a quoted field is not closed/],
    ["a bad upload date", { "video_features_basic.csv": kuairandFiles()["video_features_basic.csv"]!.replace("2022-04-11", "11/04/2022") }, /line 3, column "upload_dt": "11\/04\/2022" is not a YYYY-MM-DD date/],
    ["a negative duration", { "video_features_basic.csv": kuairandFiles()["video_features_basic.csv"]!.replace(",10000.0,", ",-5.0,") }, /video_features_basic\.csv, line 2, column "video_duration": -5 is negative/],
    ["a time outside the Date range", { "log_standard.csv": [LOG_HEADER, logRow(1, 10, 9e15)].join("\n") }, /line 2, column "time_ms": "9000000000000000" is out of range/],
    ["a non-numeric user feature", { "user_features.csv": kuairandFiles()["user_features.csv"]!.replace(",100,91-180", ",many,91-180") }, /user_features\.csv, line 2, column "register_days": "many" is not a finite number/],
    ["a duplicated video", { "video_features_basic.csv": `${kuairandFiles()["video_features_basic.csv"]!}\n13,502,NORMAL,2022-04-12,Web,0.0,5000.0,720.0,1280.0,4,9.0,9` }, /line 6, column "video_id": video 13 appears twice/],
  ];
  for (const [name, overrides, message] of badCases) {
    it(`names file, line and column for ${name}`, async () => {
      const error = await load(kuairandFiles(overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it("names a missing file", async () => {
    const files = kuairandFiles();
    delete files["user_features.csv"];
    await expect(load(files)).rejects.toThrow(/fixture\/user_features\.csv: missing file/);
  });

  it("refuses a directory that is neither format", async () => {
    await expect(load({ "notes.txt": "hello" })).rejects.toThrow(/not a data set/);
  });
});

describe("the Node directory adapter", () => {
  it("reads .csv.gz as .csv and names the stored file in errors", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kuairand-"));
    const files = kuairandFiles({ "log_standard.csv": [LOG_HEADER, logRow(1, 10, DAY0), "broken"].join("\n") });
    for (const [name, text] of Object.entries(files)) {
      if (name.startsWith("log_")) await writeFile(join(dir, `${name}.gz`), gzipSync(text));
      else await writeFile(join(dir, name), text);
    }
    await expect(loadDataset(new DirectoryDataSource(dir))).rejects.toThrow(/log_standard\.csv\.gz, line 3: expected 19 fields as in the header, found 1/);
  });

  it("says when a gzip file is corrupt or the directory is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kuairand-"));
    for (const [name, text] of Object.entries(kuairandFiles())) await writeFile(join(dir, name), text);
    await writeFile(join(dir, "log_extra.csv.gz"), "not gzip");
    await expect(loadDataset(new DirectoryDataSource(dir))).rejects.toThrow(/log_extra\.csv\.gz: not a valid gzip file/);
    await expect(loadDataset(new DirectoryDataSource(join(dir, "nope")))).rejects.toThrow(/cannot read the data directory/);
  });
});
