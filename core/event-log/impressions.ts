/**
 * The event log that `POST /v1/events` appends to (R2 objects by UTC hour; the object format and keys are
 * ./format.ts), read back as the generic data set's impression rows (data/FORMAT.md, events.csv: one row
 * per impression with 0/1 labels) for the fine-tune.
 *
 * The log holds raw events — an impression, then maybe a click or a like of the same item — so the reader folds each
 * user's label events into the impression they belong to, with the rule the real-time counters and the per-user
 * snapshots use (ImpressionRowBuilder, joinOpenImpression): a label joins the user's latest impression of the item on
 * the same surface within the impression window, else it opens an impression of its own at its own time, so no
 * engagement is dropped. Training rows from the log therefore match what serving counted. Runtime-agnostic: the Node
 * tools read a directory that mirrors the keys; a Worker could hand R2 bodies in.
 */
import { EventTableBuilder } from "../data/builders";
import type { EventTable } from "../data/dataset";
import { DataError } from "../data/errors";
import type { IdIndex } from "../data/ids";
import { LABELS, type Label } from "../data/labels";
import { LABEL_BIT } from "../features/engagement";
import { parseEventLogCsv, parseEventLogKey } from "./format";
import type { UserEvent } from "../realtime/events";
import { ImpressionRowBuilder, type ImpressionRow } from "../realtime/impression-rows";

const HOUR_MS = 3_600_000;

/** One log object's key (relative to the log's root, `events/v1/hour=…/…csv`) and its text. */
export interface LogObjectText {
  readonly key: string;
  readonly text: string;
}

/** The start (ms) of the UTC hour of a log key, or undefined when the key is not a log object (a stray file, say). */
export function logKeyHourStart(key: string): number | undefined {
  const parts = parseEventLogKey(key);
  if (!parts) return undefined;
  const [year, month, day, hour] = [parts.hour.slice(0, 4), parts.hour.slice(4, 6), parts.hour.slice(6, 8), parts.hour.slice(8, 10)].map(Number) as [number, number, number, number];
  return Date.UTC(year, month - 1, day, hour);
}

/**
 * Reads the log objects of the hours that overlap [fromMs, toMs), and of their events those within it. Objects are
 * read in key order, so which copy of a retried event is kept is deterministic. An event outside its object's hour is
 * an error: the writer files events by their own time, and a misfiled one would be missed by an hour's fine-tune.
 */
export function readEventLog(objects: readonly LogObjectText[], range: { fromMs?: number; toMs?: number } = {}): { events: UserEvent[]; objects: number; hours: number[] } {
  const fromMs = range.fromMs ?? Number.NEGATIVE_INFINITY;
  const toMs = range.toMs ?? Number.POSITIVE_INFINITY;
  const events: UserEvent[] = [];
  const hours = new Set<number>();
  let read = 0;
  for (const object of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const hour = logKeyHourStart(object.key);
    if (hour === undefined || hour + HOUR_MS <= fromMs || hour >= toMs) continue;
    const parsed = parseEventLogCsv(object.key, object.text);
    for (const event of parsed) {
      if (event.ts < hour || event.ts >= hour + HOUR_MS) throw new DataError(object.key, undefined, "ts", `event ${event.event_id} at ${event.ts} is outside the object's hour`);
      if (event.ts >= fromMs && event.ts < toMs) events.push(event);
    }
    hours.add(hour);
    read++;
  }
  return { events, objects: read, hours: [...hours].sort((a, b) => a - b) };
}

export interface LogImpressions {
  /** Sorted by time. */
  readonly impressions: ImpressionRow[];
  /** Events read again under a (user_id, event_id) already read — a retried batch, say: counted once. */
  readonly duplicates: number;
  /** Impressions opened by a label event that no impression event joined (the impression was never logged). */
  readonly implied: number;
}

/**
 * Deduplicates by (user_id, event_id) — an event id is unique per user (core/event-log/format.ts) — keeping the first
 * copy read, then folds the events into impression rows by the shared rule (above).
 */
export function impressionsFromLog(events: Iterable<UserEvent>): LogImpressions {
  const unique = new Map<string, UserEvent>();
  let duplicates = 0;
  for (const event of events) {
    const key = `${event.user_id}\u0000${event.event_id}`;
    if (unique.has(key)) duplicates++;
    else unique.set(key, event);
  }
  // impressions before labels at the same millisecond: a click logged with its impression's time joins it directly
  const ordered = [...unique.values()].sort((a, b) => a.ts - b.ts || Number(a.type !== "impression") - Number(b.type !== "impression"));
  const builder = new ImpressionRowBuilder(0);
  const impressions = builder.applyBatch(ordered).filter((change) => change.opened).map((change) => change.row);
  impressions.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  return { impressions, duplicates, implied: impressions.filter((row) => !row.hasImpression).length };
}

export interface LogEventTable {
  readonly events: EventTable;
  /** Impressions of items the catalogue does not have (new media the bundle cannot embed yet): left out. */
  readonly unknownItems: number;
  /** Impressions of users the user table does not have: left out. */
  readonly unknownUsers: number;
}

/**
 * The impressions as the data set's event table (rows of the catalogue's items and the user table's users, a column
 * per label of LABELS). Impressions of unknown items or users are counted and left out: the models' id vocabularies
 * and the catalogue are the bundle's, and they grow only with a new bundle built by the pipeline.
 */
export function logEventTable(impressions: readonly ImpressionRow[], catalogue: { readonly items: IdIndex; readonly users: IdIndex }): LogEventTable {
  const builder = new EventTableBuilder(LABELS);
  let unknownItems = 0;
  let unknownUsers = 0;
  for (const impression of impressions) {
    const item = catalogue.items.get(impression.itemId);
    const user = catalogue.users.get(impression.userId);
    if (item === undefined) unknownItems++;
    else if (user === undefined) unknownUsers++;
    else builder.add(user, item, impression.ts, impression.surface, (label: Label) => ((impression.labels & LABEL_BIT[label]) !== 0 ? 1 : 0));
  }
  return { events: builder.build(), unknownItems, unknownUsers };
}

/**
 * The base data's events followed by the log's: what a fine-tune's features replay. The log must start at or after the
 * base's last event (the caller cuts both at the same instant), so the result stays sorted by time.
 */
export function appendEvents(base: EventTable, log: EventTable): EventTable {
  if (base.size > 0 && log.size > 0 && (log.ts[0] as number) < (base.ts[base.size - 1] as number)) throw new Error("appendEvents: the log starts before the base events end");
  const join = <T extends Int32Array | Float64Array | Uint8Array>(a: T, b: T, make: (n: number) => T): T => {
    const out = make(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  };
  const labels: Partial<Record<Label, Uint8Array>> = {};
  for (const label of LABELS) {
    const a = base.labels[label];
    const b = log.labels[label];
    // a label the base data does not record stays unrecorded: half a column of zeros would read as "never happened"
    if (a && b) labels[label] = join(a, b, (n) => new Uint8Array(n));
  }
  return {
    size: base.size + log.size,
    user: join(base.user, log.user, (n) => new Int32Array(n)),
    item: join(base.item, log.item, (n) => new Int32Array(n)),
    ts: join(base.ts, log.ts, (n) => new Float64Array(n)),
    surface: join(base.surface, log.surface, (n) => new Int32Array(n)),
    labels,
  };
}
