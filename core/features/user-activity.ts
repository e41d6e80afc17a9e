import type { ItemTable } from "../data/dataset";
import { LABELS } from "../data/labels";
import { addAt } from "../util/typed-arrays";
import { ENGAGED_BITS, LABEL_BIT, type Engagement } from "./engagement";

export type Catalogue = Pick<ItemTable, "author" | "tagOffsets" | "tagIds">;

/** Per-author aggregate slots in `UserActivity.authors`. */
export const AUTHOR_SLOTS = { impressions: 0, clicks: 1, longViews: 2, likes: 3 } as const;
/** Per-tag aggregate slots in `UserActivity.tags`. */
export const TAG_SLOTS = { impressions: 0, clicks: 1 } as const;

export interface UserActivityOptions {
  /** How many distinct recently engaged items to remember (history sources, user tower). */
  readonly historyLength: number;
}

export const DEFAULT_ACTIVITY_OPTIONS: UserActivityOptions = { historyLength: 50 };

/**
 * What one user did, aggregated: overall label counts, per-author and per-tag engagement, items seen,
 * recently engaged items, followed authors. The trainer feeds it day by day; the Worker feeds it the
 * user's history from the bundle plus their real-time events. Same code, so features agree.
 */
export class UserActivity {
  impressions = 0;
  readonly positives = new Float64Array(LABELS.length);
  readonly authors = new Map<number, Float64Array>();
  readonly tags = new Map<number, Float64Array>();
  readonly seenItems = new Map<number, number>();
  /** Distinct engaged items, oldest first. */
  readonly recentEngaged: number[] = [];
  readonly followedAuthors = new Set<number>();
  /** Distinct authors of liked items, oldest first. */
  readonly likedAuthors: number[] = [];
  lastEventMs = -Infinity;

  constructor(private readonly catalogue: Catalogue, private readonly options: UserActivityOptions = DEFAULT_ACTIVITY_OPTIONS) {}

  static from(catalogue: Catalogue, events: Iterable<Engagement>, options?: UserActivityOptions): UserActivity {
    const activity = new UserActivity(catalogue, options);
    for (const event of events) activity.add(event);
    return activity;
  }

  add(event: Engagement): void {
    const { item, labels } = event;
    const author = this.catalogue.author[item];
    if (author === undefined) throw new RangeError(`user activity: item ${item} is not in the catalogue`);
    this.impressions++;
    this.lastEventMs = Math.max(this.lastEventMs, event.ts);
    for (let l = 0; l < LABELS.length; l++) if (labels & (1 << l)) addAt(this.positives, l);
    this.seenItems.set(item, (this.seenItems.get(item) ?? 0) + 1);

    let authorStats = this.authors.get(author);
    if (!authorStats) this.authors.set(author, (authorStats = new Float64Array(4)));
    addAt(authorStats, AUTHOR_SLOTS.impressions);
    if (labels & LABEL_BIT.click) addAt(authorStats, AUTHOR_SLOTS.clicks);
    if (labels & LABEL_BIT.long_view) addAt(authorStats, AUTHOR_SLOTS.longViews);
    if (labels & LABEL_BIT.like) addAt(authorStats, AUTHOR_SLOTS.likes);

    const clicked = (labels & LABEL_BIT.click) !== 0;
    for (let t = this.catalogue.tagOffsets[item] as number; t < (this.catalogue.tagOffsets[item + 1] as number); t++) {
      const tag = this.catalogue.tagIds[t] as number;
      let tagStats = this.tags.get(tag);
      if (!tagStats) this.tags.set(tag, (tagStats = new Float64Array(2)));
      addAt(tagStats, TAG_SLOTS.impressions);
      if (clicked) addAt(tagStats, TAG_SLOTS.clicks);
    }

    if (labels & ENGAGED_BITS) moveToEnd(this.recentEngaged, item, this.options.historyLength);
    if (labels & LABEL_BIT.like) moveToEnd(this.likedAuthors, author, this.options.historyLength);
    if (labels & LABEL_BIT.follow) this.followedAuthors.add(author);
  }

  /** The most recent engaged items, newest first. */
  recentItems(limit: number): number[] {
    return this.recentEngaged.slice(-limit).reverse();
  }
}

function moveToEnd(list: number[], value: number, capacity: number): void {
  const existing = list.indexOf(value);
  if (existing !== -1) list.splice(existing, 1);
  list.push(value);
  if (list.length > capacity) list.shift();
}
