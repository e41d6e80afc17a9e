import { describe, expect, it } from "vitest";
import { MemoryDataSource, SplitError, dayStartMs, loadDataset, localDay, splitByDate } from "../../../core/data";
import { DAY0, HOUR, kuairandFiles } from "./kuairand-fixture";

describe("time split by date", () => {
  it("cuts at local midnights: train through train_end inclusive, test from test_start", async () => {
    const data = await loadDataset(new MemoryDataSource(kuairandFiles()));
    // events at day0 +1h, +2h, +30h (day 1), +50h (day 2), local time UTC+8
    const split = splitByDate(data, { trainEnd: "20220425", testStart: "20220426" });
    expect(split.train.size).toBe(2);
    expect(split.test.size).toBe(2);
    expect(split.testEnd).toBe("20220427");
    expect(split.trainEndMs).toBe(DAY0 + 24 * HOUR);
    const gap = splitByDate(data, { trainEnd: "20220425", testStart: "20220427", testEnd: "20220427" });
    expect(Array.from(gap.test.ts)).toEqual([DAY0 + 50 * HOUR]);
  });

  it("converts between instants and local days", () => {
    expect(dayStartMs("d", "20220504", 480)).toBe(Date.UTC(2022, 4, 3, 16));
    expect(localDay(Date.UTC(2022, 4, 3, 15, 59), 480)).toBe("20220503");
    expect(localDay(Date.UTC(2022, 4, 3, 16, 0), 480)).toBe("20220504");
  });

  it("rejects malformed or impossible splits, naming the argument", async () => {
    const data = await loadDataset(new MemoryDataSource(kuairandFiles()));
    const attempt = (trainEnd: string, testStart: string, testEnd?: string) => () => splitByDate(data, { trainEnd, testStart, testEnd });
    expect(attempt("2022-04-25", "20220426")).toThrow(/train_end: "2022-04-25" is not a date in YYYYMMDD form/);
    expect(attempt("20220231", "20220426")).toThrow(/train_end: "20220231" is not a calendar date/);
    expect(attempt("20220426", "20220426")).toThrow(/test_start: 20220426 must be after train_end/);
    expect(attempt("20220425", "20220427", "20220426")).toThrow(/test_end/);
    expect(attempt("20220101", "20220426")).toThrow(/train_end: no events on or before 20220101/);
    expect(attempt("20220425", "20220601")).toThrow(SplitError);
  });
});
