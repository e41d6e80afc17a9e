// Section 2 of `npm run reliability` (issue 17): fault injection. Starts the real Worker in `wrangler dev` on loopback,
// serving the fixture bundle from a fresh local KV, runs explore / suggested / events traffic from a few clients, and
// for each fault kind: traffic before, the fault injected while traffic runs, the fault cleared and traffic until the
// Worker is back. Every answer must be a 200 (degraded, saying why, where the fault costs something) or one of the
// fault's documented 503s; none may hang (a client gives up after 10 s) and none may be a 500.
//
// Two injection mechanisms (README "Faults"):
// - stored data is corrupted where it lives: the local KV persistence `wrangler dev` reads (scripts/lib/kv-local.ts),
//   written while it runs: a bundle version with a corrupt manifest, model file or ANN index, published and activated
//   like any other (the way scripts/bench/switch.ts switches versions); precomputed feeds; the config override;
// - failures inside the Worker come from its dev-only hook (worker/faults/inject.ts): this run's `wrangler dev` gets
//   ALLOW_FAULT_INJECTION=1 and every request of the fault's window carries `x-fault-kinds` and the admin token.
//
//   npx tsx scripts/reliability/faults.ts [--smoke] [--only kind,kind] [--working-tree]
//
// It serves a snapshot of HEAD (`git archive`), so edits to the tree during the run do not reload the Worker under it;
// --working-tree serves the tree as it is.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ACTIVE_KEY, manifestKey } from "../../core/bundle/kv-layout";
import { buildManifestFiles } from "../../core/bundle/manifest";
import { publishBundle } from "../../core/bundle/store";
import { BundleTables } from "../../core/serving/bundle-tables";
import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { fixtureBundleDirectory } from "../../test/support/fixture-bundle";
import { FAULT_APPLIED_HEADER, FAULT_HEADER, FAULT_TOKEN_HEADER, type FaultKind } from "../../worker/faults/kinds";
import { REPO_ROOT, startDevServer, type DevServer } from "../bench/wrangler";
import { readBundleDirectory } from "../lib/kv-bundle-directory";
import { kvNamespaceIdFromConfig, openLocalMiniflare } from "../lib/kv-local";
import type { ReliabilityRow, ReliabilitySection, ReliabilitySectionOptions, ReliabilitySectionResult } from "./section";
import { snapshotOfHead } from "./snapshot";

const SECTION = "faults";
/** This run's `wrangler dev` holds these (--var), so a `.dev.vars` someone else keeps does not decide them. */
const TOKENS = { ADMIN_TOKEN: "faults-admin-token", INGEST_TOKEN: "faults-ingest-token", FEED_TOKEN: "faults-feed-token" } as const;
/** A request unanswered after this is hung: the client gives up and counts it. */
const HUNG_MS = 10_000;
const CLIENTS = 3;
/** After a fault is cleared, how long the Worker may take to serve as before (a bundle reload, caches expiring). */
const RECOVERY_LIMIT_MS = 25_000;
/** Recovered: this long without an answer that bears the fault. */
const RECOVERY_QUIET_MS = 1_500;

type Route = "explore" | "suggested" | "events" | "health";

/** One answer, as the run keeps it. */
interface Answer {
  readonly route: Route;
  /** 0: hung (no answer within HUNG_MS) or the connection failed. */
  readonly status: number;
  readonly hung: boolean;
  readonly ms: number;
  readonly at: number;
  readonly code: string | undefined;
  readonly degraded: boolean;
  readonly reasons: readonly string[];
  readonly modelVersion: string | null | undefined;
  /** Explore answered from a precomputed feed. */
  readonly precomputed: boolean;
  readonly precomputedUser: boolean;
  readonly withCursor: boolean;
  /** /v1/events: its `trending` field. */
  readonly trending: string | undefined;
  /** /health: the failed version it reports, and the version it serves. */
  readonly lastFailure: string | null | undefined;
  readonly injected: string | null;
}

/** What a fault needs from the run: the server, the local KV, the bundle and who is precomputed. */
interface RunContext {
  readonly url: string;
  readonly kv: { put(namespace: "BUNDLES" | "FEEDS", key: string, value: string | Uint8Array): Promise<void>; get(namespace: "BUNDLES" | "FEEDS", key: string): Promise<string | null>; delete(namespace: "BUNDLES" | "FEEDS", key: string): Promise<void> };
  readonly goodVersion: string;
  readonly badVersions: Readonly<Record<"manifest" | "model" | "index", string>>;
  readonly precomputedUsers: readonly string[];
  /** The precomputed feeds as stored before any fault, to put back. */
  readonly precomputedFeeds: ReadonlyMap<string, string>;
}

