// Section 3 of `npm run reliability` (issue 17): events under concurrency. Starts the real Worker in `wrangler dev`
// on loopback, serving the fixture bundle from a fresh local state, and has 16 concurrent clients post overlapping
// batches to POST /v1/events — for the same users and for different ones, bundle users and items and unknown ones —
// re-sending events other clients already sent, whole batches again, and every batch that failed until it is
// accepted. It runs twice: clean, then with Durable Object failures injected mid-batch (worker/faults/index.ts:
// user-state objects and the trending object throwing before or after they commit). Afterwards it checks, against
// the ground truth the clients generated, that every event is exactly once in each store:
//   - the user states (GET /v1/admin/users/{id}/state: each user's stored events with their ids),
//   - trending (GET /v1/admin/trending: each item's decayed count, against the same sum over the truth),
//   - the event log (R2 `EVENT_LOG`, `events/v1/hour=…/group_*.csv`, read back from the local bucket as
//     `npm run events:export` reads it, once the outboxes have drained and wrangler has stopped).
//
// It serves a snapshot of HEAD (snapshot.ts), so edits others make to the working tree meanwhile do not reload the
// Worker under the run; --checkout DIR serves another tree, --working-tree this one as it is.
//
//   npx tsx scripts/reliability/events.ts [--smoke] [--events N] [--clients N] [--seed N] [--checkout DIR | --working-tree]
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { EVENT_LOG_PREFIX, parseEventLogCsv } from "../../core/event-log/format";
import { INTERACTION_TYPES, type InteractionType, type UserEvent } from "../../core/realtime/events";
import { DEFAULT_TRENDING_WEIGHTS } from "../../core/realtime/trending-weights";
import { BundleTables } from "../../core/serving/bundle-tables";
import { createRandom } from "../../core/util/random";
import { fixtureBundleDirectory } from "../../test/support/fixture-bundle";
import type { TrendingResponse, UserStateResponse } from "../../worker/contract/realtime-state";
import type { EventsResponse } from "../../worker/contract/events";
import { startDevServer, REPO_ROOT, type DevServer } from "../bench/wrangler";
import { openLocalR2 } from "../event-log/local-r2";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { publishDirectory } from "../lib/kv-publish";
import { snapshotOfHead } from "./snapshot";
import type { ReliabilityRow, ReliabilitySection, ReliabilitySectionOptions, ReliabilitySectionResult } from "./section";

const SECTION = "events";
/** This run's `wrangler dev` holds these (--var), so a `.dev.vars` someone keeps does not decide them. */
const TOKENS = { ADMIN_TOKEN: "reliability-events-admin", INGEST_TOKEN: "reliability-events-ingest" } as const;
/**
 * What the faulty phase injects (worker/faults/index.ts): per call of a user-state object, and per trending delivery.
 * A batch calls one state object per user in it (about 8: BATCH_USERS and the overlap) and trending once, so these
 * fail about a fifth of batches: enough failures to matter, few enough that retried batches still get through.
 */
const FAULT_SPEC: Readonly<Record<string, number>> = {
  "user_state.ingest": 0.015,
  "user_state.ingest.after_commit": 0.015,
  "trending.apply": 0.05,
  "trending.apply.after_commit": 0.05,
};
/**
 * A user's state keeps their newest 500 events (USER_STATE_LIMITS.events): the truth stays under it per user, so
 * "every event is in the user's state" is checkable from the events themselves. 1.5× the average keeps a margin.
 */
const MAX_EVENTS_PER_USER = 450;
const AVERAGE_EVENTS_PER_USER = 300;
/**
 * A batch is retried until accepted, but not for ever: a run that cannot get one accepted within this long stops
 * retrying it and fails. A bound in time rather than in attempts, as the backoff grows: on a loaded machine a batch
 * may meet a run of the proxy's 503s besides its injected faults.
 */
const BATCH_RETRY_MS = 300_000;
/**
 * Users per batch at most. Each distinct user of a batch costs the Worker a Durable Object call (and each object a
 * trending confirmation), ~5–10 ms apiece on a loaded 2-core machine: batches spread over ~80 users (one event each,
 * as this run first drew them) made 16 clients' requests take seconds, capped a run at ~110 events/s, and so long a
 * wait made wrangler's proxy lose connections to the Worker (its misleading 503 "worker restarted mid-request").
 */
