import { sliceEvents, type EventTable } from "../../core/data/dataset";
import { InsufficientDataError } from "../../core/data/errors";
import { localDay } from "../../core/data/split";
import { lowerBound } from "../../core/util/sorted";

const DAY_MS = 86_400_000;

/** The end of a training window split in two: models fit on the first part, tuning replays the second. */
export interface Holdout {
  /** The instant the held-out slice starts: the "now" of the models fit on the part before it. */
  readonly cutMs: number;
  readonly fit: EventTable;
  readonly heldOut: EventTable;
  /** Share of the window's events in the held-out slice. */
  readonly share: number;
  /** Whether the cut fell on a local midnight (dense daily data) or between two events (sparse data). */
  readonly onDayBoundary: boolean;
  readonly describe: string;
}

export interface HoldoutOptions {
  /** The share of events to hold out (the cut snaps to a local midnight when one keeps the share within 2×). */
  readonly share: number;
  readonly timezoneOffsetMinutes: number;
  /** Both parts need at least this many events. */
  readonly minEvents: number;
}

export const DEFAULT_HOLDOUT: Omit<HoldoutOptions, "timezoneOffsetMinutes"> = { share: 0.2, minEvents: 200 };

/**
 * Holds out the last `share` of a training window's events, by time: the cut is the time below which 1 − share of
 * the events fall, moved to the nearest local midnight when that keeps the held-out share within a factor of two
 * (data with an event every day get whole days, like the test windows they stand in for), else left between two
 * events (data with sparse days or years of history still get a slice of the right size). Events sharing the
 * cut's instant all go to the held-out side.
 */
export function chooseHoldout(events: EventTable, options: HoldoutOptions): Holdout {
  const n = events.size;
  if (n < 2 * options.minEvents) throw new InsufficientDataError("tuning's held-out slice", `at least ${2 * options.minEvents} training events (${options.minEvents} on each side of the cut)`, `${n}`);
  if (!(options.share > 0 && options.share < 1)) throw new RangeError(`holdout share must be in (0, 1), got ${options.share}`);
  const ts = events.ts;
  const quantileCut = ts[Math.min(n - 1, Math.floor(n * (1 - options.share)))] as number;
  const shareFrom = (cutMs: number) => (n - lowerBound(ts, cutMs)) / n;
  const acceptable = (cutMs: number) => {
    const share = shareFrom(cutMs);
    const heldOut = n - lowerBound(ts, cutMs);
    return share >= options.share / 2 && share <= options.share * 2 && heldOut >= options.minEvents && n - heldOut >= options.minEvents;
  };
  const offset = options.timezoneOffsetMinutes * 60_000;
  const midnightBefore = Math.floor((quantileCut + offset) / DAY_MS) * DAY_MS - offset;
  const boundaries = [midnightBefore, midnightBefore + DAY_MS].filter(acceptable).sort((a, b) => Math.abs(shareFrom(a) - options.share) - Math.abs(shareFrom(b) - options.share));
  const onDayBoundary = boundaries.length > 0;
  const cutMs = onDayBoundary ? (boundaries[0] as number) : quantileCut;
  const at = lowerBound(ts, cutMs);
  if (at < options.minEvents || n - at < options.minEvents) throw new InsufficientDataError("tuning's held-out slice", `at least ${options.minEvents} events on each side of the cut`, `${at} before and ${n - at} after it`);
  const fit = sliceEvents(events, 0, at);
  const heldOut = sliceEvents(events, at, n);
  const tz = options.timezoneOffsetMinutes;
  const describe = onDayBoundary
    ? `held out ${localDay(cutMs, tz)}..${localDay(ts[n - 1] as number, tz)} (${heldOut.size} of ${n} events, ${((heldOut.size / n) * 100).toFixed(1)}%)`
    : `held out the last ${heldOut.size} of ${n} events (${((heldOut.size / n) * 100).toFixed(1)}%), from ${new Date(cutMs).toISOString()}`;
  return { cutMs, fit, heldOut, share: heldOut.size / n, onDayBoundary, describe };
}