interface FaultCase {
  readonly kind: string;
  /** What is broken, for the table. */
  readonly what: string;
  readonly mechanism: string;
  /** What the Worker must do, for the table's bar. */
  readonly expected: string;
  /** The hook's faults every request of the window carries (worker/faults/inject.ts). */
  readonly hook?: readonly FaultKind[];
  readonly inject?: (run: RunContext) => Promise<void>;
  readonly clear?: (run: RunContext) => Promise<void>;
  /** Error codes of a 503 this fault may answer, as documented. */
  readonly allowed503?: readonly string[];
  /** The answer shows the fault (its reason, its version, its failure on /health). */
  readonly bears: (answer: Answer, run: RunContext) => boolean;
  /** An answer that must never come under the fault (a corrupt or stale feed served as it is). */
  readonly forbidden?: (answer: Answer, run: RunContext) => boolean;
  /** Traffic mostly from the precomputed users (the precomputed-feed faults). */
  readonly precomputedTraffic?: boolean;
}

const reasonMatches = (answer: Answer, pattern: RegExp) => answer.reasons.some((reason) => pattern.test(reason));
const feed = (answer: Answer) => answer.route === "explore" || answer.route === "suggested";

const FAULTS: readonly FaultCase[] = [
  {
    kind: "kv_read_fail",
    what: "every KV read fails (BUNDLES, FEEDS)",
    mechanism: "hook",
    hook: ["kv_read_fail"],
    expected: "200; feeds degraded: stored config unreadable (last config kept)",
    bears: (a) => reasonMatches(a, /stored serving config unreadable/) || (a.route === "health" && a.lastFailure !== null && a.lastFailure !== undefined),
  },
  {
    kind: "kv_read_timeout",
    what: "every KV read answers after 30 s",
    mechanism: "hook",
    hook: ["kv_read_timeout"],
    expected: `200 within the KV budget (${REQUEST_BUDGETS_MS.kvRead} ms); degraded: config read over budget`,
    bears: (a) => reasonMatches(a, /stored serving config unreadable.*time budget/),
  },
  {
    kind: "manifest_corrupt",
    what: "a new bundle version whose manifest is not JSON is activated",
    mechanism: "KV: publish + activate",
    inject: async (run) => {
      await run.kv.put("BUNDLES", manifestKey(run.badVersions.manifest), '{"format": 1, "version": "truncated');
      await run.kv.put("BUNDLES", ACTIVE_KEY, run.badVersions.manifest);
    },
    clear: (run) => run.kv.put("BUNDLES", ACTIVE_KEY, run.goodVersion),
    expected: "200 on the previous version; /health names the failed version",
    bears: (a, run) => a.route === "health" && a.lastFailure === run.badVersions.manifest,
  },
  {
    kind: "model_file_corrupt",
    what: "a new bundle version whose MTML file is garbage (its hash matches) is activated",
    mechanism: "KV: publish + activate",
    inject: (run) => run.kv.put("BUNDLES", ACTIVE_KEY, run.badVersions.model),
    clear: (run) => run.kv.put("BUNDLES", ACTIVE_KEY, run.goodVersion),
    expected: "200 degraded: model mtml unavailable, ranked by the first stage",
    bears: (a, run) => a.modelVersion === run.badVersions.model && reasonMatches(a, /model mtml unavailable|second-stage model unavailable/),
  },
  {
    kind: "ann_index_corrupt",
    what: "a new bundle version whose ANN index is garbage (its hash matches) is activated",
    mechanism: "KV: publish + activate",
    inject: (run) => run.kv.put("BUNDLES", ACTIVE_KEY, run.badVersions.index),
    clear: (run) => run.kv.put("BUNDLES", ACTIVE_KEY, run.goodVersion),
    expected: "200 degraded: the ANN index unavailable, its sources say so",
    bears: (a, run) => a.modelVersion === run.badVersions.index && reasonMatches(a, /retrievalIndex|ANN index/),
  },
  {
    kind: "user_state_throws",
    what: "every call to a user's state object throws",
    mechanism: "hook",
    hook: ["user_state_throws"],
    allowed503: ["user_state_unavailable"],
    expected: "feeds 200 degraded: user state unavailable, cursor null; events and cursors 503 user_state_unavailable",
    bears: (a) => reasonMatches(a, /user state unavailable|feed session not recorded/) || a.code === "user_state_unavailable",
  },
  {
    kind: "trending_unavailable",
    what: "every call to the trending object throws",
    mechanism: "hook",
    hook: ["trending_unavailable"],
    expected: "feeds 200 degraded: trending / real-time counters unavailable; events 200 with trending: degraded",
    bears: (a) => reasonMatches(a, /real-time trending unavailable|real-time item counters unavailable/) || a.trending === "degraded",
  },
  {
    kind: "wasm_trap",
    what: "the MTML's runs trap (WebAssembly.RuntimeError) mid-request",
    mechanism: "hook",
    hook: ["wasm_trap"],
    expected: "200 degraded: second-stage model failed, ranked by the first stage / by impressions",
    bears: (a) => reasonMatches(a, /second-stage model failed/),
  },
  {
    kind: "slow_source",
    what: "the two-tower source's index answers after 30 s",
    mechanism: "hook",
    hook: ["slow_source"],
    expected: `200 degraded: the two-tower source over its budget (${REQUEST_BUDGETS_MS.source} ms)`,
    bears: (a) => reasonMatches(a, /source \S+ failed: .*time budget/),
  },
  {
    kind: "precomputed_corrupt",
    what: "the precomputed feeds in KV are not JSON",
    mechanism: "KV: overwrite feed/<user>",
    precomputedTraffic: true,
    inject: async (run) => {
      for (const user of run.precomputedUsers) await run.kv.put("FEEDS", `feed/${user}`, `{"version": ${JSON.stringify(run.goodVersion)}, "items": [{"item_`);
    },
    clear: restorePrecomputed,
    expected: "200 from the funnel (the feed is ignored), not degraded; never the stored feed",
    forbidden: (a) => a.precomputed && a.precomputedUser,
    bears: (a) => a.route === "explore" && a.status === 200 && a.precomputedUser && !a.withCursor && !a.precomputed,
  },
  {
    kind: "precomputed_stale",
    what: "the precomputed feeds in KV are two days old",
    mechanism: "KV: overwrite feed/<user>",
    precomputedTraffic: true,
    inject: async (run) => {
      for (const [user, text] of run.precomputedFeeds) {
        const stored = JSON.parse(text) as { computed_at: number };
        await run.kv.put("FEEDS", `feed/${user}`, JSON.stringify({ ...stored, computed_at: stored.computed_at - 2 * 86_400_000 }));
      }
    },
    clear: restorePrecomputed,
    expected: "200 from the funnel (the feed is ignored), not degraded; never the stored feed",
    forbidden: (a) => a.precomputed && a.precomputedUser,
    bears: (a) => a.route === "explore" && a.status === 200 && a.precomputedUser && !a.withCursor && !a.precomputed,
  },
  {
    kind: "config_override_invalid",
    what: "the config override in KV is invalid (not JSON, then JSON off the schema)",
    mechanism: "KV: config/serving",
    inject: async (run) => run.kv.put("BUNDLES", "config/serving", '{"retrieval": {"sources": 7}'),
    clear: (run) => run.kv.delete("BUNDLES", "config/serving"),
    expected: "200 degraded: stored serving config ignored (the bundle's serves)",
    bears: (a) => reasonMatches(a, /stored serving config ignored/),
  },
];

