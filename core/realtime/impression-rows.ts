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
  /** The event's position in the batch given to `applyBatch` (changes come in the order events were applied: by ts). */
  readonly eventIndex: number;
}

/**
 * Where a builder finds each (user, item)'s latest row. Rows opened before the builder's cutoff can only be joined by
 * late events, so a store may forget them; the builder ignores any it still returns.
 */
export interface OpenImpressionRows {
  /** The row of this user and item opened last (the highest seq), if the store still has it. */
  latest(userId: string, itemId: string): ImpressionRow | undefined;
  /** A row just opened: `latest` must return it for its pair until a later one is remembered. */
  remember(row: ImpressionRow): void;
  /** A batch is done: rows with ts < `cutoffTs` will not be asked for again. */
  closeBefore(cutoffTs: number): void;
}

/** Every row of the last impression window, in memory: for offline folds, which see each event once. */
export class OpenImpressionRowsInMemory implements OpenImpressionRows {
  private readonly rows = new Map<string, ImpressionRow>();

  latest(userId: string, itemId: string): ImpressionRow | undefined {
    return this.rows.get(openKey(userId, itemId));
  }

  remember(row: ImpressionRow): void {
    this.rows.set(openKey(row.userId, row.itemId), row);
  }

  closeBefore(cutoffTs: number): void {
    for (const [key, row] of this.rows) if (row.ts < cutoffTs) this.rows.delete(key);
  }
}

/**
 * Open rows looked up in a table that keeps every row anyway (the real-time counters' SQLite), so that memory does
 * not grow with the events of the last window. `find` returns a pair's newest written row. Rows opened or joined in
 * the batch being applied are not written yet (their writer stores them after the batch): they are held until it ends,
 * so a second event of the batch on the same pair sees the first's effect.
 */
export class OpenImpressionRowsLookedUp implements OpenImpressionRows {
  private readonly batch = new Map<string, ImpressionRow>();

  constructor(private readonly find: (userId: string, itemId: string) => ImpressionRow | undefined) {}

  latest(userId: string, itemId: string): ImpressionRow | undefined {
    const key = openKey(userId, itemId);
    const held = this.batch.get(key);
    if (held !== undefined) return held;
    const found = this.find(userId, itemId);
    if (found !== undefined) this.batch.set(key, found);
    return found;
  }

  remember(row: ImpressionRow): void {
    this.batch.set(openKey(row.userId, row.itemId), row);
  }

  closeBefore(): void {
    this.batch.clear();
  }
}

/** The key of a (user, item) pair for stores of open rows. */
export function openKey(userId: string, itemId: string): string {
  return `${userId}\u0000${itemId}`;
}

/**
 * Folds events into impression rows incrementally, as batches arrive: each user's latest row per item stays open to
 * that user's later events on the item for `impressionWindowMs` (joinOpenImpression, the per-user snapshot's rule), so
 * an impression reported in one batch and its like in the next make one row with the like, as in training.
 *
 * Events of one batch are applied in ts order. A late event (older than a row it could have joined, from a batch that
 * arrived after the row was closed) opens a row of its own, where the per-user snapshot, which sees all the user's
 * events at once, might have merged it: the counters then hold one impression more than training would.
 *
 * The open rows live in `rows`: in memory by default; a store that keeps its rows anyway (the real-time counters'
 * SQLite) looks them up there instead, so its memory does not grow with the events of the last window.
 */
export class ImpressionRowBuilder {
  private newestTs: number;
  /** Rows opened before this are closed: only a late event could still join them, and it opens its own. */
  private closedBefore: number;
  /** Rows opened in the batch being applied: open to its later events whatever their age, as in one fold. */
  private readonly openedThisBatch = new Set<ImpressionRow>();

  private readonly options: SnapshotEngagementOptions;
  private readonly rows: OpenImpressionRows;

  /** `newestTs`: the newest row `rows` already holds (a store reopened over its table), else none. */
  constructor(
    private nextSeq: number,
    setup: { readonly options?: SnapshotEngagementOptions; readonly rows?: OpenImpressionRows; readonly newestTs?: number } = {},
  ) {
    this.options = setup.options ?? DEFAULT_SNAPSHOT_ENGAGEMENT_OPTIONS;
    this.rows = setup.rows ?? new OpenImpressionRowsInMemory();
    this.newestTs = setup.newestTs ?? -Infinity;
    this.closedBefore = this.newestTs - this.options.impressionWindowMs;
  }

  /** Applies one batch's events (any order; applied by ts, ties in the given order) and returns what each did. */
  applyBatch(events: readonly Pick<UserEvent, "user_id" | "item_id" | "type" | "ts" | "surface">[]): ImpressionRowChange[] {
    const ordered = events.map((event, i) => ({ event, i })).sort((a, b) => a.event.ts - b.event.ts || a.i - b.i);
    const changes = ordered.map(({ event, i }) => ({ ...this.apply(event), eventIndex: i }));
    this.openedThisBatch.clear();
    this.closedBefore = this.newestTs - this.options.impressionWindowMs;
    this.rows.closeBefore(this.closedBefore);
    return changes;
  }

  private apply(event: Pick<UserEvent, "user_id" | "item_id" | "type" | "ts" | "surface">): Omit<ImpressionRowChange, "eventIndex"> {
    const latest = this.rows.latest(event.user_id, event.item_id);
    const open = latest !== undefined && (latest.ts >= this.closedBefore || this.openedThisBatch.has(latest)) ? latest : undefined;
    const labelsBefore = open?.labels;
    if (open && joinOpenImpression(open, event, this.options.impressionWindowMs)) {
      return { row: open, opened: false, countsChanged: open.labels !== labelsBefore };
    }
    const label = interactionLabel(event.type);
    const labels: LabelBits = label === null ? 0 : LABEL_BIT[label];
    const row: ImpressionRow = { seq: this.nextSeq++, userId: event.user_id, itemId: event.item_id, ts: event.ts, surface: event.surface, labels, hasImpression: label === null };
    this.remember(row);
    this.openedThisBatch.add(row);
    return { row, opened: true, countsChanged: true };
  }

  private remember(row: ImpressionRow): void {
    this.rows.remember(row);
    if (row.ts > this.newestTs) this.newestTs = row.ts;
  }
}
