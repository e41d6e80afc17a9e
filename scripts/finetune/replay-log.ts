/**
 * A data set's impressions as the event log `POST /v1/events` writes, with the Worker's own writer code
 * (core/event-log/format.ts): each impression becomes an `impression` event and each of its labels an event of that
 * type at the same time, one object per UTC hour named by the rows' range. For the replay experiment and the tests.
 */
import type { Dataset } from "../../core/data/dataset";
import { LABELS } from "../../core/data/labels";
import type { LogObjectText } from "../../core/event-log/impressions";
import { eventLogHour, eventLogObjects } from "../../core/event-log/format";
import type { UserEvent } from "../../core/realtime/events";

export function datasetToLog(dataset: Pick<Dataset, "events" | "users" | "items">, fromMs: number, toMs: number, writer: string): { objects: LogObjectText[]; events: number } {
  const { events, users, items } = dataset;
  const byHour = new Map<string, { events: UserEvent[]; firstRow: number; lastRow: number }>();
  for (let row = 0; row < events.size; row++) {
    const ts = events.ts[row] as number;
    if (ts < fromMs || ts >= toMs) continue;
    const base = { user_id: users.ids.id(events.user[row] as number), item_id: items.ids.id(events.item[row] as number), ts, surface: events.surface[row] as number };
    const hour = eventLogHour(ts);
    const flight = byHour.get(hour) ?? { events: [], firstRow: row, lastRow: row };
    // the data set's row number makes the event ids unique and stable, so writing the log twice changes nothing
    flight.events.push({ ...base, event_id: `${writer}-${row}-impression`, type: "impression" });
    for (const label of LABELS) if (events.labels[label]?.[row]) flight.events.push({ ...base, event_id: `${writer}-${row}-${label}`, type: label });
    flight.lastRow = row;
    byHour.set(hour, flight);
  }
  const objects: LogObjectText[] = [];
  let count = 0;
  for (const flight of byHour.values()) {
    // one flight per hour, its rows' range standing for the sequence range (the Worker's outbox numbers its own)
    for (const object of eventLogObjects(writer, flight.firstRow, flight.lastRow, flight.events)) objects.push({ key: object.key, text: object.body });
    count += flight.events.length;
  }
  return { objects, events: count };
}