async function restorePrecomputed(run: RunContext): Promise<void> {
  for (const [user, text] of run.precomputedFeeds) await run.kv.put("FEEDS", `feed/${user}`, text);
}

/** The fixture's users (most of the traffic), a few never-seen ones, and its items (events). */
interface Vocabulary {
  readonly users: readonly string[];
  readonly items: readonly string[];
}

const EVENT_TYPES = ["impression", "click", "like", "long_view"] as const;

/** Sends one request and reads what the run keeps of its answer; never throws. */
async function send(run: RunContext, route: Route, body: unknown, hook: readonly FaultKind[] | undefined, precomputedUser: boolean): Promise<{ answer: Answer; json: unknown }> {
  const started = performance.now();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (route === "events") headers.authorization = `Bearer ${TOKENS.INGEST_TOKEN}`;
  else if (route !== "health") headers.authorization = `Bearer ${TOKENS.FEED_TOKEN}`;
  if (hook && hook.length > 0) {
    headers[FAULT_HEADER] = hook.join(",");
    headers[FAULT_TOKEN_HEADER] = TOKENS.ADMIN_TOKEN;
  }
  const path = route === "health" ? "/health" : `/v1/${route}`;
  const base = { route, at: Date.now(), precomputedUser, withCursor: typeof body === "object" && body !== null && "cursor" in body };
  try {
    const response = await fetch(`${run.url}${path}`, { method: route === "health" ? "GET" : "POST", headers, ...(route === "health" ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(HUNG_MS) });
    const text = await response.text();
    const ms = performance.now() - started;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const record = (typeof json === "object" && json !== null ? json : {}) as {
      error?: { code?: string };
      degraded?: unknown;
      model_version?: string | null;
      trending?: string;
      debug?: { degraded_reasons?: string[]; precomputed?: unknown };
      bundle?: { version?: string; last_failure?: { version: string | null } | null } | null;
    };
    return {
      json,
      answer: {
        ...base,
        status: response.status,
        hung: false,
        ms,
        // an answer without the error body (a 5xx from wrangler's proxy, say) keeps the start of its text
        code: record.error?.code ?? (response.status >= 400 ? `raw: ${text.slice(0, 60)}` : undefined),
        degraded: route === "health" ? false : record.degraded === true,
        reasons: record.debug?.degraded_reasons ?? [],
        modelVersion: route === "explore" || route === "suggested" ? record.model_version : undefined,
        precomputed: record.debug?.precomputed !== undefined,
        trending: route === "events" ? record.trending : undefined,
        lastFailure: route === "health" ? (record.bundle?.last_failure?.version ?? null) : undefined,
        injected: response.headers.get(FAULT_APPLIED_HEADER),
      },
    };
  } catch (error) {
    const ms = performance.now() - started;
    const hung = (error as Error).name === "TimeoutError" || ms >= HUNG_MS;
    return { json: undefined, answer: { ...base, status: 0, hung, ms, code: hung ? "hung" : `network: ${(error as Error).message}`, degraded: false, reasons: [], modelVersion: undefined, precomputed: false, trending: undefined, lastFailure: undefined, injected: null } };
  }
}

/** Traffic from CLIENTS clients (and a /health poller) until `until()` says stop; every answer goes to `sink`. */
async function traffic(run: RunContext, vocabulary: Vocabulary, fault: FaultCase | undefined, hooked: boolean, until: () => boolean, sink: (answer: Answer) => void): Promise<void> {
  const hook = hooked ? fault?.hook : undefined;
  const precomputed = new Set(run.precomputedUsers);
  let eventSeq = 0;
  const anyOf = (users: readonly string[]): string => users[Math.floor(Math.random() * users.length)] as string;
  /** One of `users`, or one time in ten (or when there are none) a never-seen id. */
  const knownOrNew = (users: readonly string[]): string => (Math.random() < 0.1 || users.length === 0 ? `faults-new-${Math.floor(Math.random() * 1000)}` : anyOf(users));
  const pickUser = (): string => (fault?.precomputedTraffic && Math.random() < 0.7 && run.precomputedUsers.length > 0 ? anyOf(run.precomputedUsers) : knownOrNew(vocabulary.users));
  // events never name a precomputed user: what they mark seen is dropped from that user's stored feed, and once fewer
  // than a page is left the funnel serves them, rightly, which the precomputed faults' recovery would read as the fault
  const eventUsers = vocabulary.users.filter((user) => !precomputed.has(user));
  const pickEventUser = (): string => knownOrNew(eventUsers);
  const client = async (id: number) => {
    let cursor: { user: string; cursor: string } | undefined;
    while (!until()) {
      const roll = Math.random();
      if (roll < 0.5) {
        // a third of the time the next page of this client's last session, when it has one
        const next = cursor && Math.random() < 0.3 ? cursor : undefined;
        const user = next?.user ?? pickUser();
        const { answer, json } = await send(run, "explore", { user_id: user, count: 10, debug: true, ...(next ? { cursor: next.cursor } : {}) }, hook, precomputed.has(user));
        sink(answer);
        const got = (json as { cursor?: unknown } | undefined)?.cursor;
        cursor = typeof got === "string" ? { user, cursor: got } : undefined;
      } else if (roll < 0.8) {
        const user = pickUser();
        sink((await send(run, "suggested", { user_id: user, count: 10, debug: true }, hook, precomputed.has(user))).answer);
      } else {
        const user = pickEventUser();
        const events = Array.from({ length: 5 }, () => ({
          event_id: `faults-${id}-${Date.now()}-${eventSeq++}`,
          user_id: user,
          item_id: vocabulary.items[Math.floor(Math.random() * vocabulary.items.length)] as string,
          type: EVENT_TYPES[Math.floor(Math.random() * EVENT_TYPES.length)] as string,
          ts: Date.now(),
          surface: 1,
        }));
        sink((await send(run, "events", { events }, hook, false)).answer);
      }
    }
  };
  const health = async () => {
    while (!until()) {
      sink((await send(run, "health", undefined, hook, false)).answer);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  await Promise.all([...Array.from({ length: CLIENTS }, (_, id) => client(id)), health()]);
}

/** One fault's observations. */
interface FaultResult {
  readonly fault: FaultCase;
  readonly before: readonly Answer[];
  readonly during: readonly Answer[];
  readonly after: readonly Answer[];
  readonly recoveredMs: number | undefined;
  readonly row: ReliabilityRow;
  readonly behaviour: string;
  readonly problems: readonly string[];
}

/** The first clause of a degraded reason, without its details: what the table groups by. */
function reasonKey(reason: string): string {
  return reason.split(":")[0]?.replace(/\s*\(.*?\)\s*/g, " ").trim().slice(0, 70) ?? reason;
}

function countBy<T>(values: readonly T[], key: (value: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(key(value), (counts.get(key(value)) ?? 0) + 1);
  return counts;
}

const top = (counts: Map<string, number>, n: number) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, count]) => `${key} ×${count}`)
    .join("; ");

/** What the Worker did under the fault, in a line: statuses per route and the reasons its feeds gave. */
function describe(fault: FaultCase, during: readonly Answer[], run: RunContext): string {
  const requests = during.filter((answer) => answer.route !== "health");
  const statuses = countBy(requests, (answer) => `${answer.route} ${answer.status}${answer.code ? ` ${answer.code}` : ""}${answer.degraded ? " degraded" : ""}${answer.trending === "degraded" ? " trending:degraded" : ""}`);
  const reasons = countBy(
    requests.filter((answer) => fault.bears(answer, run)).flatMap((answer) => answer.reasons.map(reasonKey)),
    (reason) => reason,
  );
  const health = during.filter((answer) => answer.route === "health" && fault.bears(answer, run));
  const versions = countBy(requests.filter(feed), (answer) => String(answer.modelVersion ?? "none"));
  const parts = [top(statuses, 5)];
  if (reasons.size > 0) parts.push(`reasons: ${top(reasons, 3)}`);
  if (health.length > 0) parts.push(`/health last_failure ${health[0]?.lastFailure ?? ""} ×${health.length}`);
  if (fault.precomputedTraffic) parts.push(`served from the broken precomputed feeds: ${requests.filter((answer) => answer.precomputed && answer.precomputedUser).length}`);
  if (fault.inject && !fault.precomputedTraffic && fault.kind !== "config_override_invalid") parts.push(`versions: ${top(versions, 2)}`);
  return parts.join(" | ");
}

async function runFault(run: RunContext, vocabulary: Vocabulary, fault: FaultCase, durations: { before: number; during: number; after: number }, log: (line: string) => void): Promise<FaultResult> {
  const before: Answer[] = [];
  const during: Answer[] = [];
  const after: Answer[] = [];
  const phase = (ms: number) => {
    const end = performance.now() + ms;
    return () => performance.now() >= end;
  };
  await traffic(run, vocabulary, fault, false, phase(durations.before), (answer) => before.push(answer));
  // the fault goes in while the traffic runs: the first part of the window is traffic without it
  const injectAfter = Math.min(500, durations.during / 4);
  // answers to requests sent once the fault was in place (a data fault is in place when its writes are done)
  let injectedAt = fault.inject ? Infinity : 0;
  const injecting = (async () => {
    if (!fault.inject) return;
    await new Promise((resolve) => setTimeout(resolve, injectAfter));
    await fault.inject(run);
    injectedAt = Date.now();
  })();
  const duringEnd = phase(durations.during);
  await Promise.all([
    injecting,
    traffic(run, vocabulary, fault, true, duringEnd, (answer) => {
      if (answer.at >= injectedAt) during.push(answer);
    }),
  ]);
  await fault.clear?.(run);
  const clearedAt = Date.now();
  let lastBearing = clearedAt;
  const started = performance.now();
  const recovered = () => {
    const elapsed = performance.now() - started;
    return (elapsed >= durations.after && Date.now() - lastBearing >= RECOVERY_QUIET_MS) || elapsed >= RECOVERY_LIMIT_MS;
  };
  await traffic(run, vocabulary, fault, false, recovered, (answer) => {
    after.push(answer);
    if (fault.bears(answer, run) || answer.status >= 500 || answer.status === 0) lastBearing = Math.max(lastBearing, answer.at);
  });
  const quietFor = Date.now() - lastBearing;
  const recoveredMs = quietFor >= RECOVERY_QUIET_MS ? lastBearing - clearedAt : undefined;

  const problems: string[] = [];
  const all = [...before, ...during, ...after];
  const hung = all.filter((answer) => answer.hung).length;
  const failed = all.filter((answer) => answer.status === 0 && !answer.hung).length;
  const allowed = new Set(fault.allowed503 ?? []);
  const serverErrors = during.filter((answer) => answer.status >= 500 && !(answer.status === 503 && answer.code !== undefined && allowed.has(answer.code)));
  const outsideErrors = [...before, ...after].filter((answer) => answer.status >= 500);
  const documented503 = during.filter((answer) => answer.status === 503 && answer.code !== undefined && allowed.has(answer.code)).length;
  const bearing = during.filter((answer) => fault.bears(answer, run)).length;
  const requests = during.filter((answer) => answer.route !== "health");
  const notApplied = fault.hook ? requests.filter((answer) => answer.status !== 0 && answer.injected === null).length : 0;
  const maxMs = Math.max(0, ...during.map((answer) => answer.ms));
  if (hung > 0) problems.push(`${hung} hung (${top(countBy(all.filter((answer) => answer.hung), (answer) => `${answer.route}${answer.withCursor ? " with cursor" : ""}${after.includes(answer) ? " after" : before.includes(answer) ? " before" : ""}`), 4)})`);
  if (failed > 0) problems.push(`${failed} connections failed`);
  if (serverErrors.length > 0) problems.push(`${serverErrors.length} answers ≥ 500 under the fault (${top(countBy(serverErrors, (answer) => `${answer.route} ${answer.status} ${answer.code ?? ""}`), 3)})`);
  if (outsideErrors.length > 0) problems.push(`${outsideErrors.length} answers ≥ 500 without the fault (${top(countBy(outsideErrors, (answer) => `${answer.route} ${answer.status} ${answer.code ?? ""}`), 3)})`);
  if (bearing === 0) problems.push("the fault never showed in an answer");
  const forbidden = fault.forbidden ? during.filter((answer) => fault.forbidden?.(answer, run)).length : 0;
  if (forbidden > 0) problems.push(`${forbidden} answers served what the fault broke`);
  if (notApplied > 0) problems.push(`${notApplied} answers without ${FAULT_APPLIED_HEADER}: the hook did not apply`);
  if (recoveredMs === undefined) problems.push(`not recovered within ${RECOVERY_LIMIT_MS / 1000} s of clearing`);
  const behaviour = describe(fault, during, run);
  const value = `${behaviour} | ${requests.length} requests, ${documented503} documented 503, max ${Math.round(maxMs)} ms, hung ${hung}, recovered ${recoveredMs === undefined ? "no" : `in ${(recoveredMs / 1000).toFixed(1)} s`}`;
  const row: ReliabilityRow = { section: SECTION, measure: `${fault.kind}: ${fault.what}`, value, bar: `${fault.expected}; 0 hung; no other ≥ 500; recovers`, pass: problems.length === 0 };
  log(`${row.pass ? "PASS" : "FAIL"} ${fault.kind}: ${value}${problems.length > 0 ? `\n  problems: ${problems.join("; ")}` : ""}`);
  return { fault, before, during, after, recoveredMs, row, behaviour, problems };
}

/** A copy of `bytes` with every byte replaced by a seeded pseudo-random one: the same size, nothing a reader can use. */
function garbage(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

export interface FaultSectionOptions extends ReliabilitySectionOptions {
  /** Only these fault kinds (all by default). */
  readonly only?: readonly string[];
  /**
   * Serve the working tree as it is. By default the run serves a snapshot of HEAD: `wrangler dev` reloads the Worker
   * whenever a source file changes, and others editing the tree meanwhile would reload it under the run.
   */
  readonly workingTree?: boolean;
}


export async function runFaults(options: FaultSectionOptions): Promise<ReliabilitySectionResult> {
  const { smoke, log } = options;
  const durations = smoke ? { before: 1_500, during: 5_000, after: 2_000 } : { before: 5_000, during: 25_000, after: 5_000 };
  const faults = FAULTS.filter((fault) => options.only === undefined || options.only.includes(fault.kind));
  const started = performance.now();
  const { bundle: directory } = await fixtureBundleDirectory();
  const bundle = await readBundleDirectory(directory);
  const tables = BundleTables.decode(bundle.manifest, bundle.files);
  const vocabulary: Vocabulary = {
    users: Array.from({ length: tables.users.ids.size }, (_, row) => tables.users.ids.id(row)),
    items: Array.from({ length: tables.items.ids.size }, (_, row) => tables.items.ids.id(row)),
  };
  const persistTo = mkdtempSync(join(tmpdir(), "reliability-faults-"));
  const configPath = join(REPO_ROOT, "wrangler.toml");
  const { miniflare } = openLocalMiniflare(configPath, persistTo, { kvNamespaces: { BUNDLES: await kvNamespaceIdFromConfig(configPath, "BUNDLES"), FEEDS: await kvNamespaceIdFromConfig(configPath, "FEEDS") } });
  let dev: DevServer | undefined;
  const snapshot = options.workingTree ? undefined : snapshotOfHead("reliability-faults-worker");
  const served = snapshot ? `HEAD (${snapshot.commit}), snapshotted` : "the working tree";
  try {
    const namespaces = { BUNDLES: await miniflare.getKVNamespace("BUNDLES"), FEEDS: await miniflare.getKVNamespace("FEEDS") };
    const kv: RunContext["kv"] = {
      put: async (namespace, key, value) => namespaces[namespace].put(key, value),
      get: async (namespace, key) => namespaces[namespace].get(key, "text"),
      delete: async (namespace, key) => namespaces[namespace].delete(key),
    };
    const writer = {
      getBytes: async (key: string) => {
        const value = await namespaces.BUNDLES.get(key, "arrayBuffer");
        return value === null ? null : new Uint8Array(value);
      },
      getText: (key: string) => namespaces.BUNDLES.get(key, "text"),
      put: (key: string, value: string | Uint8Array) => namespaces.BUNDLES.put(key, value),
      delete: (key: string) => namespaces.BUNDLES.delete(key),
    };
    const goodVersion = bundle.manifest.version;
    await publishBundle(writer, bundle.manifest, bundle.files, { activate: true });
    // the broken versions, published before the server starts (activating one is the fault): a model file and the
    // ANN index replaced by garbage of their size, with hashes that match it, as if the pipeline had written them
    const badVersions = { manifest: `${goodVersion}-fault-manifest`, model: `${goodVersion}-fault-mtml`, index: `${goodVersion}-fault-index` };
    const broken = async (version: string, path: string, seed: number) => {
      const files = new Map(bundle.files);
      files.set(path, garbage((bundle.files.get(path) as Uint8Array).byteLength, seed));
      await publishBundle(writer, { ...bundle.manifest, version, files: await buildManifestFiles(files) }, files, { activate: false });
    };
    await broken(badVersions.model, tables.manifest.models.mtml.file, 17);
    await broken(badVersions.index, tables.manifest.models.retrieval.index, 29);

    const vars = { ...TOKENS, ALLOW_FAULT_INJECTION: "1", BUNDLE_REFRESH_SECONDS: "1", CONFIG_REFRESH_SECONDS: "1" };
    dev = await startDevServer(persistTo, 120_000, [...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]), "--test-scheduled"], snapshot?.directory ?? REPO_ROOT);
    log(`wrangler dev up at ${dev.url} in ${(dev.bootMs / 1000).toFixed(1)} s, serving ${served}; fixture bundle ${goodVersion}`);
    const url = dev.url;
    // the first request loads the bundle; then the Cron Trigger's precompute writes the most active users' feeds
    const warm = await fetch(`${url}/v1/explore`, { method: "POST", headers: { authorization: `Bearer ${TOKENS.FEED_TOKEN}` }, body: JSON.stringify({ user_id: vocabulary.users[0], count: 10 }), signal: AbortSignal.timeout(120_000) });
    if (warm.status !== 200) throw new Error(`warm-up /v1/explore answered ${warm.status}: ${await warm.text()}`);
    await warm.arrayBuffer();
    const scheduled = await fetch(`${url}/__scheduled?cron=${encodeURIComponent("0 19 * * *")}`, { signal: AbortSignal.timeout(120_000) });
    await scheduled.arrayBuffer();
    const index = JSON.parse((await kv.get("FEEDS", "feed/index")) ?? '{"users": []}') as { users: string[] };
    // a handful of them: enough to see them served from KV, few enough that overwriting them is instant
    const precomputedUsers = index.users.slice(0, 20);
    const precomputedFeeds = new Map<string, string>();
    for (const user of precomputedUsers) {
      const text = await kv.get("FEEDS", `feed/${user}`);
      if (text !== null) precomputedFeeds.set(user, text);
    }
    log(`precomputed feeds: ${index.users.length} users (scheduled answered ${scheduled.status}); the precomputed faults use ${precomputedFeeds.size}`);
    const run: RunContext = { url, kv, goodVersion, badVersions, precomputedUsers: [...precomputedFeeds.keys()], precomputedFeeds };

    const results: FaultResult[] = [];
    for (const fault of faults) results.push(await runFault(run, vocabulary, fault, durations, log));

    const all = results.flatMap((result) => [...result.before, ...result.during, ...result.after]);
    const hung = all.filter((answer) => answer.hung).length;
    const requests = all.filter((answer) => answer.route !== "health").length;
    const rows: ReliabilityRow[] = [
      ...results.map((result) => result.row),
      { section: SECTION, measure: "fault kinds injected under traffic", value: String(results.length), bar: smoke ? "≥ 1" : "≥ 10", pass: smoke ? results.length >= 1 : results.length >= 10 },
      { section: SECTION, measure: "hung requests (no answer within 10 s), all faults", value: `${hung} of ${requests.toLocaleString("en-US")}`, bar: "0", pass: hung === 0 },
    ];
    const seconds = (performance.now() - started) / 1000;
    const markdown = [
      `## Fault injection`,
      ``,
      `${smoke ? "Smoke run" : "Full run"}: ${results.length} fault kinds, each under ${CLIENTS} clients of explore / suggested / events traffic (and a /health poll), ${durations.before / 1000} s before, ${durations.during / 1000} s with the fault, then until recovered; ${requests.toLocaleString("en-US")} requests in ${seconds.toFixed(0)} s, against \`wrangler dev\` serving ${served} with the fixture bundle. A request is hung when it has no answer after ${HUNG_MS / 1000} s. Injection: README "Faults".`,
      ``,
      `| fault | injected by | behaviour under the fault | requests | documented 503 | other ≥ 500 | max latency | hung | recovered | pass |`,
      `|---|---|---|---:|---:|---:|---:|---:|---:|---|`,
      ...results.map((result) => {
        const requestsDuring = result.during.filter((answer) => answer.route !== "health");
        const allowed = new Set(result.fault.allowed503 ?? []);
        const documented = requestsDuring.filter((answer) => answer.status === 503 && answer.code !== undefined && allowed.has(answer.code)).length;
        const other = requestsDuring.filter((answer) => answer.status >= 500).length - documented;
        const hungHere = [...result.before, ...result.during, ...result.after].filter((answer) => answer.hung).length;
        const max = Math.max(0, ...result.during.map((answer) => answer.ms));
        return `| ${result.fault.kind} | ${result.fault.mechanism} | ${result.behaviour.replaceAll("|", "·")} | ${requestsDuring.length} | ${documented} | ${other} | ${Math.round(max)} ms | ${hungHere} | ${result.recoveredMs === undefined ? "no" : `${(result.recoveredMs / 1000).toFixed(1)} s`} | ${result.problems.length === 0 ? "yes" : `no: ${result.problems.join("; ")}`} |`;
      }),
      ``,
    ].join("\n");
    return { section: SECTION, rows, markdown, ok: rows.every((row) => row.pass) };
  } finally {
    await dev?.stop();
    await miniflare.dispose();
    rmSync(persistTo, { recursive: true, force: true });
    snapshot?.dispose();
  }
}

/** The section as `npm run reliability` runs it. */
export const runFaultSection: ReliabilitySection = (options) => runFaults(options);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, only: { type: "string" }, "working-tree": { type: "boolean", default: false } } });
  const result = await runFaults({ smoke: values.smoke, workingTree: values["working-tree"], log: (line) => console.error(line), ...(values.only ? { only: values.only.split(",") } : {}) });
  for (const row of result.rows) console.log(`${row.pass ? "PASS" : "FAIL"}  ${row.measure}\n      ${row.value}\n      bar: ${row.bar}`);
  console.log(`\n${result.markdown}`);
  process.exitCode = result.ok ? 0 : 1;
}
