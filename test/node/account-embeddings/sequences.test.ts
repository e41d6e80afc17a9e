import { describe, expect, it } from "vitest";
import type { EventTable } from "../../../core/data/dataset";
import { buildAuthorSequences, engagedEvents } from "../../../models/account-embeddings/sequences";
import { catalogue, eventTable } from "./fixtures";

// items 0,1 by author 0; item 2 by author 1; item 3 by author 2
const items = catalogue([0, 0, 1, 2], 3);

describe("buildAuthorSequences", () => {
  it("orders each user's engaged authors by time and collapses consecutive repeats", () => {
    const events = eventTable([
      { user: 5, item: 3, ts: 40, labels: ["like"] },
      { user: 5, item: 0, ts: 10, labels: ["click"] },
      { user: 5, item: 1, ts: 20, labels: ["long_view"] }, // same author as the previous: collapsed
      { user: 5, item: 2, ts: 30, labels: ["click"] },
      { user: 5, item: 0, ts: 50, labels: ["follow"] }, // author 0 again, not consecutive: kept
      { user: 2, item: 2, ts: 15, labels: ["comment"] },
      { user: 2, item: 3, ts: 16, labels: ["forward"] },
    ]);
    const sequences = buildAuthorSequences(events, items);
    expect(Array.from(sequences.users)).toEqual([2, 5]);
    expect(Array.from(sequences.offsets)).toEqual([0, 2, 6]);
    expect(Array.from(sequences.tokens)).toEqual([1, 2, 0, 1, 2, 0]);
  });

  it("skips impressions and hate-only events, and users without engagement", () => {
    const events = eventTable([
      { user: 0, item: 0, ts: 1 },
      { user: 0, item: 2, ts: 2, labels: ["hate"] },
      { user: 0, item: 3, ts: 3, labels: ["click"] },
      { user: 1, item: 3, ts: 4 },
    ]);
    const sequences = buildAuthorSequences(events, items);
    expect(Array.from(sequences.users)).toEqual([0]);
    expect(Array.from(sequences.tokens)).toEqual([2]);
  });

  it("rejects unsorted events, unknown items and data without engagement labels", () => {
    const sorted = eventTable([
      { user: 0, item: 0, ts: 1, labels: ["click"] },
      { user: 0, item: 2, ts: 2, labels: ["click"] },
    ]);
    const unsorted: EventTable = { ...sorted, ts: Float64Array.from([2, 1]) };
    expect(() => buildAuthorSequences(unsorted, items)).toThrow(/not sorted by time at row 1/);
    const unknownItem: EventTable = { ...sorted, item: Int32Array.from([0, 9]) };
    expect(() => buildAuthorSequences(unknownItem, items)).toThrow(/item row 9, outside the 4 items/);
    const noLabels: EventTable = { ...sorted, labels: { hate: new Uint8Array(2) } };
    expect(() => engagedEvents(noLabels)).toThrow(/none of the engagement labels/);
  });
});
