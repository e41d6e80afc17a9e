import { describe, expect, it } from "vitest";
import { IdIndex } from "../../../core/data/ids";
import { LABEL_BIT, UserActivity } from "../../../core/features";
import type { SnapshotEvent, UserEvent } from "../../../core/realtime/events";
import { groupByUser } from "../../../core/realtime/ingest-batch";
import { resolveUserSnapshot, snapshotEngagements } from "../../../core/realtime/snapshot-engagements";

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const items = IdIndex.from(["v1", "v2", "v3"]);
const at = (minutes: number, item_id: string, type: SnapshotEvent["type"], surface = 1): SnapshotEvent => ({ item_id, ts: T0 + minutes * MIN, surface, type });

describe("snapshotEngagements", () => {
  it("merges an impression and what the user did with it into one engagement with combined labels", () => {
    const { engagements, unknownItemEvents } = snapshotEngagements([at(0, "v1", "impression"), at(1, "v1", "click"), at(3, "v1", "like"), at(4, "v1", "long_view")], items);
    expect(unknownItemEvents).toBe(0);
    expect(engagements).toEqual([{ item: 0, ts: T0, surface: 1, labels: LABEL_BIT.click | LABEL_BIT.like | LABEL_BIT.long_view }]);
  });

  it("keeps an impression without engagement as a negative, and interleaved items apart", () => {
    const { engagements } = snapshotEngagements([at(0, "v1", "impression"), at(0, "v2", "impression"), at(1, "v2", "hate"), at(2, "v3", "impression")], items);
    expect(engagements).toEqual([
      { item: 0, ts: T0, surface: 1, labels: 0 },
      { item: 1, ts: T0, surface: 1, labels: LABEL_BIT.hate },
      { item: 2, ts: T0 + 2 * MIN, surface: 1, labels: 0 },
    ]);
  });

  it("starts a new engagement for a second impression, and attaches later events to the latest one", () => {
    const { engagements } = snapshotEngagements([at(0, "v1", "impression"), at(5, "v1", "impression"), at(6, "v1", "click")], items);
    expect(engagements.map((e) => e.labels)).toEqual([0, LABEL_BIT.click]);
    expect(engagements.map((e) => e.ts)).toEqual([T0, T0 + 5 * MIN]);
  });

  it("gives an engagement without an impression an implied one, and lets a late-reported impression complete it", () => {
    const implied = snapshotEngagements([at(0, "v1", "like")], items).engagements;
    expect(implied).toEqual([{ item: 0, ts: T0, surface: 1, labels: LABEL_BIT.like }]);
    const skewed = snapshotEngagements([at(0, "v1", "click"), at(0.5, "v1", "impression"), at(1, "v1", "follow")], items).engagements;
    expect(skewed).toEqual([{ item: 0, ts: T0, surface: 1, labels: LABEL_BIT.click | LABEL_BIT.follow }]);
  });

  it("does not merge across the impression window or across surfaces", () => {
    const late = snapshotEngagements([at(0, "v1", "impression"), at(61, "v1", "click")], items).engagements;
    expect(late.map((e) => e.labels)).toEqual([0, LABEL_BIT.click]);
    const narrow = snapshotEngagements([at(0, "v1", "impression"), at(10, "v1", "click")], items, { impressionWindowMs: 5 * MIN }).engagements;
    expect(narrow).toHaveLength(2);
    const otherSurface = snapshotEngagements([at(0, "v1", "impression", 1), at(1, "v1", "click", 2)], items).engagements;
    expect(otherSurface.map((e) => [e.surface, e.labels])).toEqual([[1, 0], [2, LABEL_BIT.click]]);
  });

  it("skips and counts events of items the catalogue does not know", () => {
    const { engagements, unknownItemEvents } = snapshotEngagements([at(0, "new-item", "impression"), at(1, "v2", "click"), at(2, "new-item", "like")], items);
    expect(unknownItemEvents).toBe(2);
    expect(engagements).toEqual([{ item: 1, ts: T0 + MIN, surface: 1, labels: LABEL_BIT.click }]);
  });

  it("refuses events that are not sorted by ts, and a bad window", () => {
    expect(() => snapshotEngagements([at(1, "v1", "impression"), at(0, "v1", "click")], items)).toThrow(/sorted by ts.*event 1/);
    expect(() => snapshotEngagements([], items, { impressionWindowMs: -1 })).toThrow(/impressionWindowMs/);
  });

  it("feeds UserActivity one impression per shown item, as the trainer's exposure rows do", () => {
    const catalogue = { author: Int32Array.from([0, 0, 1]), tagOffsets: Int32Array.from([0, 0, 0, 0]), tagIds: new Int32Array(0) };
    const { engagements } = snapshotEngagements([at(0, "v1", "impression"), at(1, "v1", "click"), at(2, "v2", "impression")], items);
    const activity = UserActivity.from(catalogue, engagements);
    expect(activity.impressions).toBe(2);
    expect(activity.positives[0]).toBe(1); // one click over two impressions, not one over three
  });
});

describe("resolveUserSnapshot", () => {
  it("maps seen items to rows and followed items to their authors, counting unknown ids", () => {
    const resolved = resolveUserSnapshot(
      { events: [at(0, "v3", "follow")], seen: ["v1", "v3", "gone"], followedItems: ["v3", "v2", "gone"] },
      { ids: items, author: Int32Array.from([7, 8, 9]) },
    );
    expect([...resolved.seenItems]).toEqual([0, 2]);
    expect(resolved.unknownSeenItems).toBe(1);
    expect([...resolved.followedAuthors]).toEqual([9, 8]);
    expect(resolved.unknownFollowedItems).toBe(1);
    expect(resolved.engagements).toEqual([{ item: 2, ts: T0, surface: 1, labels: LABEL_BIT.follow }]);
  });
});

describe("groupByUser", () => {
  const event = (event_id: string, user_id: string): UserEvent => ({ event_id, user_id, item_id: "v1", type: "click", ts: T0, surface: 0 });

  it("groups a batch by user in batch order and counts a repeated event_id once", () => {
    const { byUser, repeatedInBatch } = groupByUser([event("e1", "u1"), event("e2", "u2"), event("e3", "u1"), event("e1", "u1"), event("e2", "u3")]);
    expect(repeatedInBatch).toBe(2);
    expect([...byUser.keys()]).toEqual(["u1", "u2"]);
    expect(byUser.get("u1")?.map((e) => e.event_id)).toEqual(["e1", "e3"]);
  });
});