const BATCH_USERS = 12;
const REQUEST_TIMEOUT_MS = 60_000;

export interface EventsOptions extends ReliabilitySectionOptions {
  /** Events generated per phase (clean and faulty); the faulty phase is the one the bar counts. */
  readonly events?: number;
  readonly clients?: number;
  readonly seed?: number;
  /**
   * The working tree whose Worker to serve. By default a snapshot of HEAD: `wrangler dev` restarts the Worker on every
   * change to the files it serves, and others editing this tree meanwhile would restart it under the run.
   */
  readonly checkout?: string;
  /** Serve this working tree as it is (restarts and all) instead of a snapshot of HEAD. */
  readonly workingTree?: boolean;
}

/** Impressions most, then the engagements; ~half the events count for trending. */
const TYPE_WEIGHTS: ReadonlyArray<readonly [InteractionType, number]> = [["impression", 50], ["click", 20], ["long_view", 8], ["like", 8], ["comment", 3], ["forward", 3], ["follow", 3], ["hate", 5]];
const TYPE_TOTAL = TYPE_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);

/** The ground truth: every event the clients generated, each sent at least once and retried until accepted. */
class Truth {
  readonly events = new Map<string, UserEvent>();
  private readonly perUser = new Map<string, number>();
  private next = 0;

  constructor(
    private readonly users: readonly string[],
    private readonly items: readonly string[],
    private readonly random: () => number,
    /** Events are dated just before the run: recent enough that trending has not decayed them below its threshold. */
    private readonly baseTs: number,
  ) {}

  /** A user drawn uniformly from the run's users (full or not: generate falls back to others). */
  anyUser(): string {
    return this.users[Math.floor(this.random() * this.users.length)] as string;
  }

  /**
   * A new event for one of `among` (a batch's users), under the per-user bound; a user of `among` who is full is
   * replaced there by another with room, so that a batch keeps its few users to the end of a run (falling back to
   * any user per event spread late batches over a hundred users, and their fan-out made them fail nearly every try).
   * Undefined when no user with room is found.
   */
  generate(phase: string, among: string[]): UserEvent | undefined {
    if (among.length === 0) among.push(this.anyUser());
    const slot = Math.floor(this.random() * among.length);
    let user = among[slot] as string;
    for (let tries = 0; (this.perUser.get(user) ?? 0) >= MAX_EVENTS_PER_USER; tries++) {
      if (tries >= 200) return undefined;
      user = this.anyUser();
      among[slot] = user;
    }
    const count = this.perUser.get(user) ?? 0;
    this.perUser.set(user, count + 1);
    let pick = this.random() * TYPE_TOTAL;
    let type: InteractionType = "impression";
    for (const [candidate, weight] of TYPE_WEIGHTS) {
      pick -= weight;
      if (pick < 0) {
        type = candidate;
        break;
      }
    }
    const event: UserEvent = {
      event_id: `${phase}-${(this.next++).toString(36)}`,
      user_id: user,
      item_id: this.items[Math.floor(this.random() * this.items.length)] as string,
      type,
      ts: this.baseTs - Math.floor(this.random() * 60_000),
      surface: Math.floor(this.random() * 4),
    };
    this.events.set(key(event), event);
    return event;
  }
}

/** Events are unique per user by id (the Worker's idempotency key); the run's ids are unique overall anyway. */
const key = (event: { user_id: string; event_id: string }) => `${event.user_id}\u0000${event.event_id}`;

interface PhaseStats {
  readonly name: string;
  readonly faults: boolean;
  generated: number;
  posts: number;
  /** Posts of a batch again after an answer that was not 200 (or no answer). */
  retries: number;
  /** Events sent again on purpose: overlapping batches across clients, whole batches re-posted, repeats within a batch. */
  duplicatesSent: number;
  /** What the Worker answered as duplicates (by event_id), summed over 200 answers. */
  duplicatesAnswered: number;
  acceptedAnswered: number;
  /** Faults the Worker says fired (x-faults-fired), and the answers they produced. */
  faultsFired: number;
  answers503: number;
  trendingDegraded: number;
  otherStatuses: Map<number, number>;
  /** Error codes of the answers that were not 200. */
  errorCodes: Map<string, number>;
  networkErrors: number;
  /** Users whose state failed in a 503 beyond the faults injected into it (the Worker's state objects under load). */
  uninjectedStoreFailures: number;
  unconfirmedBatches: number;
  seconds: number;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly faultsFired: number;
}

