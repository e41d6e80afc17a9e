import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { advanceCounters, counterSnapshotTime, realtimeCountersProblem, type RealtimeItemCounters } from "../../core/features/live-counters";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { trendingStub } from "../state/trending";
import { logRecurringFailure } from "../../core/util/throttled-log";

/** How long an isolate serves its counters before asking the trending object whether they changed. */
export const COUNTERS_RECHECK_MS = 5_000;

/** The counters a request's features and value model read, and where they came from (inspect shows it). */
export interface LiveCounters {
  /** The bundle with its counters advanced (or the bundle itself, when the request's day is the bundle's). */
  readonly bundle: ServingBundle;
  /** The instant the counters describe: the start of the request's local day, or the bundle's snapshot. */
  readonly asOfMs: number;
  /** Real-time impressions added, on how many items; items the bundle does not know wait for the next bundle. */
  readonly realtimeImpressions: number;
  readonly realtimeItems: number;
  readonly unknownItems: number;
  /** Set when the real-time rows could not be read: the counters are then the bundle's, advanced, without them. */
  readonly problem?: string;
}

interface CachedCounters {
  readonly tables: ServingBundle["tables"];
  readonly asOfMs: number;
  readonly revision: number | undefined;
  readonly counters: LiveCounters;
  checkedAtMs: number;
}

// One entry per isolate: the counters change at a day boundary or when a late event lands in a past day.
let cached: CachedCounters | undefined;

/**
 * The item and author counters for a request at `nowMs` (core/features/live-counters.ts): the bundle's, advanced to
 * the start of the request's day, plus the impressions /v1/events has taken since the bundle's snapshot and before
 * that day. Within the bundle's own day nothing is read. Otherwise the isolate asks the trending object at most every
 * few seconds, and the answer is "unchanged" unless a row in the range moved.
 */
export async function readLiveCounters(env: Env, bundle: ServingBundle, nowMs: number): Promise<LiveCounters> {
  const { tables } = bundle;
  const bundleAsOfMs = tables.itemCounters.asOfMs;
  const asOfMs = counterSnapshotTime(bundleAsOfMs, tables.spec.timezoneOffsetMinutes, nowMs);
  if (asOfMs === bundleAsOfMs) return { bundle, asOfMs, realtimeImpressions: 0, realtimeItems: 0, unknownItems: 0 };

  const entry = cached?.tables === tables && cached.asOfMs === asOfMs ? cached : undefined;
  const wallMs = Date.now();
  if (entry && wallMs - entry.checkedAtMs < COUNTERS_RECHECK_MS) return entry.counters;
  try {
    const answer = await withinTimeBudget(
      trendingStub(env).countsBetween({ fromMs: bundleAsOfMs, beforeMs: asOfMs, halfLifeMs: tables.spec.halfLifeMs, ...(entry?.revision === undefined ? {} : { knownRevision: entry.revision }) }),
      REQUEST_BUDGETS_MS.stateObject,
      "the trending object's counters",
    );
    if (answer.unchanged && entry) {
      entry.checkedAtMs = wallMs;
      return entry.counters;
    }
    if (answer.unchanged) throw new Error("the trending object answered unchanged to a first read");
    const problem = realtimeCountersProblem(answer.counters);
    if (problem) throw new Error(`malformed real-time counters: ${problem}`);
    cached = { tables, asOfMs, revision: answer.revision, counters: advanced(bundle, asOfMs, answer.counters), checkedAtMs: wallMs };
    return cached.counters;
  } catch (error) {
    const problem = `real-time item counters unavailable: ${(error as Error).message}`;
    logRecurringFailure("feeds.live_counters", problem);
    // the last good counters of this day, else the bundle's advanced alone; either way the answer says degraded
    if (entry) return { ...entry.counters, problem };
    return { ...advanced(bundle, asOfMs, undefined), problem };
  }
}

function advanced(bundle: ServingBundle, asOfMs: number, realtime: RealtimeItemCounters | undefined): LiveCounters {
  const { tables } = bundle;
  const counters = advanceCounters({ itemCounters: tables.itemCounters, authorCounters: tables.authorCounters, itemIds: tables.items.ids, authorOfItem: tables.items.author }, asOfMs, realtime);
  return {
    bundle: { ...bundle, tables: tables.withCounters(counters.items, counters.authors) },
    asOfMs,
    realtimeImpressions: counters.realtimeImpressions,
    realtimeItems: counters.realtimeItems,
    unknownItems: counters.unknownItems,
  };
}
