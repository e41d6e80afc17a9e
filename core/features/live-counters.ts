import { LABELS } from "../data/labels";
import { EngagementCounters } from "./counters";
import type { LabelBits } from "./engagement";
import { localDayStart } from "./replay";

/**
 * Counters that move with time. A bundle's item and author counters describe its training window's end; serving
 * reads them at the instant training would have computed the same row's features, with the real-time impressions
 * since the bundle added, through the same `EngagementCounters` code (`add`, `advanceTo`, `decayWeight`).
 */

/**
 * The instant the counter features of a row at `atMs` describe. Training (DayByDayReplay, core/features/replay.ts)
 * gives every row of a local day the counters of the days before it, as of that day's start: a row never sees its own
 * label or anything later the same day. Serving does the same at the request time: the start of the request's local
 * day, never before the bundle's own snapshot (a request dated inside the training window reads the bundle as it is).
 */
export function counterSnapshotTime(bundleAsOfMs: number, timezoneOffsetMinutes: number, atMs: number): number {
  return Math.max(bundleAsOfMs, localDayStart(atMs, timezoneOffsetMinutes));
}

/** One impression with the labels of everything its user did with it: a training row, from real-time events. */
export interface ImpressionRowCounts {
  readonly itemId: string;
  readonly ts: number;
  readonly labels: LabelBits;
}

/**
 * Counters of real-time impression rows by item id, as of `asOfMs`: what the real-time store sends an isolate
 * (plain typed arrays, so it crosses a Durable Object's RPC by structured clone).
 */
export interface RealtimeItemCounters {
  readonly asOfMs: number;
  readonly halfLifeMs: number;
  readonly itemIds: readonly string[];
  readonly impressions: Float64Array;
  /** [item × LABELS.length] */
  readonly positives: Float64Array;
  readonly decayedImpressions: Float64Array;
  readonly decayedClicks: Float64Array;
}

/** Counts rows (each before `asOfMs`) with training's own `EngagementCounters.add`, one key per distinct item id. */
export function countImpressionRows(rows: readonly ImpressionRowCounts[], halfLifeMs: number, asOfMs: number): RealtimeItemCounters {
  const keyOf = new Map<string, number>();
  for (const row of rows) if (!keyOf.has(row.itemId)) keyOf.set(row.itemId, keyOf.size);
  const counters = new EngagementCounters(keyOf.size, halfLifeMs, asOfMs);
  for (const row of rows) counters.add(keyOf.get(row.itemId) as number, row.ts, row.labels);
  const { impressions, positives, decayedImpressions, decayedClicks } = counters;
  return { asOfMs, halfLifeMs, itemIds: [...keyOf.keys()], impressions, positives, decayedImpressions, decayedClicks };
}

/** Checks what crossed an RPC before it is added to feature counters: a malformed answer must fail, not skew features. */
export function realtimeCountersProblem(counters: RealtimeItemCounters): string | undefined {
  if (!Array.isArray(counters.itemIds) || counters.itemIds.some((id) => typeof id !== "string")) return "itemIds is not a list of strings";
  const n = counters.itemIds.length;
  for (const [name, array, length] of [
    ["impressions", counters.impressions, n],
    ["positives", counters.positives, n * LABELS.length],
    ["decayedImpressions", counters.decayedImpressions, n],
    ["decayedClicks", counters.decayedClicks, n],
  ] as const) {
    if (!(array instanceof Float64Array) || array.length !== length) return `${name} is not a Float64Array of ${length} values`;
  }
  return undefined;
}

/** The bundle's side of the advance: its counters and how an item id finds its row and author. */
export interface BundleCounterSources {
  readonly itemCounters: EngagementCounters;
  readonly authorCounters: EngagementCounters;
  readonly itemIds: { get(id: string): number | undefined };
  readonly authorOfItem: ArrayLike<number>;
}

export interface AdvancedCounters {
  readonly items: EngagementCounters;
  readonly authors: EngagementCounters;
  /** Real-time items added (known to the bundle) and their impressions. */
  readonly realtimeItems: number;
  readonly realtimeImpressions: number;
  /** Real-time items the bundle does not know (published after it): their counts wait for the next bundle. */
  readonly unknownItems: number;
}

/**
 * The bundle's counters advanced to `asOfMs` (training's `advanceTo`) plus the real-time rows' counters as of the same
 * instant, per item and per the item's author. Copies: the bundle's own counters stay as they were.
 */
export function advanceCounters(bundle: BundleCounterSources, asOfMs: number, realtime?: RealtimeItemCounters): AdvancedCounters {
  const items = bundle.itemCounters.clone();
  const authors = bundle.authorCounters.clone();
  items.advanceTo(asOfMs);
  authors.advanceTo(asOfMs);
  let realtimeItems = 0;
  let realtimeImpressions = 0;
  let unknownItems = 0;
  if (realtime) {
    const counted = EngagementCounters.restore({ size: realtime.itemIds.length, ...realtime });
    realtime.itemIds.forEach((id, key) => {
      const item = bundle.itemIds.get(id);
      if (item === undefined) {
        unknownItems++;
        return;
      }
      items.addFrom(item, counted, key);
      authors.addFrom(bundle.authorOfItem[item] as number, counted, key);
      realtimeItems++;
      realtimeImpressions += counted.impressions[key] as number;
    });
  }
  return { items, authors, realtimeItems, realtimeImpressions, unknownItems };
}
