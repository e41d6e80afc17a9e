import type { EventTable } from "../data/dataset";
import { LABELS } from "../data/labels";
import { EngagementCounters } from "./counters";
import type { Engagement, LabelBits } from "./engagement";
import { UserActivity, type Catalogue, type UserActivityOptions } from "./user-activity";

const DAY_MS = 86_400_000;

export function eventLabelBits(events: EventTable, row: number): LabelBits {
  let bits = 0;
  for (let l = 0; l < LABELS.length; l++) if (events.labels[LABELS[l] as (typeof LABELS)[number]]?.[row]) bits |= 1 << l;
  return bits;
}

/** Local midnight at or before `ms` in a time zone `timezoneOffsetMinutes` ahead of UTC: where the replay's days start. */
export function localDayStart(ms: number, timezoneOffsetMinutes: number): number {
  const offset = timezoneOffsetMinutes * 60_000;
  return Math.floor((ms + offset) / DAY_MS) * DAY_MS - offset;
}

export function eventAt(events: EventTable, row: number): Engagement {
  return { item: events.item[row] as number, ts: events.ts[row] as number, surface: events.surface[row] as number, labels: eventLabelBits(events, row) };
}

/**
 * Replays a time-sorted event log one local day at a time. While a day's rows are visited, the item and
 * author counters and every user's activity hold only the days before it: a training row never sees its
 * own label or anything after its day, exactly like a test row that sees only the training window.
 */
export class DayByDayReplay {
  readonly itemCounters: EngagementCounters;
  readonly authorCounters: EngagementCounters;
  readonly activities = new Map<number, UserActivity>();

  constructor(
    private readonly catalogue: Catalogue & { readonly author: Int32Array },
    itemCount: number,
    authorCount: number,
    halfLifeMs: number,
    private readonly timezoneOffsetMinutes: number,
    startMs: number,
    private readonly activityOptions?: UserActivityOptions,
  ) {
    this.itemCounters = new EngagementCounters(itemCount, halfLifeMs, startMs);
    this.authorCounters = new EngagementCounters(authorCount, halfLifeMs, startMs);
  }

  activity(user: number): UserActivity {
    let activity = this.activities.get(user);
    if (!activity) this.activities.set(user, (activity = new UserActivity(this.catalogue, this.activityOptions)));
    return activity;
  }

  /** Local midnight at or before `ms`. */
  dayStart(ms: number): number {
    return localDayStart(ms, this.timezoneOffsetMinutes);
  }

  /** Visits each day's rows [from, to) with the state of the days before, then adds that day. */
  run(events: EventTable, visitDay?: (dayStartMs: number, from: number, to: number) => void): void {
    let from = 0;
    while (from < events.size) {
      const day = this.dayStart(events.ts[from] as number);
      let to = from;
      while (to < events.size && (events.ts[to] as number) < day + DAY_MS) to++;
      if (day > this.itemCounters.asOfMs) this.advanceTo(day);
      visitDay?.(day, from, to);
      this.advanceTo(Math.max(this.itemCounters.asOfMs, events.ts[to - 1] as number));
      for (let row = from; row < to; row++) this.add(eventAt(events, row), events.user[row] as number);
      from = to;
    }
  }

  add(event: Engagement, user: number): void {
    this.itemCounters.add(event.item, event.ts, event.labels);
    this.authorCounters.add(this.catalogue.author[event.item] as number, event.ts, event.labels);
    this.activity(user).add(event);
  }

  advanceTo(ms: number): void {
    this.itemCounters.advanceTo(ms);
    this.authorCounters.advanceTo(ms);
  }
}
