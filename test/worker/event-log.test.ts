// The durable event log end to end inside workerd: POST /v1/events → the user-state objects' outboxes → R2 objects
// under events/v1/hour=…/, read back and checked for exactly-once after retried and concurrent posts, after a crash
// between the objects' write and the log's, and after an outage of R2. Storage (R2 and Durable Objects) is per test
// file, so every check reads the whole log: a duplicate anywhere fails it.
import { abortAllDurableObjects, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EVENT_LOG_PREFIX, parseEventLogCsv, parseEventLogKey, type EventLogKey } from "../../core/event-log/format";
import type { InteractionType, UserEvent } from "../../core/realtime/events";
import { eventLogStore, type EventLogStore } from "../../worker/event-log/store";
import { EVENT_OUTBOX_LIMITS } from "../../worker/state/event-outbox";
import { userStateGroup, userStateStub, type UserState } from "../../worker/state/user-state";

const TOKEN = "test-ingest-token";
const HOUR_MS = 3_600_000;
/** A historical hour boundary: batches straddle it, so flights write one object per hour. */
const T0 = Date.UTC(2022, 4, 4, 10, 30);
const TYPES: readonly InteractionType[] = ["impression", "click", "long_view", "like", "comment", "forward", "follow", "hate"];

interface EventsAnswer {
  readonly accepted: number;
  readonly duplicates: number;
  readonly log: "ok" | "pending";
}

function uid(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** `count` events of `users` round-robin, 90 s apart from T0 (so 100 of them span about 2.5 hours), ids needing quotes included. */
function eventPool(users: readonly string[], count: number): UserEvent[] {
  const prefix = crypto.randomUUID();
  return Array.from({ length: count }, (_, i) => ({
    event_id: i % 7 === 0 ? `${prefix},${i} "quoted"` : `${prefix}-${i}`,
    user_id: users[i % users.length] as string,
    item_id: `v${i % 13}`,
    type: TYPES[i % TYPES.length] as InteractionType,
    ts: T0 + i * 90_000,
    surface: i % 3,
  }));
}

async function post(events: readonly UserEvent[]): Promise<Response> {
  return exports.default.fetch(new Request("http://ranker.test/v1/events", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ events }) }));
}

async function postOk(events: readonly UserEvent[]): Promise<EventsAnswer> {
  const response = await post(events);
  const body = (await response.json()) as EventsAnswer;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** Runs every user-state object's alarm (the outbox's safety net) until none is due: what the runtime does within ~10 s. */
async function runAlarmsUntilQuiet(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const ids = await listDurableObjectIds(env.USER_STATE);
    const ran = await Promise.all(ids.map((id) => runDurableObjectAlarm(env.USER_STATE.get(id))));
    if (!ran.some(Boolean)) return;
  }
  throw new Error("the outboxes' alarms kept coming back after 20 rounds");
}

interface LoggedRow {
  readonly key: EventLogKey;
  readonly event: UserEvent;
}

/** Every row of every object under events/v1/, with the key it came from. */
async function readLog(): Promise<LoggedRow[]> {
  const rows: LoggedRow[] = [];
  for (const [objectKey, text] of await logObjects()) {
    const key = parseEventLogKey(objectKey);
    expect(key, objectKey).not.toBeNull();
    for (const event of parseEventLogCsv(objectKey, text)) {
      // every row of an object is in the hour its key names
      expect(new Date(event.ts).toISOString().slice(0, 13).replace(/[-T]/g, ""), objectKey).toBe(key!.hour);
      rows.push({ key: key!, event });
    }
  }
  return rows;
}

/** Every object under events/v1/: key → text. */
async function logObjects(): Promise<Map<string, string>> {
  const bucket = env.EVENT_LOG as R2Bucket;
  const objects = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: EVENT_LOG_PREFIX, ...(cursor === undefined ? {} : { cursor }) });
    for (const object of page.objects) objects.set(object.key, await (await bucket.get(object.key))!.text());
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return objects;
}

const identity = (event: Pick<UserEvent, "user_id" | "event_id">) => JSON.stringify([event.user_id, event.event_id]);

/**
 * The log's invariants over everything written so far: no (user, event_id) twice, and per writer the flights'
 * ranges never overlap unless they are the same flight. Returns the rows of `users`.
 */
