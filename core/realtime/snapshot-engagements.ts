import { LABEL_BIT, type Engagement, type LabelBits } from "../features/engagement";
import { interactionLabel, type SnapshotEvent, type UserStateSnapshot } from "./events";

/** Item id → catalogue row; an IdIndex (core/data/ids.ts) is one. */
export interface ItemIdLookup {
  get(id: string): number | undefined;
}

export interface SnapshotEngagementOptions {
  /** Engagement events of an item this long after the event that opened an impression still belong to it. */
  readonly impressionWindowMs: number;
}

export const DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS: SnapshotEngagementOptions = { impressionWindowMs: 60 * 60_000 };

export interface SnapshotEngagements {
  /** Sorted by ts. */
  readonly engagements: Engagement[];
  /** Events skipped because their item is not in the catalogue (new media, or a bundle older than the event). */
  readonly unknownItemEvents: number;
}

interface OpenImpression {
  readonly item: number;
  ts: number;
  surface: number;
  labels: LabelBits;
  hasImpression: boolean;
}

/** What the merge keeps of an impression still open to the user's later events on its item. */
export interface OpenImpressionState {
  readonly ts: number;
  readonly surface: number;
  labels: LabelBits;
  hasImpression: boolean;
}

/**
 * The merge rule for one event of a user on an item whose latest impression is `open` (see snapshotEngagements):
 * returns true when the event joins it (an engagement adds its label, an impression completes an implied one) and
 * false when the event opens an impression of its own. The real-time counters build their rows with the same rule.
 */
export function joinOpenImpression(open: OpenImpressionState | undefined, event: Pick<SnapshotEvent, "ts" | "surface" | "type">, windowMs: number): boolean {
  if (open === undefined || !(event.ts - open.ts <= windowMs && event.surface === open.surface)) return false;
  const label = interactionLabel(event.type);
  if (label === null) {
    if (open.hasImpression) return false;
    open.hasImpression = true;
    return true;
  }
  open.labels |= LABEL_BIT[label];
  return true;
}

/**
 * Turns a user's real-time events into Engagement records, one per impression with the labels of everything
 * the user did with that impression: an impression and the later click and like of the same item become ONE
 * Engagement with click|like bits.
 *
 * Why merge: the trainer's rows are exposures with label bits (KuaiRand: one row per impression), and
 * UserActivity counts every Engagement as an impression. One record per event would count an impression
 * plus its click as two impressions (one of them unclicked), skewing the user's click rate and per-author
 * stats the MTML model was trained on.
 *
 * Rules, over events in ts order: an engagement event (click, like, ..., hate) joins the item's open
 * impression when it is within `impressionWindowMs` of the impression's first event and on the same surface;
 * otherwise it opens an implied impression of its own (the client may not report impressions, or the
 * impression fell out of the bounded history). An impression event opens a new impression, unless the item's
 * open impression was implied by engagement events so far (a click reported before its impression through
 * clock skew), which it then completes. The Engagement takes the ts and surface of its first event.
 */
export function snapshotEngagements(
  events: readonly SnapshotEvent[],
  itemIds: ItemIdLookup,
  options: SnapshotEngagementOptions = DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS,
): SnapshotEngagements {
  const windowMs = options.impressionWindowMs;
  if (!(Number.isFinite(windowMs) && windowMs >= 0)) throw new RangeError(`snapshot engagements: impressionWindowMs must be a non-negative number, got ${windowMs}`);
  const impressions: OpenImpression[] = [];
  const openByItem = new Map<number, OpenImpression>();
  let unknownItemEvents = 0;
  let previousTs = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as SnapshotEvent;
    if (!(event.ts >= previousTs)) throw new RangeError(`snapshot engagements: events must be sorted by ts, but event ${i} (ts ${event.ts}) comes after ts ${previousTs}`);
    previousTs = event.ts;
    const item = itemIds.get(event.item_id);
    if (item === undefined) {
      unknownItemEvents++;
      continue;
    }
    const label = interactionLabel(event.type);
    if (joinOpenImpression(openByItem.get(item), event, windowMs)) continue;
    const opened: OpenImpression = { item, ts: event.ts, surface: event.surface, labels: label === null ? 0 : LABEL_BIT[label], hasImpression: label === null };
    impressions.push(opened);
    openByItem.set(item, opened);
  }
  // Impressions open in event order, so the result is sorted by ts.
  const engagements = impressions.map(({ item, ts, surface, labels }): Engagement => ({ item, ts, surface, labels }));
  return { engagements, unknownItemEvents };
}

/** A snapshot resolved against the catalogue: what the Explore funnel consumes. */
export interface ResolvedUserState extends SnapshotEngagements {
  /** Catalogue rows of seen items (impressions or any engagement), for the "no already-seen items" rule. */
  readonly seenItems: Set<number>;
  readonly unknownSeenItems: number;
  /** Authors of the items the user followed from (a follow event names the item it happened on). */
  readonly followedAuthors: Set<number>;
  readonly unknownFollowedItems: number;
}

export function resolveUserSnapshot(
  snapshot: UserStateSnapshot,
  catalogue: { readonly ids: ItemIdLookup; readonly author: ArrayLike<number> },
  options: SnapshotEngagementOptions = DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS,
): ResolvedUserState {
  const seenItems = new Set<number>();
  let unknownSeenItems = 0;
  for (const id of snapshot.seen) {
    const item = catalogue.ids.get(id);
    if (item === undefined) unknownSeenItems++;
    else seenItems.add(item);
  }
  const followedAuthors = new Set<number>();
  let unknownFollowedItems = 0;
  for (const id of snapshot.followedItems) {
    const item = catalogue.ids.get(id);
    const author = item === undefined ? undefined : catalogue.author[item];
    if (author === undefined) unknownFollowedItems++;
    else followedAuthors.add(author);
  }
  return { ...snapshotEngagements(snapshot.events, catalogue.ids, options), seenItems, unknownSeenItems, followedAuthors, unknownFollowedItems };
}
