import { LABEL_BIT, type LabelBits } from "../features/engagement";
import { interactionLabel, type UserEvent } from "./events";
import { DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS, joinOpenImpression, type OpenImpressionState, type SnapshotEngagementOptions } from "./snapshot-engagements";

/**
 * One impression as the item counters count it: a training row (one exposure and the labels of everything the user
 * did with it), built from the real-time events of every user by the rule each user's snapshot uses.
 */
export interface ImpressionRow extends OpenImpressionState {
  /** Increasing in the order rows were opened: the store's key. */
  readonly seq: number;
  readonly userId: string;
  readonly itemId: string;
}

export interface ImpressionRowChange {
  readonly row: ImpressionRow;
  /** A new row (else the event joined `row`). */
  readonly opened: boolean;
  /** Whether the row's impression or label counts changed (completing an implied impression changes neither). */
  readonly countsChanged: boolean;
}

/**
 * Folds events into impression rows incrementally, as batches arrive: each user's latest row per item stays open to
 * that user's later events on the item for `impressionWindowMs` (joinOpenImpression, the per-user snapshot's rule), so
 * an impression reported in one batch and its like in the next make one row with the like, as in training.
 *
 * Events of one batch are applied in ts order. A late event (older than a row it could have joined, from a batch that
 * arrived after the row was forgotten) opens a row of its own, where the per-user snapshot, which sees all the user's
 * events at once, might have merged it: the counters then hold one impression more than training would.
 */
export class ImpressionRowBuilder {
  private readonly open = new Map<string, ImpressionRow>();
  private newestTs = -Infinity;

  constructor(
    private nextSeq: number,
    openRows: Iterable<ImpressionRow> = [],
    private readonly options: SnapshotEngagementOptions = DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS,
  ) {
    for (const row of openRows) this.remember(row);
  }

  /** Applies one batch's events (any order; applied by ts, ties in the given order) and returns what each did. */
  applyBatch(events: readonly Pick<UserEvent, "user_id" | "item_id" | "type" | "ts" | "surface">[]): ImpressionRowChange[] {
    const ordered = events.map((event, i) => ({ event, i })).sort((a, b) => a.event.ts - b.event.ts || a.i - b.i);
    const changes = ordered.map(({ event }) => this.apply(event));
    this.forgetClosed();
    return changes;
  }

  private apply(event: Pick<UserEvent, "user_id" | "item_id" | "type" | "ts" | "surface">): ImpressionRowChange {
    const key = openKey(event.user_id, event.item_id);
    const open = this.open.get(key);
    const labelsBefore = open?.labels;
    if (open && joinOpenImpression(open, event, this.options.impressionWindowMs)) {
      return { row: open, opened: false, countsChanged: open.labels !== labelsBefore };
    }
    const label = interactionLabel(event.type);
    const labels: LabelBits = label === null ? 0 : LABEL_BIT[label];
    const row: ImpressionRow = { seq: this.nextSeq++, userId: event.user_id, itemId: event.item_id, ts: event.ts, surface: event.surface, labels, hasImpression: label === null };
    this.remember(row);
    return { row, opened: true, countsChanged: true };
  }

  /** Rows still open, for a store that persists nothing else about them. */
  get openRows(): number {
    return this.open.size;
  }

  private remember(row: ImpressionRow): void {
    this.open.set(openKey(row.userId, row.itemId), row);
    if (row.ts > this.newestTs) this.newestTs = row.ts;
  }

  /** Rows opened more than a window before the newest event can only be joined by late events: let them go. */
  private forgetClosed(): void {
    const cutoff = this.newestTs - this.options.impressionWindowMs;
    for (const [key, row] of this.open) if (row.ts < cutoff) this.open.delete(key);
  }
}

function openKey(userId: string, itemId: string): string {
  return `${userId}\u0000${itemId}`;
}