function post(agent: Agent, url: URL, body: string, faults: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${TOKENS.INGEST_TOKEN}`, "content-length": String(Buffer.byteLength(body)) };
    if (faults) {
      headers["x-fault-inject"] = Object.entries(FAULT_SPEC).map(([point, p]) => `${point}=${p}`).join(",");
      headers["x-fault-token"] = TOKENS.ADMIN_TOKEN;
    }
    const request = httpRequest({ agent, host: url.hostname, port: url.port, path: "/v1/events", method: "POST", headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), faultsFired: Number(response.headers["x-faults-fired"] ?? 0) }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on("error", reject);
    request.end(body);
  });
}

async function getJson<T>(baseUrl: string, path: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${TOKENS.ADMIN_TOKEN}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    if (response.status === 200) return JSON.parse(text) as T;
    if (attempt >= 5) throw new Error(`GET ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    await sleep(200 * attempt);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: up to 50 ms, doubling per attempt, capped at 5 s. */
const backoff = (random: () => number, attempt: number) => Math.floor(random() * Math.min(5_000, 50 * 2 ** (attempt - 1)));

/**
 * One phase: `clients` loops, each building batches of fresh events plus events recently sent by any client (the
 * overlap), posting them, re-posting a whole accepted batch now and then, and retrying a failed one until accepted.
 */
async function runPhase(baseUrl: string, truth: Truth, options: { name: string; faults: boolean; events: number; clients: number; seed: number; log: (line: string) => void; deadlineMs: number }): Promise<PhaseStats> {
  const stats: PhaseStats = { name: options.name, faults: options.faults, generated: 0, posts: 0, retries: 0, duplicatesSent: 0, duplicatesAnswered: 0, acceptedAnswered: 0, faultsFired: 0, answers503: 0, trendingDegraded: 0, otherStatuses: new Map(), errorCodes: new Map(), networkErrors: 0, uninjectedStoreFailures: 0, unconfirmedBatches: 0, seconds: 0 };
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
  /** Events sent lately by any client: the pool the overlap is drawn from. */
  const recent: UserEvent[] = [];
  const recentByUser = new Map<string, UserEvent[]>();
  let remaining = options.events;
  let progressAt = 0;
  const started = performance.now();

  const send = async (random: () => number, batch: readonly UserEvent[]): Promise<void> => {
    const body = JSON.stringify({ events: batch });
    const firstAttemptAt = performance.now();
    /** What the batch's failed attempts answered, for the log when it is given up. */
    const failures = new Map<string, number>();
    const outOfTime = () => performance.now() - firstAttemptAt > BATCH_RETRY_MS || performance.now() > options.deadlineMs;
    const giveUp = (attempt: number) => {
      stats.unconfirmedBatches++;
      options.log(`  ${options.name}: gave up on a batch of ${batch.length} events after ${attempt} attempts in ${((performance.now() - firstAttemptAt) / 1000).toFixed(0)} s: ${[...failures].map(([what, n]) => `${n}× ${what}`).join(", ")}`);
    };
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) stats.retries++;
      stats.posts++;
      let answer: Answer;
      try {
        answer = await post(agent, url, body, options.faults);
      } catch (error) {
        stats.networkErrors++;
        failures.set((error as Error).message, (failures.get((error as Error).message) ?? 0) + 1);
        if (outOfTime()) {
          giveUp(attempt);
          return;
        }
        await sleep(backoff(random, attempt));
        continue;
      }
      stats.faultsFired += answer.faultsFired;
      if (answer.status === 200) {
        const parsed = JSON.parse(answer.body) as EventsResponse;
        stats.acceptedAnswered += parsed.accepted;
        stats.duplicatesAnswered += parsed.duplicates;
        if (parsed.trending === "degraded") stats.trendingDegraded++;
        return;
      }
      // wrangler dev's proxy answers a plain-text 503 "worker restarted mid-request" whenever its fetch to the Worker
      // fails on a POST: on a reload (a file it serves changed), but also when the Worker's runtime is too busy to take
      // the connection (its log: "overloaded: connect(): Connection timed out")
      const errorCode = /"code":"([a-z_]+)"/.exec(answer.body)?.[1];
      const code = `${answer.status} ${errorCode ?? (/restarted mid-request/.test(answer.body) ? "worker restarted" : "?")}`;
      stats.errorCodes.set(code, (stats.errorCodes.get(code) ?? 0) + 1);
      failures.set(code, (failures.get(code) ?? 0) + 1);
      // without injected faults nothing should fail: say what did
      if (!options.faults) options.log(`  ${options.name}: POST /v1/events answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      if (answer.status === 503) stats.answers503++;
      else stats.otherStatuses.set(answer.status, (stats.otherStatuses.get(answer.status) ?? 0) + 1);
      // 503 (a store failed) and 429 are the retryable answers; anything else is a bug the run reports
      if (answer.status !== 503 && answer.status !== 429) {
        failures.set(`${answer.status} ${answer.body.slice(0, 300)}`, 1);
        giveUp(attempt);
        return;
      }
      if (outOfTime()) {
        giveUp(attempt);
        return;
      }
      // stores that failed without an injected fault (a state object failing for real): counted, and 0 so far
      const failedStores = Number(/the state of (\d+) of/.exec(answer.body)?.[1] ?? 0);
      stats.uninjectedStoreFailures += Math.max(0, failedStores - answer.faultsFired);
      // every failure backs off exponentially with full jitter, as a client should: an injected store failure is
      // retried within tens of milliseconds, while an overloaded runtime (the proxy's plain 503) is not fed the same
      // batch again at once
      await sleep(backoff(random, attempt));
    }
  };

  const client = async (id: number) => {
    const random = createRandom(options.seed * 7919 + id);
    while (remaining > 0 && performance.now() < options.deadlineMs) {
      // sizes from a handful to a few hundred: small batches interleave finely, large ones span many objects
      const fresh = Math.min(remaining, 5 + Math.floor(random() ** 2 * 250));
      remaining -= fresh;
      // a batch holds the events of a few users (1..BATCH_USERS), as an app backend's batch holds its sessions':
      // the Worker calls one state object per distinct user of a batch, so the users, not the events, set its cost
      const among = Array.from({ length: 1 + Math.floor(random() * BATCH_USERS) }, () => truth.anyUser());
      const batch: UserEvent[] = [];
      for (let i = 0; i < fresh; i++) {
        const event = truth.generate(options.name, among);
        if (event === undefined) break;
        batch.push(event);
        stats.generated++;
      }
      // overlap: events another client (or this one) sent lately, some perhaps still in flight; mostly of this
      // batch's users (the same users from several clients at once), a few of anyone's
      const overlap = recent.length === 0 ? 0 : Math.floor(random() * Math.min(20, batch.length));
      for (let i = 0; i < overlap; i++) {
        const own = recentByUser.get(among[Math.floor(random() * among.length)] as string) ?? [];
        const pool = own.length > 0 && random() < 0.85 ? own : recent;
        batch.push(pool[Math.floor(random() * pool.length)] as UserEvent);
      }
      // repeats within the batch itself
      const repeats = random() < 0.2 && batch.length > 0 ? 1 + Math.floor(random() * 3) : 0;
      for (let i = 0; i < repeats; i++) batch.push(batch[Math.floor(random() * batch.length)] as UserEvent);
      const shuffled = batch.slice(0, 1000);
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j] as UserEvent, shuffled[i] as UserEvent];
      }
      stats.duplicatesSent += overlap + repeats;
      await send(random, shuffled);
      for (const event of shuffled) {
        recent.push(event);
        const own = recentByUser.get(event.user_id) ?? [];
        own.push(event);
        if (own.length > 64) own.splice(0, own.length - 32);
        recentByUser.set(event.user_id, own);
      }
      if (recent.length > 4000) recent.splice(0, recent.length - 2000);
      // a client that lost the answer of an accepted batch sends it all again
      if (random() < 0.05) {
        stats.duplicatesSent += shuffled.length;
        await send(random, shuffled);
      }
      if (stats.generated >= progressAt) {
        progressAt += Math.max(1000, Math.floor(options.events / 10));
        const elapsed = (performance.now() - started) / 1000;
        options.log(`  ${options.name}: ${stats.generated.toLocaleString("en-US")} events in ${elapsed.toFixed(0)} s (${(stats.generated / elapsed).toFixed(0)}/s), ${stats.posts.toLocaleString("en-US")} posts, ${stats.retries} retries, ${stats.faultsFired} faults fired`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, id) => client(id)));
  agent.destroy();
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

interface StoreCheck {
  readonly store: string;
  readonly expected: number;
  readonly lost: number;
  readonly doubled: number;
  /** Held but never sent, or held with other fields than sent. */
  readonly foreign: number;
  readonly note: string;
}

/** Reads every user's state, waiting (bounded) until no object has events on their way to the log or to trending. */
async function readUserStates(baseUrl: string, users: readonly string[], log: (line: string) => void, timeoutMs: number): Promise<Map<string, UserStateResponse>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const states = new Map<string, UserStateResponse>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < users.length) {
          const user = users[next++] as string;
          states.set(user, await getJson<UserStateResponse>(baseUrl, `/v1/admin/users/${encodeURIComponent(user)}/state`));
        }
      }),
    );
    const logPending = Math.max(...[...states.values()].map((state) => state.log_pending));
    const trendingPending = Math.max(...[...states.values()].map((state) => state.trending_pending));
    if ((logPending === 0 && trendingPending === 0) || performance.now() > deadline) {
      if (logPending > 0 || trendingPending > 0) log(`  outboxes still hold events after ${timeoutMs / 1000} s (log ${logPending}, trending ${trendingPending} in the fullest object)`);
      return states;
    }
    log(`  waiting for the outboxes: up to ${logPending} events for the log, ${trendingPending} for trending in one object`);
    await sleep(3000);
  }
}

function checkUserStates(truth: Truth, states: ReadonlyMap<string, UserStateResponse>): StoreCheck {
  let lost = 0;
  let doubled = 0;
  let foreign = 0;
  const expectedByUser = new Map<string, UserEvent[]>();
  for (const event of truth.events.values()) expectedByUser.set(event.user_id, [...(expectedByUser.get(event.user_id) ?? []), event]);
  for (const [user, state] of states) {
    const held = new Map<string, number>();
    for (const event of state.events) {
      held.set(event.event_id, (held.get(event.event_id) ?? 0) + 1);
      const sent = truth.events.get(key({ user_id: user, event_id: event.event_id }));
      if (sent === undefined || sent.item_id !== event.item_id || sent.type !== event.type || sent.ts !== event.ts || sent.surface !== event.surface) foreign++;
    }
    for (const count of held.values()) if (count > 1) doubled += count - 1;
    for (const event of expectedByUser.get(user) ?? []) if (!held.has(event.event_id)) lost++;
  }
  for (const [user, events] of expectedByUser) if (!states.has(user)) lost += events.length;
  return { store: "user state", expected: truth.events.size, lost, doubled, foreign, note: `${states.size} users` };
}

/** Trending keeps decayed sums, not events: each item's score against the same sum over the truth, in events. */
function checkTrending(truth: Truth, trending: TrendingResponse): StoreCheck {
  const expected = new Map<string, { score: number; events: number }>();
  let counted = 0;
  for (const event of truth.events.values()) {
    if (DEFAULT_TRENDING_WEIGHTS[event.type] <= 0) continue;
    const entry = expected.get(event.item_id) ?? { score: 0, events: 0 };
    entry.score += DEFAULT_TRENDING_WEIGHTS[event.type] * 2 ** (-(trending.as_of_ms - event.ts) / trending.half_life_ms);
    entry.events++;
    expected.set(event.item_id, entry);
    counted++;
  }
  const observed = new Map(trending.items.map((item) => [item.item_id, item.score]));
  let lost = 0;
  let doubled = 0;
  let foreign = 0;
  let worstResidue = 0;
  for (const [item, { score, events }] of expected) {
    // every event of the run is within a minute of the others, so one event weighs about score / events
    const perEvent = score / events;
    const difference = ((observed.get(item) ?? 0) - score) / perEvent;
    const whole = Math.round(difference);
    worstResidue = Math.max(worstResidue, Math.abs(difference - whole));
    if (whole < 0) lost -= whole;
    else doubled += whole;
  }
  for (const item of observed.keys()) if (!expected.has(item)) foreign++;
  return { store: "trending", expected: counted, lost, doubled, foreign, note: `${expected.size} items; largest fractional residue ${worstResidue.toExponential(1)} events` };
}

/** The event log as the local R2 bucket holds it (wrangler stopped): each truth event once, nothing else. */
async function checkEventLog(truth: Truth, persistTo: string): Promise<StoreCheck> {
  const local = await openLocalR2({ configPath: join(REPO_ROOT, "wrangler.toml"), persistTo });
  const counts = new Map<string, number>();
  let objects = 0;
  let foreign = 0;
  try {
    let cursor: string | undefined;
    do {
      const page = await local.bucket.list({ prefix: EVENT_LOG_PREFIX, ...(cursor === undefined ? {} : { cursor }) });
      for (const object of page.objects) {
        const text = await local.bucket.getText(object.key);
        if (text === null) continue;
        objects++;
        for (const event of parseEventLogCsv(object.key, text)) {
          counts.set(key(event), (counts.get(key(event)) ?? 0) + 1);
          const sent = truth.events.get(key(event));
          if (sent === undefined || sent.item_id !== event.item_id || sent.type !== event.type || sent.ts !== event.ts || sent.surface !== event.surface) foreign++;
        }
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor !== undefined);
  } finally {
    await local.dispose();
  }
  let lost = 0;
  let doubled = 0;
  for (const k of truth.events.keys()) if (!counts.has(k)) lost++;
  for (const count of counts.values()) if (count > 1) doubled += count - 1;
  return { store: "event log", expected: truth.events.size, lost, doubled, foreign, note: `${objects} objects` };
}

/** Bundle users and items, and as many unknown ones as the run needs beside them. */
async function vocabulary(bundleDirectory: string, users: number): Promise<{ users: string[]; items: string[]; knownUsers: number; knownItems: number }> {
  const files = await loadBundleDirectory(bundleDirectory);
  const tables = BundleTables.decode(files.manifest, files.files);
  const knownUsers = Array.from({ length: tables.users.ids.size }, (_, row) => tables.users.ids.id(row));
  const knownItems = Array.from({ length: tables.items.ids.size }, (_, row) => tables.items.ids.id(row));
  // a fifth of the users are never-seen ones (numbers past the data set's, and strings), as are a few items
  const usedKnown = knownUsers.slice(0, Math.min(knownUsers.length, Math.ceil(users * 0.8)));
  const unknownUsers = Array.from({ length: Math.max(users - usedKnown.length, Math.ceil(users * 0.2)) }, (_, i) => (i % 2 === 0 ? String(900_000_000 + i) : `new-user-${i}`));
  const unknownItems = Array.from({ length: Math.max(8, Math.ceil(knownItems.length / 20)) }, (_, i) => `new-item-${i}`);
  return { users: [...usedKnown, ...unknownUsers], items: [...knownItems, ...unknownItems], knownUsers: usedKnown.length, knownItems: knownItems.length };
}

const count = (n: number) => n.toLocaleString("en-US");

/** The section: start the Worker, run the clean and the faulty phase, check the three stores, stop it. */
export async function runEvents(options: EventsOptions): Promise<ReliabilitySectionResult> {
  const { smoke, log } = options;
  // the faulty phase is the one the bar counts; the clean one shows the same without failures, shorter in a full run
  const faultyEvents = options.events ?? (smoke ? 2_000 : 210_000);
  const cleanEvents = options.events === undefined && !smoke ? 50_000 : faultyEvents;
  const clients = options.clients ?? 16;
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const started = performance.now();
  const { bundle } = await fixtureBundleDirectory();
  const persistTo = mkdtempSync(join(tmpdir(), "reliability-events-"));
  const snapshot = options.checkout !== undefined || options.workingTree === true ? undefined : snapshotOfHead("reliability-events-worker");
  const served = snapshot ? `HEAD (${snapshot.commit}), snapshotted` : options.checkout ?? "the working tree";
  let dev: DevServer | undefined;
  try {
    // enough users that none nears its state's bound, and at least a few dozen so that batches span many objects
    const words = await vocabulary(bundle, Math.max(60, Math.ceil((cleanEvents + faultyEvents) / AVERAGE_EVENTS_PER_USER)));
    log(`vocabulary read at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await publishDirectory(bundle, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
    log(`bundle published at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    dev = await startDevServer(persistTo, 120_000, [...Object.entries(TOKENS).flatMap(([name, value]) => ["--var", `${name}:${value}`]), "--var", "ALLOW_FAULT_INJECTION:1"], snapshot?.directory ?? options.checkout ?? REPO_ROOT);
    const bootSeconds = dev.bootMs / 1000;
    log(`wrangler dev up at ${dev.url} (serving ${served}) in ${(dev.bootMs / 1000).toFixed(1)} s; ${count(words.users.length)} users (${count(words.knownUsers)} of the bundle), ${count(words.items.length)} items (${count(words.knownItems)} of the bundle), seed ${seed}`);
    const truth = new Truth(words.users, words.items, createRandom(seed), Date.now() - 5_000);
    // a wall-clock bound besides the counts: the loops stop by themselves even on a machine far slower than expected
    const phaseBudgetMs = smoke ? 90_000 : 1_500_000;
    const clean = await runPhase(dev.url, truth, { name: "clean", faults: false, events: cleanEvents, clients, seed, log, deadlineMs: performance.now() + phaseBudgetMs });
    log(`clean phase: ${count(clean.generated)} events in ${clean.seconds.toFixed(1)} s`);
    const faulty = await runPhase(dev.url, truth, { name: "faults", faults: true, events: faultyEvents, clients, seed: seed + 1, log, deadlineMs: performance.now() + phaseBudgetMs });
    log(`faulty phase: ${count(faulty.generated)} events in ${faulty.seconds.toFixed(1)} s, ${count(faulty.faultsFired)} faults fired, ${count(faulty.retries)} retries`);

    const drainStarted = performance.now();
    const states = await readUserStates(dev.url, words.users, log, 120_000);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const trending = await getJson<TrendingResponse>(dev.url, "/v1/admin/trending");
    await dev.stop();
    dev = undefined;
    log(`stores read, wrangler stopped at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const checks = [checkUserStates(truth, states), checkTrending(truth, trending), await checkEventLog(truth, persistTo)];
    log(`log read at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const check of checks) log(`  ${check.store}: ${count(check.expected)} expected, ${check.lost} lost, ${check.doubled} doubled, ${check.foreign} foreign (${check.note})`);

    const phases = [clean, faulty];
    const sum = (field: "generated" | "posts" | "retries" | "duplicatesSent" | "faultsFired" | "unconfirmedBatches" | "networkErrors") => phases.reduce((total, phase) => total + phase[field], 0);
    const otherStatuses = phases.flatMap((phase) => [...phase.otherStatuses]).map(([status, n]) => `${n}× ${status}`);
    const minFaultyEvents = smoke ? 1_000 : 200_000;
    const rows: ReliabilityRow[] = [
      { section: SECTION, measure: "events generated (clean + with injected failures)", value: `${count(clean.generated)} + ${count(faulty.generated)} by ${clients} clients`, bar: `≥ ${count(minFaultyEvents)} with failures`, pass: faulty.generated >= minFaultyEvents },
      { section: SECTION, measure: "posts (retries)", value: `${count(sum("posts"))} (${count(sum("retries"))} retries${sum("unconfirmedBatches") > 0 ? `; ${sum("unconfirmedBatches")} batches given up` : ""})`, bar: "every batch accepted", pass: sum("unconfirmedBatches") === 0 && otherStatuses.length === 0 },
      { section: SECTION, measure: "duplicate events re-sent", value: count(sum("duplicatesSent")), bar: "> 0", pass: sum("duplicatesSent") > 0 },
      { section: SECTION, measure: "injected Durable Object failures", value: `${count(faulty.faultsFired)} (${count(faulty.answers503)} 503s, ${count(faulty.trendingDegraded)} trending degraded)`, bar: "> 0", pass: faulty.faultsFired > 0 },
      ...checks.map((check): ReliabilityRow => ({
        section: SECTION,
        measure: `${check.store}: lost / doubled`,
        value: `${check.lost} / ${check.doubled} of ${count(check.expected)}${check.foreign > 0 ? ` (${check.foreign} foreign)` : ""}`,
        bar: "0 / 0",
        pass: check.lost === 0 && check.doubled === 0 && check.foreign === 0,
      })),
    ];
    const seconds = (performance.now() - started) / 1000;
    const markdown = [
      `### Events under concurrency${smoke ? " (smoke)" : ""}`,
      "",
      `${clients} clients posted overlapping batches to \`POST /v1/events\` of the Worker in \`wrangler dev\` (fixture bundle, fresh local state), in two phases: ${count(cleanEvents)} events clean, then ${count(faultyEvents)} with Durable Object failures injected mid-batch (\`X-Fault-Inject: ${Object.entries(FAULT_SPEC).map(([point, p]) => `${point}=${p}`).join(",")}\`, worker/faults/index.ts), every failed batch retried until accepted. Users: ${count(words.users.length)} (${count(words.knownUsers)} of the bundle, the rest never seen); items: ${count(words.items.length)} (${count(words.knownItems)} of the bundle). Seed ${seed}.`,
      "",
      "| phase | events | posts | retries | duplicates re-sent | answered duplicates | faults fired | answers not 200 | trending degraded | seconds |",
      "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
      ...phases.map((phase) => `| ${phase.name} | ${count(phase.generated)} | ${count(phase.posts)} | ${count(phase.retries)} | ${count(phase.duplicatesSent)} | ${count(phase.duplicatesAnswered)} | ${count(phase.faultsFired)} | ${[...phase.errorCodes].map(([code, n]) => `${count(n)}× ${code}`).join(", ") || "0"} | ${count(phase.trendingDegraded)} | ${phase.seconds.toFixed(1)} |`),
      "",
      "| store | events expected | lost | doubled | foreign | |",
      "|---|---:|---:|---:|---:|---|",
      ...checks.map((check) => `| ${check.store} | ${count(check.expected)} | ${check.lost} | ${check.doubled} | ${check.foreign} | ${check.note} |`),
      "",
      `Outboxes drained ${drainSeconds.toFixed(1)} s after the last post. Boot ${bootSeconds.toFixed(1)} s; whole section ${seconds.toFixed(0)} s.${otherStatuses.length > 0 ? ` Unexpected answers: ${otherStatuses.join(", ")}.` : ""}${sum("networkErrors") > 0 ? ` Network errors (retried): ${sum("networkErrors")}.` : ""} User states that failed without an injected fault (retried like the rest): ${phases.map((phase) => `${phase.name} ${count(phase.uninjectedStoreFailures)}`).join(", ")}. Every failed post backs off exponentially with full jitter (≤ 50 ms, doubling, capped at 5 s); a batch not accepted within ${BATCH_RETRY_MS / 1000} s is given up and counted.`,
      "",
    ].join("\n");
    return { section: SECTION, rows, markdown, ok: rows.every((row) => row.pass) };
  } finally {
    await dev?.stop();
    rmSync(persistTo, { recursive: true, force: true });
    snapshot?.dispose();
  }
}

export const runEventsSection: ReliabilitySection = (options) => runEvents(options);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, events: { type: "string" }, clients: { type: "string" }, seed: { type: "string" }, checkout: { type: "string" }, "working-tree": { type: "boolean", default: false } } });
  const result = await runEvents({
    smoke: values.smoke,
    log: (line) => console.log(line),
    ...(values.events === undefined ? {} : { events: Number(values.events) }),
    ...(values.clients === undefined ? {} : { clients: Number(values.clients) }),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
    ...(values.checkout === undefined ? {} : { checkout: values.checkout }),
    workingTree: values["working-tree"],
  });
  console.log(`\n${result.markdown}`);
  for (const row of result.rows) console.log(`${row.pass ? "PASS" : "FAIL"}  ${row.measure}: ${row.value} (bar ${row.bar})`);
  process.exitCode = result.ok ? 0 : 1;
}