async function readLogExactlyOnce(users: readonly string[]): Promise<UserEvent[]> {
  const rows = await readLog();
  const seen = new Map<string, string>();
  for (const { key, event } of rows) {
    const id = identity(event);
    expect(seen.has(id), `${id} is in ${seen.get(id)} and again in ${key.writer}-${key.fromSeq}-${key.toSeq}`).toBe(false);
    seen.set(id, `${key.hour}/${key.writer}-${key.fromSeq}-${key.toSeq}`);
  }
  const flights = new Map<string, Array<[number, number]>>();
  for (const { key } of rows) {
    const ranges = flights.get(key.writer) ?? [];
    if (!ranges.some(([from, to]) => from === key.fromSeq && to === key.toSeq)) ranges.push([key.fromSeq, key.toSeq]);
    flights.set(key.writer, ranges);
  }
  for (const [writer, ranges] of flights) {
    ranges.sort((a, b) => a[0] - b[0]);
    ranges.forEach(([from], i) => i > 0 && expect(from, `${writer}'s flights overlap`).toBeGreaterThan((ranges[i - 1] as [number, number])[1]));
  }
  const wanted = new Set(users);
  return rows.map((row) => row.event).filter((event) => wanted.has(event.user_id));
}

function expectSameEvents(logged: readonly UserEvent[], expected: readonly UserEvent[]): void {
  const byId = (events: readonly UserEvent[]) => [...events].sort((a, b) => (identity(a) < identity(b) ? -1 : identity(a) > identity(b) ? 1 : 0));
  expect(logged.length).toBe(expected.length);
  expect(byId(logged)).toEqual(byId(expected));
}

async function outboxRows(userId: string): Promise<number> {
  return runInDurableObject(
    userStateStub(env, userId),
    (_instance: UserState, state) => state.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(to_seq - from_seq + 1), 0) AS n FROM event_outbox_batches").one().n,
  );
}

/** Replaces the log store of the live object holding `userId` (the tests' seam; a restart brings back the real one). */
async function useStore(userId: string, store: (real: EventLogStore) => EventLogStore | null): Promise<void> {
  await runInDurableObject(userStateStub(env, userId), (instance: UserState) => {
    instance.eventLog.store = store(eventLogStore(env) as EventLogStore);
  });
}

/** Two fresh users held by the same object, and one held by another. */
function usersOfTwoGroups(): [string, string, string] {
  const first = uid("u");
  let second = uid("u");
  while (userStateGroup(second) !== userStateGroup(first)) second = uid("u");
  let other = uid("u");
  while (userStateGroup(other) === userStateGroup(first)) other = uid("u");
  return [first, second, other];
}

describe("event log: exactly once", () => {
  it("holds each accepted event once after the same batch is posted concurrently, overlapping batches, and retries", async () => {
    const users = [...usersOfTwoGroups(), uid("u"), uid("u")];
    const pool = eventPool(users, 400);
    // five concurrent copies of one batch; overlapping windows, each event in up to four posts at once; a flush racing them
    const copies = Array.from({ length: 5 }, () => pool.slice(0, 100));
    const windows = Array.from({ length: 17 }, (_, k) => pool.slice(k * 20, k * 20 + 80));
    const answers = await Promise.all([...[...copies, ...windows].map(postOk), runAlarmsUntilQuiet().then(() => undefined)]);
    const sent = [...copies, ...windows].reduce((sum, batch) => sum + batch.length, 0);
    const counted = answers.filter((answer): answer is EventsAnswer => answer !== undefined);
    expect(counted.reduce((sum, answer) => sum + answer.accepted, 0)).toBe(pool.length);
    expect(counted.reduce((sum, answer) => sum + answer.accepted + answer.duplicates, 0)).toBe(sent);
    expect(counted.every((answer) => answer.log === "ok")).toBe(true);
    // the whole pool again, after some of it reached the log: all duplicates, nothing new in the log
    expect(await postOk(pool)).toMatchObject({ accepted: 0, duplicates: pool.length, log: "ok" });
    await runAlarmsUntilQuiet();
    expectSameEvents(await readLogExactlyOnce(users), pool);
    for (const user of users) expect(await outboxRows(user)).toBe(0);
  });

  it("writes one object per UTC hour of a flight, its rows sorted by (ts, event_id)", async () => {
    const user = uid("u");
    const pool = eventPool([user], 100).reverse(); // sent newest first: the objects still list rows by time
    await postOk(pool);
    await runAlarmsUntilQuiet();
    const rows = (await readLog()).filter((row) => row.event.user_id === user);
    const hours = [...new Set(rows.map((row) => row.key.hour))];
    expect(hours).toEqual(["2022050410", "2022050411", "2022050412"]);
    expect(new Set(rows.map((row) => `${row.key.fromSeq}-${row.key.toSeq}`)).size).toBe(1); // one flight
    expect(rows.map((row) => row.event.ts)).toEqual([...pool].map((event) => event.ts).sort((a, b) => a - b));
  });

  it("ships a long backlog in flights of whole ingest batches, at most 5,000 events each, contiguous and disjoint", async () => {
    const user = uid("u");
    const pool = eventPool([user], 6_001);
    await postOk(pool.slice(0, 1));
    await useStore(user, () => null); // held back, as in an outage, so the batches pile up
    for (let from = 1; from < pool.length; from += 1_000) await postOk(pool.slice(from, from + 1_000));
    await abortAllDurableObjects();
    await runAlarmsUntilQuiet();
    const rows = (await readLogExactlyOnce([user])).length;
    expect(rows).toBe(pool.length);
    const ranges = [...new Set((await readLog()).filter((row) => row.event.user_id === user).map((row) => `${row.key.fromSeq}-${row.key.toSeq}`))]
      .map((range) => range.split("-").map(Number) as [number, number])
      .sort((a, b) => a[0] - b[0]);
    // the first event was a batch of its own, then six of 1,000: 1 + 4 × 1,000 fill the first flight, the last two the second
    expect(ranges.map(([from, to]) => to - from + 1)).toEqual([4_001, 2_000]);
    expect((ranges[1] as [number, number])[0]).toBe((ranges[0] as [number, number])[1] + 1);
  });

  it("flushes from ingest, without the alarm, once a flight's worth is waiting", async () => {
    const user = uid("u");
    const pool = eventPool([user], EVENT_OUTBOX_LIMITS.flushRows + 200);
    await postOk(pool.slice(0, EVENT_OUTBOX_LIMITS.flushRows - 1)); // one short of the threshold: left to the alarm
    await postOk(pool.slice(EVENT_OUTBOX_LIMITS.flushRows - 1));
    // the ingest that crossed the threshold started the flush; it finishes on its own
    let logged: UserEvent[] = [];
    for (let attempt = 0; attempt < 50 && logged.length < pool.length; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      logged = (await readLog()).map((row) => row.event).filter((event) => event.user_id === user);
    }
    expectSameEvents(logged, pool);
  });
});

