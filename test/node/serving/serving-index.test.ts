import { describe, expect, it } from "vitest";
import { buildItemTable, type ItemRecord } from "../../../core/data/builders";
import { LABEL_BIT } from "../../../core/features/engagement";
import type { UserHistories } from "../../../core/serving/assets";
import { buildServingIndex, neighboursOf } from "../../../core/serving/serving-index";

const item = (id: string, author: string): ItemRecord => ({ id, author, tags: [], createdAt: 0, durationMs: 0, type: "video", integrity: 1 });
const items = buildItemTable([item("a1", "alice"), item("a2", "alice"), item("b1", "bob")]);
const [A1, A2, B1] = [0, 1, 2];
const [ALICE, BOB] = [0, 1];

/** Per user, events oldest first, as the pipeline writes them into the bundle. */
function histories(users: readonly (readonly { item: number; ts: number; labels: number }[])[]): UserHistories {
  const events = users.flat();
  const offsets = new Int32Array(users.length + 1);
  users.forEach((list, user) => (offsets[user + 1] = (offsets[user] as number) + list.length));
  return {
    offsets,
    item: Int32Array.from(events, (event) => event.item),
    ts: Float64Array.from(events, (event) => event.ts),
    surface: new Int32Array(events.length),
    labels: Uint8Array.from(events, (event) => event.labels),
  };
}

describe("buildServingIndex's engagement graph", () => {
  const click = LABEL_BIT.click;
  const index = buildServingIndex({
    items,
    asOfMs: 1_000,
    histories: histories([
      /* user 0 */ [{ item: A1, ts: 400, labels: click }],
      /* user 1 */ [{ item: A1, ts: 100, labels: click }, { item: B1, ts: 900, labels: click }],
      /* user 2 */ [{ item: A2, ts: 300, labels: click }, { item: A1, ts: 500, labels: 0 }],
      /* user 3 */ [{ item: A1, ts: 50, labels: click }, { item: A2, ts: 250, labels: LABEL_BIT.like }],
      /* user 4 */ [{ item: A2, ts: 100, labels: click }],
      /* user 5 */ [{ item: B1, ts: 200, labels: click }],
    ]),
  });

  it("orders an author's engagers by their most recent engagement with the author, most recent last, ties by row", () => {
    // user 2's later impression is no engagement; user 3's last engagement is its second; users 1 and 4 tie at 100
    expect([...neighboursOf(index.authorUsers, ALICE)]).toEqual([1, 4, 3, 2, 0]);
    expect([...neighboursOf(index.authorUsers, BOB)]).toEqual([5, 1]);
  });

  it("lists the authors each user engaged, distinct, in order of first engagement", () => {
    expect([...neighboursOf(index.userAuthors, 1)]).toEqual([ALICE, BOB]);
    expect([...neighboursOf(index.userAuthors, 3)]).toEqual([ALICE]);
    expect([...neighboursOf(index.userAuthors, 5)]).toEqual([BOB]);
  });
});
