import { parseCsv } from "../data/csv";
import { DataError } from "../data/errors";
import { assertUserEvent, isInteractionType, type UserEvent } from "../realtime/events";

/**
 * The durable event log (data/FORMAT.md, "The event log"): the events POST /v1/events accepted, as UTF-8 CSV objects
 * under `events/v1/hour=YYYYMMDDHH/<writer>-<fromSeq>-<toSeq>.csv`. A writer is one outbox (a user-state object);
 * its sequence numbers only grow, so a (writer, range, hour) names one object's content for ever: rewriting a key
 * after a crash writes the same bytes, which is what makes the log exactly-once.
 */
export const EVENT_LOG_PREFIX = "events/v1/";
export const EVENT_LOG_COLUMNS = ["event_id", "user_id", "item_id", "type", "ts", "surface"] as const;

/** Sequence numbers are zero-padded to this many digits so that a listing of an hour is in sequence order per writer. */
const SEQ_DIGITS = 12;
/** No "-" in a writer: the key's dashes separate the writer from the range (the offline reader splits on them). */
const WRITER_PATTERN = /^[A-Za-z0-9_.]+$/;
const KEY_PATTERN = /^events\/v1\/hour=(\d{10})\/([A-Za-z0-9_.]+)-(\d+)-(\d+)\.csv$/;

export interface EventLogKey {
  /** UTC hour of every row's ts, `YYYYMMDDHH`. */
  readonly hour: string;
  readonly writer: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** One object of the log: its key and its CSV text. */
export interface EventLogObject {
  readonly key: string;
  readonly body: string;
  readonly rows: number;
}

/** The UTC hour of `ts` as `YYYYMMDDHH`. */
export function eventLogHour(ts: number): string {
  const date = new Date(ts);
  if (!Number.isFinite(date.getTime())) throw new RangeError(`event log: ts ${ts} is not a time`);
  const year = date.getUTCFullYear();
  if (year < 1000 || year > 9999) throw new RangeError(`event log: ts ${ts} is outside years 1000..9999`);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${year}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}`;
}

export function eventLogKey({ hour, writer, fromSeq, toSeq }: EventLogKey): string {
  if (!/^\d{10}$/.test(hour)) throw new RangeError(`event log: hour ${JSON.stringify(hour)} is not YYYYMMDDHH`);
  if (!WRITER_PATTERN.test(writer)) throw new RangeError(`event log: writer ${JSON.stringify(writer)} must be letters, digits, "_" and "." only`);
  for (const seq of [fromSeq, toSeq]) {
    if (!(Number.isSafeInteger(seq) && seq >= 0 && String(seq).length <= SEQ_DIGITS)) throw new RangeError(`event log: sequence number ${seq} is not an integer in 0..1e12`);
  }
  if (fromSeq > toSeq) throw new RangeError(`event log: range ${fromSeq}-${toSeq} is empty`);
  const seq = (value: number) => String(value).padStart(SEQ_DIGITS, "0");
  return `${EVENT_LOG_PREFIX}hour=${hour}/${writer}-${seq(fromSeq)}-${seq(toSeq)}.csv`;
}

/** The parts of a log key, or null for a key that is not one (a reader skips those). */
export function parseEventLogKey(key: string): EventLogKey | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const [, hour, writer, from, to] = match as unknown as [string, string, string, string, string];
  return { hour, writer, fromSeq: Number(from), toSeq: Number(to) };
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, and its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Sorted by (ts, event_id), then user_id: an event_id is unique per user only, and the order must not depend on arrival. */
function compareRows(a: UserEvent, b: UserEvent): number {
  return a.ts - b.ts || compareText(a.event_id, b.event_id) || compareText(a.user_id, b.user_id);
}

/** Code-unit order, the same in every runtime (localeCompare is not). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The CSV text of `events`: the header row, then one row per event sorted by (ts, event_id); LF line ends. */
export function eventLogCsv(events: readonly UserEvent[]): string {
  const lines = [EVENT_LOG_COLUMNS.join(",")];
  for (const event of [...events].sort(compareRows)) {
    lines.push([csvField(event.event_id), csvField(event.user_id), csvField(event.item_id), event.type, String(event.ts), String(event.surface)].join(","));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The objects one outbox flight writes: the events of the sequence range [fromSeq, toSeq], one object per UTC hour
 * of their ts. Every object of the flight carries the flight's range, so the keys depend on nothing but the range
 * and the rows in it.
 */
export function eventLogObjects(writer: string, fromSeq: number, toSeq: number, events: readonly UserEvent[]): EventLogObject[] {
  const byHour = new Map<string, UserEvent[]>();
  for (const event of events) {
    const hour = eventLogHour(event.ts);
    let rows = byHour.get(hour);
    if (!rows) byHour.set(hour, (rows = []));
    rows.push(event);
  }
  return [...byHour.keys()].sort().map((hour) => {
    const rows = byHour.get(hour) as UserEvent[];
    return { key: eventLogKey({ hour, writer, fromSeq, toSeq }), body: eventLogCsv(rows), rows: rows.length };
  });
}

/** Reads one log object back; `file` names it in errors. Every row is checked as the Worker checks an event. */
export function parseEventLogCsv(file: string, text: string): UserEvent[] {
  const table = parseCsv(file, text);
  if (table.header.join(",") !== EVENT_LOG_COLUMNS.join(",")) {
    throw new DataError(file, 1, undefined, `expected the header ${EVENT_LOG_COLUMNS.join(",")}, found ${table.header.join(",")}`);
  }
  const events: UserEvent[] = [];
  for (const { line, fields } of table.rows()) {
    const [event_id, user_id, item_id, type, ts, surface] = fields as [string, string, string, string, string, string];
    if (!isInteractionType(type)) throw new DataError(file, line, "type", `"${type}" is not an interaction type`);
    const event = { event_id, user_id, item_id, type, ts: Number(ts), surface: Number(surface) };
    try {
      assertUserEvent(event, "row");
    } catch (error) {
      throw new DataError(file, line, undefined, (error as Error).message);
    }
    events.push(event);
  }
  return events;
}
