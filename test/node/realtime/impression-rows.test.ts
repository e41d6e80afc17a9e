import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InteractionType, UserEvent } from "../../../core/realtime/events";
import { ImpressionRowBuilder, OpenImpressionRowsLookedUp, type ImpressionRow } from "../../../core/realtime/impression-rows";

const MIN = 60_000;
const WINDOW = 60 * MIN;

/** A table like the real-time counters' SQLite: it never forgets a row and hands out copies, as a SELECT does. */
class Table {
  readonly rows = new Map<number, ImpressionRow>();
  newest(userId: string, itemId: string): ImpressionRow | undefined {
    let newest: ImpressionRow | undefined;
    for (const row of this.rows.values()) if (row.userId === userId && row.itemId === itemId && (newest === undefined || row.seq > newest.seq)) newest = row;
    return newest === undefined ? undefined : { ...newest };
  }
  /** What EngagementCountStore.record does after each batch. */
  write(rows: Iterable<ImpressionRow>): void {
    for (const row of rows) this.rows.set(row.seq, { ...row });
  }
}

const TYPES: readonly InteractionType[] = ["impression", "impression", "click", "like", "long_view", "hate"];
const eventArbitrary = fc.record({
  user_id: fc.constantFrom("u1", "u2"),
  item_id: fc.constantFrom("a", "b", "c"),
  type: fc.constantFrom(...TYPES),
  // minutes: batches reach back past the window, so late and closed rows happen
  minute: fc.integer({ min: 0, max: 240 }),
  surface: fc.constantFrom(0, 1),
});
type Drawn = { user_id: string; item_id: string; type: InteractionType; minute: number; surface: number };
const toEvents = (batch: readonly Drawn[], batchIndex: number): UserEvent[] =>
  batch.map((drawn, i) => ({ event_id: `${batchIndex}-${i}`, user_id: drawn.user_id, item_id: drawn.item_id, type: drawn.type, ts: drawn.minute * MIN, surface: drawn.surface }));

describe("impression rows, open rows kept in memory or looked up in a table", () => {
  it("fold every sequence of batches into the same rows", () => {
    fc.assert(
      fc.property(fc.array(fc.array(eventArbitrary, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }), (batches) => {
        const inMemory = new ImpressionRowBuilder(1);
        const table = new Table();
        const looksUp = new ImpressionRowBuilder(1, { rows: new OpenImpressionRowsLookedUp((user, item) => table.newest(user, item)) });
        const memoryRows = new Map<number, ImpressionRow>();
        batches.forEach((batch, index) => {
          const events = toEvents(batch, index);
          const a = inMemory.applyBatch(events);
          const b = looksUp.applyBatch(events);
          expect(b.map((change) => [change.opened, change.countsChanged, { ...change.row }])).toEqual(a.map((change) => [change.opened, change.countsChanged, { ...change.row }]));
          for (const change of a) memoryRows.set(change.row.seq, { ...change.row });
          table.write(b.map((change) => change.row));
        });
        expect(new Map([...table.rows].sort(([x], [y]) => x - y))).toEqual(new Map([...memoryRows].sort(([x], [y]) => x - y)));
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });

  it("reopened over a table, join a row of the last window and not an older one", () => {
    const table = new Table();
    const rows = () => new OpenImpressionRowsLookedUp((user, item) => table.newest(user, item));
    const first = new ImpressionRowBuilder(1, { rows: rows() });
    const opened = first.applyBatch([
      { user_id: "u", item_id: "old", type: "impression", ts: 0, surface: 1 },
      { user_id: "u", item_id: "new", type: "impression", ts: 2 * WINDOW, surface: 1 },
    ]);
    table.write(opened.map((change) => change.row));
    // a second builder, as after the object restarts: only the newest ts is known
    const reopened = new ImpressionRowBuilder(3, { rows: rows(), newestTs: 2 * WINDOW });
    const [onNew, onOld] = reopened.applyBatch([
      { user_id: "u", item_id: "new", type: "like", ts: 2 * WINDOW + MIN, surface: 1 },
      { user_id: "u", item_id: "old", type: "like", ts: 2 * WINDOW + MIN, surface: 1 },
    ]);
    expect(onNew).toMatchObject({ opened: false, countsChanged: true, row: { seq: 2 } });
    expect(onOld).toMatchObject({ opened: true, row: { seq: 3, hasImpression: false } });
  });
});
