import { sliceEvents, type Dataset, type EventTable } from "./dataset";
import { lowerBound } from "../util/sorted";

const DAY_MS = 86_400_000;

/** Dates are the data set's local calendar days, written YYYYMMDD. */
export interface SplitDates {
  /** Last day of training, inclusive. */
  readonly trainEnd: string;
  readonly testStart: string;
  /** Last day of the test window, inclusive; defaults to the last day with events. */
  readonly testEnd?: string;
}

export interface TimeSplit {
  readonly trainEnd: string;
  readonly testStart: string;
  readonly testEnd: string;
  /** The instant training ends (local midnight after trainEnd): the "now" of every offline request. */
  readonly trainEndMs: number;
  readonly testStartMs: number;
  /** Exclusive. */
  readonly testEndMs: number;
  readonly train: EventTable;
  readonly test: EventTable;
}

export class SplitError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "SplitError";
  }
}

export function parseDay(field: string, text: string): { year: number; month: number; day: number } {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!match) throw new SplitError(field, `"${text}" is not a date in YYYYMMDD form`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new SplitError(field, `"${text}" is not a calendar date`);
  }
  return { year, month, day };
}

/** The instant local midnight starts the given day. */
export function dayStartMs(field: string, text: string, timezoneOffsetMinutes: number): number {
  const { year, month, day } = parseDay(field, text);
  return Date.UTC(year, month - 1, day) - timezoneOffsetMinutes * 60_000;
}

/** The local day (YYYYMMDD) an instant falls in. */
export function localDay(ms: number, timezoneOffsetMinutes: number): string {
  const local = new Date(ms + timezoneOffsetMinutes * 60_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${local.getUTCFullYear()}${pad(local.getUTCMonth() + 1)}${pad(local.getUTCDate())}`;
}

export function splitByDate(dataset: Dataset, dates: SplitDates): TimeSplit {
  const tz = dataset.timezoneOffsetMinutes;
  const { events } = dataset;
  if (events.size === 0) throw new SplitError("events", "the data set has no events");
  const lastDay = localDay(events.ts[events.size - 1] as number, tz);
  const testEnd = dates.testEnd ?? lastDay;
  const trainEndMs = dayStartMs("train_end", dates.trainEnd, tz) + DAY_MS;
  const testStartMs = dayStartMs("test_start", dates.testStart, tz);
  const testEndMs = dayStartMs("test_end", testEnd, tz) + DAY_MS;
  if (testStartMs < trainEndMs) throw new SplitError("test_start", `${dates.testStart} must be after train_end ${dates.trainEnd}`);
  if (testEndMs <= testStartMs) throw new SplitError("test_end", `${testEnd} must not be before test_start ${dates.testStart}`);
  const trainRows = lowerBound(events.ts, trainEndMs);
  const testFrom = lowerBound(events.ts, testStartMs);
  const testTo = lowerBound(events.ts, testEndMs);
  if (trainRows === 0) throw new SplitError("train_end", `no events on or before ${dates.trainEnd} (data starts ${localDay(events.ts[0] as number, tz)})`);
  if (testTo === testFrom) throw new SplitError("test_start", `no events from ${dates.testStart} to ${testEnd} (data ends ${lastDay})`);
  return {
    trainEnd: dates.trainEnd,
    testStart: dates.testStart,
    testEnd,
    trainEndMs,
    testStartMs,
    testEndMs,
    train: sliceEvents(events, 0, trainRows),
    test: sliceEvents(events, testFrom, testTo),
  };
}

/** The events up to and including `trainEnd`, for building models (no test window needed). */
export function trainingWindow(dataset: Dataset, trainEnd: string): { readonly train: EventTable; readonly trainEndMs: number } {
  const trainEndMs = dayStartMs("train_end", trainEnd, dataset.timezoneOffsetMinutes) + DAY_MS;
  const rows = lowerBound(dataset.events.ts, trainEndMs);
  if (rows === 0) throw new SplitError("train_end", `no events on or before ${trainEnd}`);
  return { train: sliceEvents(dataset.events, 0, rows), trainEndMs };
}