describe("event log: crashes and outages", () => {
  it("recovers a crash after the objects were written and before the outbox was cleared: same keys, same bytes, once", async () => {
    const [user, neighbour] = usersOfTwoGroups();
    const first = eventPool([user, neighbour], 60);
    const written = new Map<string, string>();
    await useStore(user, (real) => ({
      async put(key, body) {
        await real.put(key, body);
        written.set(key, body);
        throw new Error("crashed after the put");
      },
    }));
    expect((await postOk(first)).accepted).toBe(60);
    await runDurableObjectAlarm(userStateStub(env, user)); // the flush writes its objects, then "crashes"
    expect(written.size).toBeGreaterThan(0);
    expect(await outboxRows(user)).toBe(60); // nothing marked: the flight stays reserved
    const second = eventPool([user, neighbour], 30);
    expect((await postOk(second)).log).toBe("pending"); // the last flush failed

    await abortAllDurableObjects(); // the object dies; the next instance has the real store again
    await runAlarmsUntilQuiet();
    const logged = await readLogExactlyOnce([user, neighbour]);
    expectSameEvents(logged, [...first, ...second]);
    // the retry rewrote exactly the reserved flight: the same keys with the same bytes, and the later rows in another flight
    for (const [key, body] of written) expect(await (await (env.EVENT_LOG as R2Bucket).get(key))!.text()).toBe(body);
    const crashedKeys = new Set([...written.keys()].map((key) => parseEventLogKey(key)!).map((key) => `${key.fromSeq}-${key.toSeq}`));
    expect(crashedKeys.size).toBe(1);
    expect(await outboxRows(user)).toBe(0);
    expect((await postOk(eventPool([user], 1))).log).toBe("ok");
  });

  it("keeps accepting events while R2 is down, says the log is pending, and ships them once it is back", async () => {
    const [user, neighbour, other] = usersOfTwoGroups();
    let attempts = 0;
    await useStore(user, () => ({
      async put() {
        attempts++;
        throw new Error("R2 is down");
      },
    }));
    const pool = eventPool([user, neighbour, other], 90);
    expect(await postOk(pool.slice(0, 45))).toMatchObject({ accepted: 45, log: "ok" }); // not known yet: no flush has failed
    await runDurableObjectAlarm(userStateStub(env, user));
    expect(attempts).toBeGreaterThan(0);
    expect(await postOk(pool.slice(45))).toMatchObject({ accepted: 45, log: "pending" });
    expect(await postOk(pool)).toMatchObject({ accepted: 0, duplicates: 90, log: "pending" });
    await runDurableObjectAlarm(userStateStub(env, other)); // the other object's log is healthy
    expect((await readLog()).filter((row) => row.event.user_id === user)).toEqual([]);
    expect(await outboxRows(user)).toBe(60);

    await useStore(user, (real) => real); // R2 is back, in the same instance: the alarm's retry ships everything
    await runAlarmsUntilQuiet();
    expectSameEvents(await readLogExactlyOnce([user, neighbour, other]), pool);
    expect((await postOk(eventPool([user], 1))).log).toBe("ok");
  });

  it("never overwrites the objects of an earlier life of an object whose storage was wiped", async () => {
    const user = uid("u");
    const before = eventPool([user], 10);
    await postOk(before);
    await runAlarmsUntilQuiet();
    const [earlierWriter] = new Set((await readLog()).filter((row) => row.event.user_id === user).map((row) => row.key.writer));
    const earlierObjects = new Map([...(await logObjects())].filter(([key]) => parseEventLogKey(key)?.writer === earlierWriter));
    expect(earlierObjects.size).toBeGreaterThan(0);
    await runInDurableObject(userStateStub(env, user), (_instance: UserState, state) => state.storage.deleteAll());
    await abortAllDurableObjects();
    const after = eventPool([user], 10);
    await postOk(after); // the wiped object's sequence starts at 1 again
    await runAlarmsUntilQuiet();
    const laterRows = (await readLog()).filter((row) => row.key.writer !== earlierWriter && row.event.user_id === user);
    expect(new Set(laterRows.map((row) => row.key.writer)).size).toBe(1);
    expect(Math.min(...laterRows.map((row) => row.key.fromSeq))).toBe(1);
    for (const writer of [earlierWriter, laterRows[0]?.key.writer]) expect(writer).toMatch(new RegExp(`^group_${userStateGroup(user)}\\.[0-9a-f]{8}$`));
    const objects = await logObjects();
    for (const [key, body] of earlierObjects) expect(objects.get(key), key).toBe(body);
    expectSameEvents(await readLogExactlyOnce([user]), [...before, ...after]);
  });

  it("without the EVENT_LOG binding keeps the events in the outbox and says so", async () => {
    const user = uid("u");
    expect(eventLogStore({})).toBeNull();
    await postOk(eventPool([user], 1)); // creates the object
    await useStore(user, () => null);
    const pool = eventPool([user], 20);
    expect(await postOk(pool)).toMatchObject({ accepted: 20, log: "pending" });
    await runDurableObjectAlarm(userStateStub(env, user));
    expect(await outboxRows(user)).toBe(21);
    await abortAllDurableObjects();
    await runAlarmsUntilQuiet();
    expect(await outboxRows(user)).toBe(0);
  });

  it("refuses new events with 503 and Retry-After once an object's outbox is full, and stores none of them", async () => {
    const user = uid("u");
    await postOk(eventPool([user], 1));
    await runAlarmsUntilQuiet();
    // an outage's backlog, made directly: a full outbox of rows that continue the object's sequence
    await runInDurableObject(userStateStub(env, user), (_instance: UserState, state) => {
      const nextSeq = Number(state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'next_seq'").one().value);
      // the bound counts sequence numbers, so one batch row standing for the whole range is enough (it is removed below, never shipped)
      state.storage.sql.exec(
        "INSERT INTO event_outbox_batches (from_seq, to_seq, events, added_ms) VALUES (?, ?, '[]', ?)",
        nextSeq, nextSeq + EVENT_OUTBOX_LIMITS.maxPendingRows - 1, Date.now(),
      );
      state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'next_seq'", String(nextSeq + EVENT_OUTBOX_LIMITS.maxPendingRows));
    });
    const refusedEvents = eventPool([user], 3);
    const refused = await post(refusedEvents);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("60");
    expect(await refused.json()).toMatchObject({ error: { code: "event_log_backlog" } });
    expect((await userStateStub(env, user).snapshot(user)).events).toHaveLength(1);

    // the backlog drains (here: removed), and the same batch is then accepted
    await runInDurableObject(userStateStub(env, user), (_instance: UserState, state) => state.storage.sql.exec("DELETE FROM event_outbox_batches WHERE events = '[]'"));
    expect(await postOk(refusedEvents)).toMatchObject({ accepted: 3, duplicates: 0 });
    await runAlarmsUntilQuiet();
    expect((await readLogExactlyOnce([user])).length).toBe(4);
  });
});
