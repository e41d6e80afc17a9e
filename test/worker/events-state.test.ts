// The user state Durable Object on its own: groups of users, bounds, ordering, idempotency windows, atomic
// batches, and concurrent calls. Storage is isolated per test file (vitest-pool-workers 0.13+), so tests use fresh users.
import { abortAllDurableObjects, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { InteractionType, UserEvent } from "../../core/realtime/events";
import { USER_STATE_GROUPS, USER_STATE_LIMITS, userStateGroup, userStateStub, type UserState } from "../../worker/state/user-state";

const T0 = Date.UTC(2026, 0, 1);

/**
 * Groups this file's tests have written to. A group object's trending outbox holds every user's pending batches, so a
 * test that reads the outbox needs a group no earlier test used: with 64 groups, a random id shared one with an
 * earlier test's 1,000 events often enough to fail a run now and then.
 */
const claimedGroups = new Set<number>();

function unclaimedUserId(): string {
  for (;;) {
    const userId = `u-${crypto.randomUUID()}`;
    if (!claimedGroups.has(userStateGroup(userId))) return userId;
  }
}

function freshUser(): { userId: string; stub: DurableObjectStub<UserState> } {
  const userId = unclaimedUserId();
  claimedGroups.add(userStateGroup(userId));
  return { userId, stub: userStateStub(env, userId) };
}

function events(userId: string, count: number, make: (i: number) => Partial<UserEvent> = () => ({})): UserEvent[] {
  return Array.from({ length: count }, (_, i) => ({ event_id: `e${i}`, user_id: userId, item_id: `v${i}`, type: "impression" as InteractionType, ts: T0 + i, surface: 0, ...make(i) }));
}

async function ingestInBatches(stub: DurableObjectStub<UserState>, userId: string, all: UserEvent[]): Promise<number> {
  let accepted = 0;
  for (let from = 0; from < all.length; from += USER_STATE_LIMITS.batch) accepted += (await stub.ingest(userId, all.slice(from, from + USER_STATE_LIMITS.batch))).accepted;
  return accepted;
}

async function tableSize(stub: DurableObjectStub<UserState>, userId: string, table: string): Promise<number> {
  return runInDurableObject(stub, (_instance: UserState, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`, userId).one().n);
}

/** Two fresh users whose state lives in the same object. */
function twoUsersOfOneGroup(): [string, string] {
  const first = freshUser().userId;
  for (;;) {
    const second = `u-${crypto.randomUUID()}`;
    if (userStateGroup(second) === userStateGroup(first)) return [first, second];
  }
}

describe("UserState groups", () => {
  it("spreads users over a fixed number of objects, about evenly", () => {
    const counts = new Array<number>(USER_STATE_GROUPS).fill(0);
    for (let i = 0; i < 6_400; i++) counts[userStateGroup(String(i))]! += 1;
    // 100 expected per group; FNV-1a over sequential ids stays well within ±40%
    expect(Math.min(...counts)).toBeGreaterThan(60);
    expect(Math.max(...counts)).toBeLessThan(140);
    expect(userStateGroup("12345")).toBe(userStateGroup("12345"));
  });

  it("keeps each user of a group apart: state, bounds, seen items and idempotency are per user", async () => {
    const [a, b] = twoUsersOfOneGroup();
    const stub = userStateStub(env, a);
    expect(userStateStub(env, b).id.equals(stub.id)).toBe(true);
    await stub.ingest(a, events(a, 600));
    await stub.ingest(b, events(b, 3, (i) => ({ item_id: `b${i}`, type: "follow" })));
    // the same event ids under another user are that user's own, not duplicates
    expect(await stub.ingest(b, events(b, 2, (i) => ({ event_id: `e${i + 10}` })))).toMatchObject({ accepted: 2, duplicates: 0 });
    const [ofA, ofB] = [await stub.snapshot(a), await stub.snapshot(b)];
    expect(ofA.events).toHaveLength(USER_STATE_LIMITS.events);
    expect(ofA.followedItems).toEqual([]);
    expect(ofB.events.map((event) => event.item_id)).toEqual(["b0", "v0", "b1", "v1", "b2"]);
    expect(ofB.followedItems).toEqual(["b0", "b1", "b2"]);
    expect(ofB.seen).not.toContain("v599");
    expect(await stub.snapshot(`u-${crypto.randomUUID()}`)).toEqual({ events: [], seen: [], followedItems: [] });
  });

  it("refuses a user routed to another group's object", async () => {
    const a = freshUser().userId;
    let other = `u-${crypto.randomUUID()}`;
    while (userStateGroup(other) === userStateGroup(a)) other = `u-${crypto.randomUUID()}`;
    const stub = userStateStub(env, a);
    await stub.ingest(a, events(a, 1));
    await runInDurableObject(stub, (instance: UserState) => {
      expect(() => instance.ingest(other, events(other, 1))).toThrow(/holds group \d+, got user .* of group \d+/);
    });
  });

  it("creates no object per user: reads of never-seen users stay within the fixed groups", async () => {
    const before = (await listDurableObjectIds(env.USER_STATE)).length;
    for (let i = 0; i < 300; i++) {
      const userId = `never-seen-${i}-${crypto.randomUUID()}`;
      expect((await userStateStub(env, userId).snapshot(userId)).events).toEqual([]);
    }
    const after = await listDurableObjectIds(env.USER_STATE);
    expect(after.length).toBeLessThanOrEqual(Math.max(before, USER_STATE_GROUPS));
  });
});

describe("UserState bounds", () => {
  it("keeps the newest 500 events by ts, dropping the oldest even when they arrive last", async () => {
    const { userId, stub } = freshUser();
    const all = events(userId, 600);
    await stub.ingest(userId, all.slice(300)); // newest first
    await stub.ingest(userId, all.slice(0, 300));
    const snapshot = await stub.snapshot(userId);
    expect(snapshot.events).toHaveLength(USER_STATE_LIMITS.events);
    expect(snapshot.events.map((event) => event.ts)).toEqual(all.slice(100).map((event) => event.ts));
  });

  it("keeps the 5,000 most recently seen items, refreshing an item seen again", async () => {
    const { userId, stub } = freshUser();
    const all = events(userId, 5_200);
    all.push({ event_id: "again", user_id: userId, item_id: "v0", type: "click", ts: T0 + 10_000, surface: 0 });
    await ingestInBatches(stub, userId, all);
    const { seen } = await stub.snapshot(userId);
    expect(seen).toHaveLength(USER_STATE_LIMITS.seen);
    // v0 was seen again last; v1..v200 were the oldest and went.
    expect(seen[seen.length - 1]).toBe("v0");
    expect(seen.slice(0, 3)).toEqual(["v201", "v202", "v203"]);
    expect(seen).not.toContain("v200");
  });

  it("keeps the newest 1,000 follows, never moving an item back in time", async () => {
    const { userId, stub } = freshUser();
    await ingestInBatches(stub, userId, events(userId, 1_100, () => ({ type: "follow" })));
    await stub.ingest(userId, [{ event_id: "late", user_id: userId, item_id: "v1099", type: "follow", ts: T0, surface: 0 }]);
    const { followedItems, seen } = await stub.snapshot(userId);
    expect(followedItems).toHaveLength(USER_STATE_LIMITS.follows);
    expect(followedItems[0]).toBe("v100");
    expect(followedItems[followedItems.length - 1]).toBe("v1099");
    expect(seen[seen.length - 1]).toBe("v1099");
  });

  it("remembers the last 10,000 event ids, and ids of events it still holds", async () => {
    const { userId, stub } = freshUser();
    const newest: UserEvent = { event_id: "newest", user_id: userId, item_id: "vx", type: "like", ts: T0 + 1e9, surface: 0 };
    await stub.ingest(userId, [newest]);
    const all = events(userId, 10_500);
    expect(await ingestInBatches(stub, userId, all)).toBe(10_500);
    expect(await tableSize(stub, userId, "received_event_ids")).toBe(USER_STATE_LIMITS.receivedEventIds);
    // Out of the id window but still among the newest events: a duplicate.
    expect(await stub.ingest(userId, [newest])).toMatchObject({ accepted: 0, duplicates: 1 });
    // Recently received: a duplicate. Out of both windows: accepted again (the documented limit).
    expect(await stub.ingest(userId, [all[10_499] as UserEvent, all[0] as UserEvent])).toMatchObject({ accepted: 1, duplicates: 1, acceptedEventIds: ["e0"] });
  });
});

describe("UserState ingestion", () => {
  it("reports accepted ids, counts duplicates within and across calls, and sorts by ts with ties in arrival order", async () => {
    const { userId, stub } = freshUser();
    const batch = events(userId, 3, (i) => ({ ts: T0 + (2 - i) * 10 }));
    const first = await stub.ingest(userId, [...batch, batch[0] as UserEvent]);
    expect(first).toMatchObject({ accepted: 3, duplicates: 1, acceptedEventIds: ["e0", "e1", "e2"], log: "ok" });
    // trending's copy of the accepted events, with their range, until trending confirms it (worker/state/trending-outbox.ts)
    expect(first.trending?.batches.map(({ fromSeq, toSeq, events: held }) => [fromSeq, toSeq, held.map((event) => event.event_id)])).toEqual([[1, 3, ["e0", "e1", "e2"]]]);
    const again = await stub.ingest(userId, batch);
    expect(again).toMatchObject({ accepted: 0, duplicates: 3, acceptedEventIds: [], log: "ok" });
    expect(again.trending?.batches.map(({ fromSeq, toSeq }) => [fromSeq, toSeq])).toEqual([[1, 3]]);
    await stub.trendingDelivered(first.trending?.writer ?? "", 3);
    expect((await stub.ingest(userId, batch)).trending).toBeNull();
    await stub.ingest(userId, [{ event_id: "tie", user_id: userId, item_id: "tied", type: "click", ts: T0 + 10, surface: 3 }]);
    const { events: stored } = await stub.snapshot(userId);
    expect(stored).toEqual([
      { item_id: "v2", ts: T0, surface: 0, type: "impression" },
      { item_id: "v1", ts: T0 + 10, surface: 0, type: "impression" },
      { item_id: "tied", ts: T0 + 10, surface: 3, type: "click" },
      { item_id: "v0", ts: T0 + 20, surface: 0, type: "impression" },
    ]);
  });

  it("stores every distinct event exactly once under concurrent calls", async () => {
    const { userId, stub } = freshUser();
    const pool = events(userId, 400);
    const calls = Array.from({ length: 40 }, (_, k) => pool.slice(k * 10, k * 10 + 50));
    const results = await Promise.all(calls.map((batch) => stub.ingest(userId, batch)));
    expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(400);
    expect(new Set(results.flatMap((r) => r.acceptedEventIds)).size).toBe(400);
    expect(await tableSize(stub, userId, "events")).toBe(400);
    expect((await stub.snapshot(userId)).events.map((event) => event.item_id)).toEqual(pool.map((event) => event.item_id));
  });

  // Error paths call the instance through runInDurableObject: a rejecting RPC through a stub leaks an extra
  // unhandled rejection in vitest-pool-workers 0.15 (cloudflare/workers-sdk#14736) and fails the run.
  it("refuses another user's events and malformed events, storing nothing from that batch", async () => {
    const { userId, stub } = freshUser();
    await stub.ingest(userId, events(userId, 1));
    await runInDurableObject(stub, (instance: UserState) => {
      expect(() => instance.ingest(userId, [{ ...events(userId, 2)[1]!, event_id: "ok" }, { ...events("someone-else", 1)[0]!, event_id: "x" }])).toThrow(/for user .* holds an event of user "someone-else"/);
      expect(() => instance.ingest(userId, [{ ...events(userId, 1)[0]!, event_id: "bad", type: "purchase" as InteractionType }])).toThrow(/ingest\[0\]: event type/);
      expect(() => instance.ingest(userId, [{ ...events(userId, 1)[0]!, event_id: "bad", ts: 1.5 }])).toThrow(/event ts/);
      expect(() => instance.ingest(userId, events(userId, USER_STATE_LIMITS.batch + 1))).toThrow(/at most 1000/);
    });
    expect((await stub.snapshot(userId)).events).toHaveLength(1);
  });

  it("rolls back a whole batch when a statement fails midway", async () => {
    const { userId, stub } = freshUser();
    await stub.ingest(userId, events(userId, 1));
    await runInDurableObject(stub, async (instance: UserState, state) => {
      // A trigger that rejects one item makes the third insert of the batch throw.
      state.storage.sql.exec("CREATE TRIGGER reject_poison BEFORE INSERT ON events WHEN NEW.item_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
      const batch = events(userId, 4).slice(1);
      batch[1] = { ...(batch[1] as UserEvent), item_id: "poison" };
      expect(() => instance.ingest(userId, batch)).toThrow(/poisoned/);
      state.storage.sql.exec("DROP TRIGGER reject_poison");
    });
    expect(await tableSize(stub, userId, "events")).toBe(1);
    expect(await tableSize(stub, userId, "received_event_ids")).toBe(1);
    expect(await stub.ingest(userId, events(userId, 4))).toMatchObject({ accepted: 3, duplicates: 1 });
  });

  it("keeps its state across a restart of the object", async () => {
    const { userId, stub } = freshUser();
    await stub.ingest(userId, events(userId, 5, () => ({ type: "follow" })));
    const before = await stub.snapshot(userId);
    await abortAllDurableObjects();
    const again = userStateStub(env, userId);
    expect(await again.snapshot(userId)).toEqual(before);
    expect(await again.ingest(userId, events(userId, 5))).toMatchObject({ accepted: 0, duplicates: 5 });
  });
});
