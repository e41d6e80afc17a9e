import type { IdIndex } from "./ids";
import { LABELS, type Label } from "./labels";

/**
 * Marks an unknown creation time or duration; feature code turns it into its own bucket. It is NaN because every
 * finite number is a real time (negative ones are before 1970), so no number could mark "unknown" without colliding.
 * NaN equals nothing, itself included: test with `isKnown`, never with `=== UNKNOWN`.
 */
export const UNKNOWN = Number.NaN;

/** False for UNKNOWN. Any non-finite value counts as unknown, so no Infinity can reach a feature either. */
export function isKnown(value: number): boolean {
  return Number.isFinite(value);
}

/**
 * Orders times newest first with UNKNOWN last, for `sort`. NaN cannot be subtracted (a comparator returning NaN
 * leaves the order unspecified), so an unknown time ranks as -Infinity: below every real time, those before 1970 too.
 */
export function compareNewestFirst(a: number, b: number): number {
  const x = isKnown(a) ? a : Number.NEGATIVE_INFINITY;
  const y = isKnown(b) ? b : Number.NEGATIVE_INFINITY;
  return x === y ? 0 : x > y ? -1 : 1;
}

/** The largest |milliseconds since the epoch| a JavaScript Date can hold (±100,000,000 days); times must be within it. */
export const MAX_EPOCH_MS = 8.64e15;

/**
 * Interaction events in columns, sorted by time. Rows refer to users and items by their row in
 * the user and item tables. Typed arrays keep 200k+ events cheap to scan and to slice by time.
 */
export interface EventTable {
  readonly size: number;
  readonly user: Int32Array;
  readonly item: Int32Array;
  /** Integer milliseconds since the Unix epoch (negative before 1970, |ts| <= MAX_EPOCH_MS). */
  readonly ts: Float64Array;
  /** The app surface the event happened on (KuaiRand: `tab`). */
  readonly surface: Int32Array;
  /** One 0/1 array per label; labels the data set does not record are absent. */
  readonly labels: Readonly<Partial<Record<Label, Uint8Array>>>;
}

export interface ItemTable {
  readonly ids: IdIndex;
  readonly authors: IdIndex;
  readonly author: Int32Array;
  readonly tags: IdIndex;
  /** Tags of item i are tagIds[tagOffsets[i] .. tagOffsets[i+1]). */
  readonly tagOffsets: Int32Array;
  readonly tagIds: Int32Array;
  /** Milliseconds since the epoch (negative before 1970, |value| <= MAX_EPOCH_MS), or UNKNOWN (NaN): see `isKnown`. */
  readonly createdAt: Float64Array;
  /** Non-negative milliseconds, or UNKNOWN (NaN): see `isKnown`. */
  readonly durationMs: Float64Array;
  readonly types: IdIndex;
  readonly type: Int32Array;
  /** An upstream integrity score in [0, 1]: 1 is clean, low values are likely harmful or unwanted. */
  readonly integrity: Float32Array;
}

export interface CategoricalUserFeature {
  readonly name: string;
  readonly values: IdIndex;
  /** Row of each user's value in `values`; users without a feature row get the empty value "". */
  readonly codes: Int32Array;
}

export interface NumericUserFeature {
  readonly name: string;
  /** Users without a feature row get 0; `UserTable.hasFeatures` tells them apart. */
  readonly values: Float64Array;
}

export interface UserTable {
  readonly ids: IdIndex;
  readonly hasFeatures: Uint8Array;
  readonly categorical: readonly CategoricalUserFeature[];
  readonly numeric: readonly NumericUserFeature[];
}

export interface Dataset {
  readonly name: string;
  /** Offset of the data set's local time from UTC; day boundaries of a split are local midnights. */
  readonly timezoneOffsetMinutes: number;
  /** Surfaces that count as Home (Suggested Posts' H seeds). */
  readonly homeSurfaces: readonly number[];
  readonly labels: readonly Label[];
  readonly events: EventTable;
  readonly items: ItemTable;
  readonly users: UserTable;
  /** What the loader had to assume (a missing optional column, say), for people to read. */
  readonly notes: readonly string[];
}

/**
 * What a system may know when it is built: the static tables and the events of the training window only.
 * The test window's events are deliberately absent, so no system can peek at them.
 */
export interface TrainingData extends Omit<Dataset, "events"> {
  readonly events: EventTable;
  /** The end of the training window: the "now" of every offline request. */
  readonly endMs: number;
}

export function sliceEvents(events: EventTable, start: number, end: number): EventTable {
  const labels: Partial<Record<Label, Uint8Array>> = {};
  for (const label of LABELS) {
    const column = events.labels[label];
    if (column) labels[label] = column.subarray(start, end);
  }
  return {
    size: end - start,
    user: events.user.subarray(start, end),
    item: events.item.subarray(start, end),
    ts: events.ts.subarray(start, end),
    surface: events.surface.subarray(start, end),
    labels,
  };
}

export function itemTags(items: ItemTable, item: number): Int32Array {
  return items.tagIds.subarray(items.tagOffsets[item], items.tagOffsets[item + 1]);
}
