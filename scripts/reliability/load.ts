// Sections 4 and 5 of `npm run reliability` (issue 17), in one run: sustained mixed load, and model swaps under it.
// Starts the real Worker in `wrangler dev` on loopback, serving copies of the fixture bundle from a fresh local KV,
// and drives it for a fixed time (a 15-minute warm-up, then 10 measured minutes; 60 s with --smoke) from a fixed
// number of clients (8) that each send one request at a time, then stop. The traffic mixes the four request kinds in
// the proportions a feed client makes them (TRAFFIC_MIX: a page of Explore, the events it produced in batches,
// Suggested Posts less often, the operators' query language rarely), for user ids drawn over all the bundle's users
// (active ones more often) plus ids nobody has seen (scripts/bench/traffic.ts). Every request is valid, so every
// answer must be a 200. The real-time state objects (UserState, Trending) run in a second `wrangler dev` that the
// Worker reaches through a dev registry of the run's own (state-process.ts), as a deployed Worker reaches Durable
// Objects outside its isolate and process; `--single-process` serves them from the Worker's own.
//
// Meanwhile a new bundle version (a copy of the fixture under a new name) is published and activated every 30 s
// (every 20 s in the smoke run) through the publish path of `npm run publish` (scripts/lib/kv-publish.ts), and twice a
// half-published bundle is activated: once a version whose publisher died before it wrote the manifest, once a
// version with one model file missing. The Worker must refuse both (keeping the version it serves) and never name
// them. It reports:
//   - errors: answers that are not 200 (≥ 500, or a 4xx to a valid request) and requests with no answer (30 s);
//   - latency p50 / p95 / p99 per minute, and the drift: the last minute's over the first measured one's;
//   - workerd's resident memory (/proc/<pid>/status of the workerd processes below each wrangler) per minute, and
//     its slope by least squares over the measured minutes (WARMUP_MINUTES says why they follow a warm-up): the
//     Worker's holds the bar, the state objects' is reported beside the growth of their SQLite files;
//   - swaps served, requests failed during a swap, answers per bundle version (every feed and query answer names
//     exactly one of the published versions) and answers naming a half-published one.
//
//   npx tsx scripts/reliability/load.ts [--smoke] [--minutes N] [--warmup-minutes N] [--clients N] [--swap-every S (0: none)] [--working-tree] [--single-process]
//
// It serves a snapshot of HEAD (`git archive`), so edits to the tree during the run do not reload the Worker under it;
// --working-tree serves the tree as it is.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { BundleKvWriter } from "../../core/bundle/kv";
import { ACTIVE_KEY, fileKey, manifestKey } from "../../core/bundle/kv-layout";
import { publishBundle } from "../../core/bundle/store";
import { INTERACTION_TYPES, type InteractionType } from "../../core/realtime/events";
import { servingPublishOptions } from "../../core/serving/bundle-manifest";
import { BundleTables } from "../../core/serving/bundle-tables";
import { createRandom } from "../../core/util/random";
import { fixtureBundleDirectory } from "../../test/support/fixture-bundle";
import { connectIsolateHeap, type IsolateHeap } from "../bench/isolate-heap";
import { USER_STATE_GROUPS, userStateGroup } from "../../core/realtime/user-state-group";
import { describeTraffic, realisticUserIds } from "../bench/traffic";
import { REPO_ROOT, startDevServer, type DevServer } from "../bench/wrangler";
import { readBundleDirectory } from "../lib/kv-bundle-directory";
import { openLocalKv } from "../lib/kv-local";
import { publishDirectory } from "../lib/kv-publish";
import type { ReliabilityRow, ReliabilitySection, ReliabilitySectionOptions, ReliabilitySectionResult } from "./section";
import { fitLine } from "../lib/fit-line";
import { workerdProcesses, type WorkerdNames } from "./resident-memory";
import { fixtureBundleOf, snapshotOfHead, type HeadSnapshot } from "./snapshot";
import { STATE_OBJECT_BINDINGS, writeSplitConfigs, type SplitConfigs } from "./state-process";

const SECTION = "load";
/** How the memory table names the state process's workerd (the one running the objects, not its dev proxy). */
const STATE_OBJECTS_ROLE = "state objects' workerd";
const STATE_PROCESS_NAMES: WorkerdNames = { worker: STATE_OBJECTS_ROLE, proxy: "state objects' dev proxy", other: STATE_OBJECTS_ROLE };
/** This run's `wrangler dev` holds these (--var), so a `.dev.vars` someone else keeps does not decide them. */
const TOKENS = { ADMIN_TOKEN: "reliability-load-admin", INGEST_TOKEN: "reliability-load-ingest", FEED_TOKEN: "reliability-load-feed" } as const;
/**
 * Seconds between the Worker's reads of `bundle/active` (production: 30). Short, so a swap every 30 s is served
 * within seconds and every version gets most of its half minute: the counts per version mean something.
 */
const BUNDLE_REFRESH_SECONDS = 2;
/** A request unanswered after this is an error (the client gives up). */
const REQUEST_TIMEOUT_MS = 30_000;
/** Versions kept in KV by each publish (`npm run publish -- --keep 4`): older ones are pruned as in production. */
const KEEP_VERSIONS = 4;
/** The memory bar: slope of the Worker's workerd RSS over the measured minutes, MiB per minute (see the markdown for why). */
const MEMORY_SLOPE_BAR_MIB_PER_MIN = 1;
/**
 * The full run's warm-up before its measured minutes, under the same load and swaps. workerd's own allocator
 * (tcmalloc, outside the isolate) takes resident pages for the first quarter hour of any load under `wrangler dev`
 * and then mostly holds them: a Worker of a dozen lines at the same request rate climbs 113 → 442 MiB in 15 minutes
 * and fits +0.31 MiB/min over the next ten (memory-control.ts), and a 35-minute run of this section climbed
 * 413 → 731 MiB by minute 16 and stayed within 724–761 MiB to minute 35. A leak does not level off, so the slope is
 * fitted after the climb; the warm-up's minutes stay in the table and count for every other bar.
 */
const WARMUP_MINUTES = 15;
/** The latency bar: the last minute's p99 over the first's (a shared host: latency is noisy; errors and memory matter). */
const P99_DRIFT_BAR = 3;

type Kind = "explore" | "suggested" | "events" | "query";

/**
 * Share of requests per kind. A feed client asks Explore for a page (a third of them the next page, with the cursor
 * of the page before), posts the impressions and engagements it saw in batches of a few to a few dozen events (about
 * one batch per feed page viewed), and opens Suggested Posts less often; /v1/query is the operators' tool, rare.
 */
const TRAFFIC_MIX: ReadonlyArray<readonly [Kind, number]> = [["explore", 0.45], ["events", 0.3], ["suggested", 0.2], ["query", 0.05]];
const NEXT_PAGE_SHARE = 1 / 3;
/** Every this many user picks, one is the next of all the bundle's users in turn (the rest: the realistic mix). */
const USER_SWEEP_EVERY = 10;
/** Events per batch: 1 + ⌊40·r²⌋, mostly small, up to 41 (mean ~14). */
const MAX_EXTRA_EVENTS = 40;
const EVENT_TYPE_WEIGHTS: Readonly<Record<InteractionType, number>> = { impression: 60, click: 18, long_view: 8, like: 6, comment: 2, forward: 2, follow: 2, hate: 2 };
/** What operators run through /v1/query: the stores each retrieval source reads (core/query/README.md). */
const QUERIES: readonly string[] = [
  "user.popular(n=50)",
  "user.trending(n=50)",
  "user.engaged_media(surface=any, max=20).cooccurred(k=100, combine=sum).top(n=50)",
  "user.author_affinity(max=100, follow_weight=10).posted_media(max_media_per_account=5, score=rank, combine=max).top(n=50)",
];

/** One answer, as the run keeps it. */
interface Answer {
  readonly kind: Kind;
  /** ms since the load started, when the request was sent. */
  readonly at: number;
  readonly ms: number;
  /** 0: no answer (network error or REQUEST_TIMEOUT_MS). */
  readonly status: number;
  /** Feeds and queries: `model_version` (null when no bundle was usable); events: undefined. */
  readonly version: string | null | undefined;
  readonly degraded: boolean;
  readonly nextPage: boolean;
  readonly problem: string | undefined;
}

/** The isolate's JS heap, read every second (its low points, after collections, are the live heap). */
interface HeapSample {
  readonly at: number;
  readonly usedBytes: number;
  readonly totalBytes: number;
  readonly backingStoreBytes?: number;
}

interface HealthSample {
  readonly at: number;
  readonly status: number;
  readonly version: string | undefined;
  readonly lastFailure: string | null | undefined;
  /** The answering isolate's wasm memories (`isolate.wasm_memory_bytes`: onnxruntime-web's and the ANN runtime's), summed. */
  readonly wasmBytes: number | undefined;
}

interface Swap {
  readonly index: number;
  readonly version: string;
  /** ms since the load started: the publish began, and `bundle/active` named the version. */
  readonly publishAt: number;
  readonly activatedAt: number;
}

interface HalfPublished {
  readonly version: string;
  readonly how: string;
  readonly activatedAt: number;
  /** Until the next good version was activated. */
  endedAt: number;
}

interface MemorySample {
  readonly at: number;
  /** Resident bytes per workerd process below the Worker's wrangler. */
  readonly rss: ReadonlyMap<number, number>;
  /** Resident bytes per workerd process below the state objects' wrangler (empty in one process). */
  readonly stateRss: ReadonlyMap<number, number>;
  /** Bytes the Durable Objects' SQLite files (databases, WAL) hold on disk. */
  readonly durableObjectBytes: number;
}

/** Bytes of the files below a directory (0 when it does not exist yet). */
function diskBytes(directory: string): number {
  let bytes = 0;
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      try {
        if (entry.isDirectory()) walk(child);
        else if (entry.isFile()) bytes += statSync(child).size;
      } catch {
        // removed while we looked
      }
    }
  };
  try {
    walk(directory);
  } catch {
    // nothing written yet
  }
  return bytes;
}

const sum = (values: Iterable<number>) => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};
const mib = (bytes: number) => bytes / 2 ** 20;
/** The lowest of a bucket's samples in MiB (after collections: what stays live), NaN without samples. */
const floorMiB = (bytes: readonly number[]) => (bytes.length === 0 ? Number.NaN : mib(Math.min(...bytes)));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A copy of a bundle directory under another version: the same files, the manifest's version changed. */
function copyBundle(source: string, target: string, version: string): void {
  cpSync(source, target, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(source, "manifest.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(target, "manifest.json"), JSON.stringify({ ...manifest, version }, null, 2));
}

export interface LoadOptions extends ReliabilitySectionOptions {
  /** The measured load's length, after the warm-up (default 10 minutes; 60 s smoke). */
  readonly durationMs?: number;
  /** Load before the measured minutes (default WARMUP_MINUTES; none in the smoke run, whose first 10 s are its warm-up). */
  readonly warmupMs?: number;
  /** Clients, each with one request in flight (default 8). */
  readonly clients?: number;
  /** A new bundle version every this many ms (default 30 s; 20 s smoke). */
  readonly swapEveryMs?: number;
  readonly seed?: number;
  /**
   * Only these request kinds, their shares of TRAFFIC_MIX scaled up to 1 (default all): a control run that says which
   * traffic the resident memory follows. A run without every kind is not the section's result.
   */
  readonly kinds?: readonly Kind[];
  /** Serve the working tree as it is instead of a snapshot of HEAD. */
  readonly workingTree?: boolean;
  /**
   * Serve the real-time state objects (UserState, Trending) from the Worker's own `wrangler dev`, as before the split
   * (state-process.ts): their SQLite caches then count in the Worker's workerd.
   */
  readonly singleProcess?: boolean;
}

export async function runLoad(options: LoadOptions): Promise<ReliabilitySectionResult> {
  const snapshot = options.workingTree ? undefined : snapshotOfHead("reliability-load-worker");
  const work = mkdtempSync(join(tmpdir(), "reliability-load-"));
  try {
    return await runLoadIn(options, snapshot, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
    snapshot?.dispose();
  }
}

/** The run, serving `snapshot` (or the working tree) and keeping its files (KV state, bundle copies) below `work`. */
async function runLoadIn(options: LoadOptions, snapshot: HeadSnapshot | undefined, work: string): Promise<ReliabilitySectionResult> {
  const { smoke, log } = options;
  const durationMs = options.durationMs ?? (smoke ? 60_000 : 600_000);
  const warmupMs = options.warmupMs ?? (smoke ? 0 : WARMUP_MINUTES * 60_000);
  const runMs = warmupMs + durationMs;
  const clients = options.clients ?? 8;
  const swapEveryMs = options.swapEveryMs ?? (smoke ? 20_000 : 30_000);
  /** Latency and memory are bucketed by minute; the smoke run's minute is 10 s, so it still has a slope to fit. */
  const bucketMs = smoke ? 10_000 : 60_000;
  if (!(Number.isInteger(warmupMs / bucketMs) && warmupMs >= 0)) throw new Error(`load: the warm-up must be a whole number of ${bucketMs / 1000}-s buckets, not ${warmupMs} ms`);
  if (!(durationMs >= 2 * bucketMs)) throw new Error(`load: the measured load must last at least two ${bucketMs / 1000}-s buckets, not ${durationMs} ms`);
  const seed = options.seed ?? 17;
  const kinds = options.kinds ?? TRAFFIC_MIX.map(([kind]) => kind);
  const chosenMix = TRAFFIC_MIX.filter(([kind]) => kinds.includes(kind));
  const mixShare = sum(chosenMix.map(([, share]) => share));
  if (!(mixShare > 0)) throw new Error(`load: --kinds must name at least one of ${TRAFFIC_MIX.map(([kind]) => kind).join(", ")}`);
  const trafficMix = chosenMix.map(([kind, share]) => [kind, share / mixShare] as const);
  const started = performance.now();

  const served = snapshot ? `HEAD (${snapshot.commit}), snapshotted` : "the working tree";
  // the traffic: user ids over the whole bundle (weighted by activity, 10% never seen), its items for events
  const fixtureDirectory = snapshot ? await fixtureBundleOf(snapshot.directory) : (await fixtureBundleDirectory()).bundle;
  const fixture = await readBundleDirectory(fixtureDirectory);
  const tables = BundleTables.decode(fixture.manifest, fixture.files);
  const bundleUsers = tables.users.ids.size;
  const userIds = realisticUserIds(tables, { requests: 100_000, newUserShare: 0.1, seed });
  const items = Array.from({ length: tables.items.ids.size }, (_, row) => tables.items.ids.id(row));
  const mix = describeTraffic(userIds);
  log(`traffic: ${mix.distinct.toLocaleString("en-US")} distinct ids in the mix (the bundle has ${bundleUsers} users); the busiest 1% send ${(mix.top1PercentShare * 100).toFixed(1)}%`);

  // the versions: the first and one per swap, copies of the fixture under new names, written before the load starts
  const base = fixture.manifest.version;
  const swapOffsets: number[] = [];
  // the first half-way into the first interval: 20 swaps in 10 minutes (0: none, a control run for the memory figures)
  if (swapEveryMs > 0) for (let at = swapEveryMs / 2; at < runMs - 2_000; at += swapEveryMs) swapOffsets.push(at);
  const runTag = Date.now().toString(36);
  const versions = Array.from({ length: swapOffsets.length + 1 }, (_, i) => `${base}-load-${runTag}-${i}`);
  const persistTo = join(work, "state");
  const directories = versions.map((_, i) => join(work, `bundle-${i}`));
  for (const [i, version] of versions.entries()) copyBundle(fixtureDirectory, directories[i] as string, version);
  // half-published versions: after the 2nd and 4th swap (1st and 2nd in the smoke run), a third of the way to the next
  const halfAfter = smoke ? [1, 2] : [2, 4];
  const halfVersions = [`${base}-load-${runTag}-no-manifest`, `${base}-load-${runTag}-missing-file`];
  const droppedFile = tables.manifest.models.mtml.file;

  const configPath = join(REPO_ROOT, "wrangler.toml");
  const target = { kind: "local" as const, configPath, binding: "BUNDLES", persistTo };
  const publishLog: string[] = [];
  await publishDirectory(directories[0] as string, target, { activate: true, keepVersions: KEEP_VERSIONS, log: (line) => publishLog.push(line) });
  let dev: DevServer | undefined;
  let stateDev: DevServer | undefined;
  let split: SplitConfigs | undefined;
  const local = await openLocalKv({ configPath, persistTo, binding: "BUNDLES" });
  try {
    const vars = { ...TOKENS, BUNDLE_REFRESH_SECONDS: String(BUNDLE_REFRESH_SECONDS) };
    const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
    const checkout = snapshot?.directory ?? REPO_ROOT;
    // the state objects in their own wrangler dev, found through a registry of this run's own
    split = options.singleProcess ? undefined : writeSplitConfigs(checkout, runTag);
    const registry = { WRANGLER_REGISTRY_PATH: join(work, "registry") };
    const statePersistTo = join(work, "state-objects");
    if (split) {
      stateDev = await startDevServer(statePersistTo, 120_000, [...varArgs, "--config", split.state], checkout, { env: registry });
      log(`state objects (${STATE_OBJECT_BINDINGS.map((binding) => binding.className).join(", ")}) served by a second wrangler dev (${split.stateScript}) in ${(stateDev.bootMs / 1000).toFixed(1)} s`);
    }
    dev = await startDevServer(persistTo, 120_000, split ? [...varArgs, "--config", split.front] : varArgs, checkout, split ? { env: registry } : {});
    const url = dev.url;
    const pid = dev.pid;
    const publicPort = new URL(url).port;
    const roles = new Map<number, string>();
    const state = stateDev;
    /** The state process's workerds, named apart from the Worker's in `roles`. */
    const stateProcesses = (): Map<number, number> => (state ? workerdProcesses(state.pid, new URL(state.url).port, roles, STATE_PROCESS_NAMES) : new Map());
    const durableObjectDirectories = [join(persistTo, "v3", "do"), join(statePersistTo, "v3", "do")];
    const memorySample = (at: number): MemorySample => ({ at, rss: workerdProcesses(pid, publicPort, roles), stateRss: stateProcesses(), durableObjectBytes: sum(durableObjectDirectories.map(diskBytes)) });
    log(`wrangler dev up at ${url} in ${(dev.bootMs / 1000).toFixed(1)} s, serving ${served}; ${versions[0]} active`);
    /** A first page of Explore for `user`, outside the measured traffic. */
    const firstPage = (user: string | undefined, timeoutMs: number) => fetch(`${url}/v1/explore`, { method: "POST", headers: { authorization: `Bearer ${TOKENS.FEED_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ user_id: user, count: 10 }), signal: AbortSignal.timeout(timeoutMs) });
    // the first request pays the bundle load
    const warm = await firstPage(userIds[0], 120_000);
    const warmBody = await warm.text();
    if (warm.status !== 200) throw new Error(`warm-up /v1/explore answered ${warm.status}: ${warmBody.slice(0, 300)}`);
    if ((JSON.parse(warmBody) as { model_version?: unknown }).model_version !== versions[0]) {
      const health = await (await fetch(`${url}/health`)).text();
      throw new Error(`the Worker does not serve ${versions[0]}: warm-up /v1/explore answered ${warmBody.slice(0, 200)}; /health: ${health.slice(0, 600)}`);
    }
    // every user-state object started before the clock: in a state process just booted, the first call to each of
    // the 64 groups can outlast a request's state budget (1 s), and a next page whose session it cannot read answers
    // the documented 503; the section measures sustained load, not 64 objects starting at once
    const groupUsers = new Map<number, string>();
    for (const user of userIds) {
      const group = userStateGroup(user);
      if (!groupUsers.has(group)) groupUsers.set(group, user);
    }
    const warmingStarted = performance.now();
    const pending = [...groupUsers.values()];
    const warmGroup = async () => {
      for (let user = pending.pop(); user !== undefined; user = pending.pop()) {
        const response = await firstPage(user, 60_000);
        const body = await response.text();
        if (response.status !== 200) throw new Error(`starting the state objects: /v1/explore for ${user} answered ${response.status}: ${body.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: clients }, warmGroup));
    log(`state objects started: ${groupUsers.size} of ${USER_STATE_GROUPS} user-state groups in ${((performance.now() - warmingStarted) / 1000).toFixed(1)} s`);

    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const stopped = () => now() >= runMs;
    const answers: Answer[] = [];
    const health: HealthSample[] = [];
    const heapSamples: HeapSample[] = [];
    const heap: IsolateHeap | undefined = dev.inspectorPort === undefined ? undefined : await connectIsolateHeap(dev.inspectorPort).catch((error: unknown) => (log(`the isolate's heap will not be read: ${(error as Error).message}`), undefined));
    const memory: MemorySample[] = [memorySample(0)];
    const swaps: Swap[] = [];
    const halves: HalfPublished[] = [];
    const swapErrors: string[] = [];
    // every USER_SWEEP_EVERY-th pick is the next of all the bundle's users in turn (shuffled), so the rarely active
    // ones are asked for too, all of them within the first few thousand requests; the rest is the realistic mix
    const sweep = Array.from({ length: bundleUsers }, (_, row) => tables.users.ids.id(row));
    const shuffle = createRandom(seed + 1);
    for (let i = sweep.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [sweep[i], sweep[j]] = [sweep[j] as string, sweep[i] as string];
    }
    let picks = 0;
    let mixCursor = 0;
    let sweepCursor = 0;
    const asked = new Set<string>();
    const nextUser = () => {
      const user = picks++ % USER_SWEEP_EVERY === USER_SWEEP_EVERY - 1 ? (sweep[sweepCursor++ % sweep.length] as string) : (userIds[mixCursor++ % userIds.length] as string);
      asked.add(user);
      return user;
    };
    const eventTypeTotal = sum(Object.values(EVENT_TYPE_WEIGHTS));

    const client = async (id: number) => {
      const random = createRandom(seed * 7919 + id);
      let lastPage: { user: string; cursor: string } | undefined;
      let eventSerial = 0;
      while (!stopped()) {
        let pick = random();
        let kind: Kind = (trafficMix[0] as readonly [Kind, number])[0];
        for (const [candidate, share] of trafficMix) {
          pick -= share;
          if (pick < 0) {
            kind = candidate;
            break;
          }
        }
        let body: unknown;
        let token: string = TOKENS.FEED_TOKEN;
        let nextPage = false;
        if (kind === "explore") {
          if (lastPage !== undefined && random() < NEXT_PAGE_SHARE) {
            body = { user_id: lastPage.user, count: 30, cursor: lastPage.cursor };
            nextPage = true;
          } else body = { user_id: nextUser(), count: 30 };
        } else if (kind === "suggested") body = { user_id: nextUser(), count: 20 };
        else if (kind === "query") {
          body = { query: QUERIES[Math.floor(random() * QUERIES.length)], user_id: nextUser(), count: 50 };
          token = TOKENS.ADMIN_TOKEN;
        } else {
          const user = nextUser();
          const count = 1 + Math.floor(random() ** 2 * MAX_EXTRA_EVENTS);
          const events = Array.from({ length: count }, () => {
            let draw = random() * eventTypeTotal;
            let type: InteractionType = "impression";
            for (const candidate of INTERACTION_TYPES) {
              draw -= EVENT_TYPE_WEIGHTS[candidate];
              if (draw < 0) {
                type = candidate;
                break;
              }
            }
            return { event_id: `load-${runTag}-${id}-${(eventSerial++).toString(36)}`, user_id: user, item_id: items[Math.floor(random() * items.length)], type, ts: Date.now() - Math.floor(random() * 60_000), surface: Math.floor(random() * 4) };
          });
          body = { events };
          token = TOKENS.INGEST_TOKEN;
        }
        const at = now();
        let status = 0;
        let text = "";
        let problem: string | undefined;
        try {
          const response = await fetch(`${url}/v1/${kind}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
          text = await response.text();
          status = response.status;
        } catch (error) {
          problem = `${(error as Error).name}: ${(error as Error).message}`;
        }
        const ms = now() - at;
        let version: string | null | undefined;
        let degraded = false;
        if (status === 200) {
          try {
            const parsed = JSON.parse(text) as { model_version?: unknown; degraded?: unknown; cursor?: unknown; user_id?: unknown; degraded_reasons?: unknown };
            if (kind !== "events") {
              version = typeof parsed.model_version === "string" ? parsed.model_version : null;
              degraded = parsed.degraded === true || (Array.isArray(parsed.degraded_reasons) && parsed.degraded_reasons.length > 0);
            }
            if (kind === "explore") lastPage = typeof parsed.cursor === "string" && typeof parsed.user_id === "string" ? { user: parsed.user_id, cursor: parsed.cursor } : undefined;
          } catch {
            problem = `200 without JSON: ${text.slice(0, 80)}`;
          }
        } else if (status !== 0) problem = `${status} ${text.slice(0, 160)}`;
        answers.push({ kind, at, ms, status, version, degraded, nextPage, problem });
      }
    };

    const monitor = async () => {
      let nextMemoryAt = 5_000;
      while (!stopped()) {
        const at = now();
        try {
          const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
          const parsed = JSON.parse(await response.text()) as { bundle?: { version?: string; last_failure?: { version: string | null } | null } | null; isolate?: { wasm_memory_bytes?: Record<string, number | null> } };
          const wasm = Object.values(parsed.isolate?.wasm_memory_bytes ?? {}).filter((bytes): bytes is number => typeof bytes === "number");
          health.push({ at, status: response.status, version: parsed.bundle?.version, lastFailure: parsed.bundle?.last_failure?.version ?? null, wasmBytes: wasm.length === 0 ? undefined : sum(wasm) });
        } catch {
          health.push({ at, status: 0, version: undefined, lastFailure: undefined, wasmBytes: undefined });
        }
        if (heap !== undefined) {
          try {
            const usage = await heap.usage();
            heapSamples.push({ at: now(), ...usage });
          } catch {
            // a busy isolate answers late; the next second tries again
          }
        }
        if (now() >= nextMemoryAt) {
          memory.push(memorySample(now()));
          nextMemoryAt += 5_000;
        }
        await sleep(1_000);
      }
      memory.push(memorySample(now()));
    };

    const halfPublish = async (which: 0 | 1) => {
      const version = halfVersions[which] as string;
      const manifest = { ...fixture.manifest, version };
      const options = { ...servingPublishOptions(fixture.manifest), keepVersions: KEEP_VERSIONS };
      if (which === 0) {
        // the publisher dies after the files, before the manifest; then the pointer is flipped to it anyway
        const crashing: BundleKvWriter = { ...local.kv, put: async (key, value) => (key === manifestKey(version) ? Promise.reject(new Error("publisher died before the manifest")) : local.kv.put(key, value)) };
        await publishBundle(crashing, manifest, fixture.files, { ...options, activate: true }).then(
          () => Promise.reject(new Error("the crashing publish did not crash")),
          (error: unknown) => ((error as Error).message === "publisher died before the manifest" ? undefined : Promise.reject(error)),
        );
        await local.kv.put(ACTIVE_KEY, version);
        halves.push({ version, how: "files written, the publisher died before the manifest; bundle/active pointed at it anyway", activatedAt: now(), endedAt: Number.NaN });
      } else {
        // one model file's value never lands; manifest, index and pointer do
        const dropped = fileKey(version, droppedFile);
        const dropping: BundleKvWriter = { ...local.kv, put: async (key, value) => (key === dropped ? undefined : local.kv.put(key, value)) };
        await publishBundle(dropping, manifest, fixture.files, { ...options, activate: true });
        halves.push({ version, how: `manifest and pointer written, ${droppedFile} missing`, activatedAt: now(), endedAt: Number.NaN });
      }
      log(`  half-published ${version} activated at ${(now() / 1000).toFixed(1)} s`);
    };

    const swapper = async () => {
      for (const [i, offset] of swapOffsets.entries()) {
        const wait = offset - now();
        if (wait > 0) await sleep(wait);
        if (stopped()) break;
        const index = i + 1;
        const version = versions[index] as string;
        const publishAt = now();
        try {
          await publishDirectory(directories[index] as string, target, { activate: true, keepVersions: KEEP_VERSIONS, log: (line) => publishLog.push(line) });
          const activatedAt = now();
          swaps.push({ index, version, publishAt, activatedAt });
          const half = halves[halves.length - 1];
          if (half !== undefined && Number.isNaN(half.endedAt)) half.endedAt = activatedAt;
          log(`  swap ${index}: ${version} active at ${(activatedAt / 1000).toFixed(1)} s (publish ${((activatedAt - publishAt) / 1000).toFixed(1)} s)`);
        } catch (error) {
          swapErrors.push(`swap ${index}: ${(error as Error).message}`);
          log(`  swap ${index} failed: ${(error as Error).message}`);
        }
        const which = halfAfter.indexOf(index);
        if (which === 0 || which === 1) {
          const halfAt = offset + swapEveryMs / 3;
          if (halfAt - now() > 0) await sleep(halfAt - now());
          try {
            await halfPublish(which);
          } catch (error) {
            swapErrors.push(`half-publish ${halfVersions[which]}: ${(error as Error).message}`);
          }
        }
      }
      for (const half of halves) if (Number.isNaN(half.endedAt)) half.endedAt = now();
    };

    let progressAt = bucketMs;
    const progress = async () => {
      while (!stopped()) {
        await sleep(Math.max(0, Math.min(progressAt, runMs) - now()));
        const recent = answers.filter((answer) => answer.at >= progressAt - bucketMs && answer.at < progressAt);
        const sorted = recent.map((answer) => answer.ms).sort((a, b) => a - b);
        const rss = mib(sum((memory[memory.length - 1] as MemorySample).rss.values()));
        log(`  ${(progressAt / 1000).toFixed(0)} s${progressAt <= warmupMs ? " (warm-up)" : ""}: ${recent.length} requests, ${recent.filter((answer) => answer.status !== 200).length} failed, p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p99 ${percentile(sorted, 0.99).toFixed(0)} ms, workerd RSS ${rss.toFixed(0)} MiB`);
        progressAt += bucketMs;
      }
    };

    log(`load: ${clients} clients for ${warmupMs > 0 ? `${warmupMs / 1000} s of warm-up, then ` : ""}${durationMs / 1000} s measured, a swap every ${swapEveryMs / 1000} s (${swapOffsets.length} swaps)`);
    await Promise.all([...Array.from({ length: clients }, (_, id) => client(id)), monitor(), swapper(), progress()]);
    heap?.close();
    const loadSeconds = now() / 1000;

    // --- what the run saw
    const requests = answers.length;
    const failed = answers.filter((answer) => answer.status !== 200 || answer.problem !== undefined);
    const failedKinds = countBy(failed, (answer) => `${answer.kind} ${answer.status === 0 ? "no answer" : answer.status}`);
    const buckets = Math.ceil(runMs / bucketMs);
    /** Buckets of the warm-up; the measured ones follow. Without a warm-up the first bucket is one (JIT, caches, the first bundle). */
    const warmupBuckets = warmupMs / bucketMs;
    const fitFrom = Math.max(1, warmupBuckets);
    const perBucket = Array.from({ length: buckets }, (_, b) => {
      const inBucket = answers.filter((answer) => answer.at >= b * bucketMs && answer.at < (b + 1) * bucketMs);
      const sorted = inBucket.map((answer) => answer.ms).sort((a, b2) => a - b2);
      const sampledInBucket = (sample: { readonly at: number }) => sample.at > b * bucketMs && sample.at <= (b + 1) * bucketMs;
      const samples = memory.filter(sampledInBucket);
      const heapInBucket = heapSamples.filter(sampledInBucket);
      const wasmInBucket = health.filter(sampledInBucket).flatMap((sample) => (sample.wasmBytes === undefined ? [] : [sample.wasmBytes]));
      const rss = samples.length === 0 ? Number.NaN : sum(samples.map((sample) => mib(sum(sample.rss.values())))) / samples.length;
      const perProcess = new Map<number, number>();
      for (const sample of samples) for (const [p, bytes] of [...sample.rss, ...sample.stateRss]) perProcess.set(p, (perProcess.get(p) ?? 0) + mib(bytes) / samples.length);
      return {
        durableObjectMiB: samples.length === 0 ? Number.NaN : mib((samples[samples.length - 1] as MemorySample).durableObjectBytes),
        bucket: b + 1,
        warmup: b < warmupBuckets,
        requests: inBucket.length,
        failed: inBucket.filter((answer) => answer.status !== 200 || answer.problem !== undefined).length,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        p99: percentile(sorted, 0.99),
        rss,
        perProcess,
        heapFloorMiB: floorMiB(heapInBucket.map((sample) => sample.usedBytes)),
        heapTotalMiB: heapInBucket.length === 0 ? Number.NaN : mib((heapInBucket[heapInBucket.length - 1] as HeapSample).totalBytes),
        buffersFloorMiB: floorMiB(heapInBucket.flatMap((sample) => (sample.backingStoreBytes === undefined ? [] : [sample.backingStoreBytes]))),
        // a wasm memory only grows: the bucket's largest reading is its size at the bucket's end
        wasmMiB: wasmInBucket.length === 0 ? Number.NaN : mib(Math.max(...wasmInBucket)),
        swaps: swaps.filter((swap) => swap.activatedAt >= b * bucketMs && swap.activatedAt < (b + 1) * bucketMs).length,
      };
    });
    /** The first and last measured buckets. */
    const first = perBucket[warmupBuckets];
    const last = perBucket[perBucket.length - 1];
    const runFirst = perBucket[0];
    const p50Drift = first && last ? last.p50 / first.p50 : Number.NaN;
    const p99Drift = first && last ? last.p99 / first.p99 : Number.NaN;
    const bucketsPerMinute = 60_000 / bucketMs;
    /** The line through one per-bucket figure (MiB) over the buckets from `from` on, against minutes; buckets without it are left out. */
    const fitBuckets = (from: number, valueOf: (row: (typeof perBucket)[number]) => number) =>
      fitLine(perBucket.slice(from).filter((row) => Number.isFinite(valueOf(row))).map((row) => [(row.bucket - 0.5) / bucketsPerMinute, valueOf(row)] as const));
    const memorySlope = fitBuckets(fitFrom, (row) => row.rss).slope;
    const pids = [...new Set(memory.flatMap((sample) => [...sample.rss.keys(), ...sample.stateRss.keys()]))];
    const processFit = (p: number, from: number) => fitBuckets(from, (row) => row.perProcess.get(p) ?? Number.NaN);
    const processSlopes = pids.map((p) => {
      const measured = processFit(p, fitFrom);
      return { pid: p, slope: measured.slope, standardError: measured.standardError, wholeRun: processFit(p, 1).slope, runFirst: runFirst?.perProcess.get(p), first: first?.perProcess.get(p), last: last?.perProcess.get(p) };
    });

    const workerSlope = processSlopes.find((entry) => roles.get(entry.pid) === "Worker");
    const proxySlope = processSlopes.find((entry) => roles.get(entry.pid) === "dev proxy");
    const signed = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
    const stateSlope = processSlopes.find((entry) => roles.get(entry.pid) === STATE_OBJECTS_ROLE);
    const stateObjects = split
      ? `; the state objects' workerd (${STATE_OBJECT_BINDINGS.map((binding) => binding.className).join(", ")}, served by a second wrangler dev) ${signed(stateSlope?.slope ?? Number.NaN)} MiB/min (${(stateSlope?.first ?? Number.NaN).toFixed(0)} → ${(stateSlope?.last ?? Number.NaN).toFixed(0)} MiB) while the objects' SQLite files grew ${(first?.durableObjectMiB ?? Number.NaN).toFixed(0)} → ${(last?.durableObjectMiB ?? Number.NaN).toFixed(0)} MiB`
      : `; the state objects ran in the Worker's workerd (--single-process), their SQLite files ${(first?.durableObjectMiB ?? Number.NaN).toFixed(0)} → ${(last?.durableObjectMiB ?? Number.NaN).toFixed(0)} MiB`;
    const heapFloorSlope = fitBuckets(fitFrom, (row) => row.heapFloorMiB).slope;
    const buffersFloorSlope = fitBuckets(fitFrom, (row) => row.buffersFloorMiB).slope;
    // the isolate's memory as a Worker's limit counts it: live JS objects (the heap's floor), ArrayBuffer backing
    // stores (their floor) and the wasm memories, which V8 accounts for in neither
    const isolateMiB = (row: (typeof perBucket)[number]) => row.heapFloorMiB + row.buffersFloorMiB + row.wasmMiB;
    const isolateFit = fitBuckets(fitFrom, isolateMiB);
    const isolateSpan = `${(first ? isolateMiB(first) : Number.NaN).toFixed(1)} → ${(last ? isolateMiB(last) : Number.NaN).toFixed(1)} MiB`;
    const wasmSlope = fitBuckets(fitFrom, (row) => row.wasmMiB).slope;

    // versions: every feed and query answer names one published version; which ones, how many; none the half ones
    const published = new Set(versions);
    const named = answers.filter((answer) => answer.status === 200 && answer.kind !== "events");
    const perVersion = countBy(named, (answer) => answer.version ?? "(null)");
    const wellNamed = named.filter((answer) => typeof answer.version === "string" && published.has(answer.version)).length;
    const halfServed = named.filter((answer) => answer.version !== null && answer.version !== undefined && halfVersions.includes(answer.version)).length;
    const refusedSeen = halves.map((half) => health.some((sample) => sample.at >= half.activatedAt && sample.lastFailure === half.version));
    const firstServed = new Map<string, number>();
    for (const answer of named) if (typeof answer.version === "string" && !firstServed.has(answer.version)) firstServed.set(answer.version, answer.at + answer.ms);
    const swapsServed = swaps.filter((swap) => firstServed.has(swap.version));
    const swapLatencies = swapsServed.map((swap) => (firstServed.get(swap.version) as number) - swap.activatedAt).sort((a, b) => a - b);
    // during a swap: from the start of its publish until 2 s after the first answer naming the new version
    const inSwap = (answer: Answer) => swaps.some((swap) => answer.at + answer.ms >= swap.publishAt && answer.at <= (firstServed.get(swap.version) ?? swap.activatedAt + 10_000) + 2_000);
    const duringSwaps = answers.filter(inSwap);
    const failedDuringSwaps = duringSwaps.filter((answer) => answer.status !== 200 || answer.problem !== undefined).length;
    const distinctUsers = asked;
    const bundleUserSet = new Set(Array.from({ length: bundleUsers }, (_, row) => tables.users.ids.id(row)));
    const knownHit = [...distinctUsers].filter((user) => bundleUserSet.has(user)).length;
    const unseenHit = distinctUsers.size - knownHit;
    const degradedCount = named.filter((answer) => answer.degraded).length;
    const healthFailed = health.filter((sample) => sample.status !== 200).length;
    const minSwaps = smoke ? 2 : 20;
    const bucketName = smoke ? "10-s bucket" : "minute";

    const fmt = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : "n/a");
    const rows: ReliabilityRow[] = [
      { section: SECTION, measure: `mixed load: failed requests (≥ 500, a 4xx to a valid request, no answer in ${REQUEST_TIMEOUT_MS / 1000} s)`, value: `${failed.length} of ${requests.toLocaleString("en-US")} in ${loadSeconds.toFixed(0)} s${failed.length > 0 ? ` (${[...failedKinds].map(([key, count]) => `${key}: ${count}`).join(", ")})` : ""}`, bar: "0", pass: failed.length === 0 && requests > 0 },
      ...(trafficMix.length === TRAFFIC_MIX.length ? [] : [{ section: SECTION, measure: "mixed load: request kinds", value: `only ${trafficMix.map(([kind]) => kind).join(", ")} (a control run)`, bar: TRAFFIC_MIX.map(([kind]) => kind).join(", "), pass: false }]),
      { section: SECTION, measure: `mixed load: users`, value: `${knownHit} of the bundle's ${bundleUsers} users and ${unseenHit.toLocaleString("en-US")} never-seen ids`, bar: smoke ? "≥ half the bundle's users" : "every bundle user", pass: smoke ? knownHit >= bundleUsers / 2 : knownHit === bundleUsers },
      { section: SECTION, measure: `mixed load: latency drift, last ${bucketName} over the first${warmupBuckets > 0 ? " measured" : ""}`, value: `p50 ${p50Drift.toFixed(2)}× (${fmt(first?.p50 ?? Number.NaN)} → ${fmt(last?.p50 ?? Number.NaN)}), p99 ${p99Drift.toFixed(2)}× (${fmt(first?.p99 ?? Number.NaN)} → ${fmt(last?.p99 ?? Number.NaN)})`, bar: smoke ? "reported (10-s buckets on a shared host are noise)" : `p99 ≤ ${P99_DRIFT_BAR}× (shared host: noisy)`, pass: smoke ? Number.isFinite(p99Drift) : p99Drift <= P99_DRIFT_BAR },
      {
        section: SECTION,
        measure: `mixed load: workerd memory slope ${warmupBuckets > 0 ? `over the ${durationMs / bucketMs} measured ${bucketName}s, after ${warmupBuckets} of warm-up` : `after the first ${bucketName}`}`,
        value: `the Worker's workerd ${signed(workerSlope?.slope ?? Number.NaN)} ± ${(workerSlope?.standardError ?? Number.NaN).toFixed(2)} (s.e.) MiB/min (${(workerSlope?.first ?? Number.NaN).toFixed(0)} → ${(workerSlope?.last ?? Number.NaN).toFixed(0)} MiB${warmupBuckets > 0 ? `; the warm-up's first ${bucketName} ${(workerSlope?.runFirst ?? Number.NaN).toFixed(0)} MiB, the whole run ${signed(workerSlope?.wholeRun ?? Number.NaN)} MiB/min` : ""}; ${swaps.length} swaps); wrangler's dev proxy ${signed(proxySlope?.slope ?? Number.NaN)}; both ${signed(memorySlope)} (${(first?.rss ?? Number.NaN).toFixed(0)} → ${(last?.rss ?? Number.NaN).toFixed(0)} MiB); the isolate's JS heap floor ${signed(heapFloorSlope)} MiB/min (${(first?.heapFloorMiB ?? Number.NaN).toFixed(0)} → ${(last?.heapFloorMiB ?? Number.NaN).toFixed(0)} MiB), its ArrayBuffers' floor ${signed(buffersFloorSlope)} MiB/min (${(first?.buffersFloorMiB ?? Number.NaN).toFixed(0)} → ${(last?.buffersFloorMiB ?? Number.NaN).toFixed(0)} MiB)${stateObjects}`,
        // a minute is all warm-up (the smoke run's slope is the first minute's growth): it is reported, the full run holds the bar
        bar: smoke ? `reported (60 s is warm-up; the full run: the Worker's < ${MEMORY_SLOPE_BAR_MIB_PER_MIN} MiB/min)` : `the Worker's < ${MEMORY_SLOPE_BAR_MIB_PER_MIN} MiB/min`,
        // on the Worker's process: the dev proxy is wrangler's, a deployed Worker has none (its slope is reported)
        pass: smoke ? Number.isFinite(workerSlope?.slope ?? Number.NaN) : (workerSlope?.slope ?? Number.NaN) < MEMORY_SLOPE_BAR_MIB_PER_MIN,
      },
      {
        section: SECTION,
        measure: `mixed load: isolate memory slope ${warmupBuckets > 0 ? `over the ${durationMs / bucketMs} measured ${bucketName}s, after ${warmupBuckets} of warm-up` : `after the first ${bucketName}`} (JS heap floor + ArrayBuffers' floor + wasm memories)`,
        value: `${signed(isolateFit.slope)} ± ${isolateFit.standardError.toFixed(2)} (s.e.) MiB/min (${isolateSpan}; the whole run ${signed(fitBuckets(1, isolateMiB).slope)} MiB/min); of which the wasm memories (onnxruntime-web, the ANN runtime) ${signed(wasmSlope)} MiB/min (${(first?.wasmMiB ?? Number.NaN).toFixed(1)} → ${(last?.wasmMiB ?? Number.NaN).toFixed(1)} MiB, from ${(runFirst?.wasmMiB ?? Number.NaN).toFixed(1)} MiB in the run's first ${bucketName}); ${swaps.length} swaps`,
        bar: smoke ? `reported (60 s is warm-up; the full run: < ${MEMORY_SLOPE_BAR_MIB_PER_MIN} MiB/min)` : `< ${MEMORY_SLOPE_BAR_MIB_PER_MIN} MiB/min`,
        pass: smoke ? Number.isFinite(isolateFit.slope) : isolateFit.slope < MEMORY_SLOPE_BAR_MIB_PER_MIN,
      },
      { section: SECTION, measure: "model swaps: versions published, activated and served under load", value: `${swapsServed.length} of ${swapOffsets.length}${swapErrors.length > 0 ? ` (${swapErrors.join("; ")})` : ""}; served ${fmt(percentile(swapLatencies, 0.5))} after activation (p50), max ${fmt(swapLatencies[swapLatencies.length - 1] ?? Number.NaN)}`, bar: `≥ ${minSwaps}`, pass: swapsServed.length >= minSwaps && swapErrors.length === 0 },
      { section: SECTION, measure: "model swaps: failed requests during a swap", value: `${failedDuringSwaps} of ${duringSwaps.length.toLocaleString("en-US")}`, bar: "0", pass: failedDuringSwaps === 0 && duringSwaps.length > 0 },
      { section: SECTION, measure: "model swaps: feed and query answers naming exactly one published version", value: `${wellNamed.toLocaleString("en-US")} of ${named.length.toLocaleString("en-US")} over ${perVersion.size} versions`, bar: "all", pass: wellNamed === named.length && named.length > 0 },
      { section: SECTION, measure: "model swaps: answers naming a half-published version", value: `${halfServed} (${halves.length} activated; refused on /health: ${refusedSeen.filter(Boolean).length} of ${halves.length})`, bar: "0, each one refused", pass: halfServed === 0 && halves.length === 2 && refusedSeen.every(Boolean) },
    ];

    const seconds = (performance.now() - started) / 1000;
    const perKind = (["explore", "suggested", "events", "query"] as const).map((kind) => {
      const ofKind = answers.filter((answer) => answer.kind === kind);
      const sorted = ofKind.map((answer) => answer.ms).sort((a, b) => a - b);
      return `| ${kind}${kind === "explore" ? ` (${ofKind.filter((answer) => answer.nextPage).length} next pages)` : ""} | ${ofKind.length.toLocaleString("en-US")} | ${requests > 0 ? ((ofKind.length / requests) * 100).toFixed(1) : "0"}% | ${ofKind.filter((answer) => answer.status !== 200).length} | ${fmt(percentile(sorted, 0.5))} | ${fmt(percentile(sorted, 0.99))} |`;
    });
    const firstProblems = failed.slice(0, 5).map((answer) => `- ${answer.kind} at ${(answer.at / 1000).toFixed(1)} s: ${answer.problem ?? answer.status}`);
    const markdown = [
      `## Sustained mixed load and model swaps under load`,
      ``,
      `${smoke ? "Smoke run" : "Full run"}: ${clients} clients, each with one request in flight, for ${warmupMs > 0 ? `${(warmupMs / 1000).toFixed(0)} s of warm-up, then ` : ""}${(durationMs / 1000).toFixed(0)} s measured, against \`wrangler dev\` serving ${served}, with copies of the fixture bundle (${bundleUsers} users, ${items.length} items) from a fresh local KV; ${requests.toLocaleString("en-US")} requests (${(requests / loadSeconds).toFixed(0)}/s), ${seconds.toFixed(0)} s in all. Every request is valid: any answer but a 200 is a failure. ${split ? `The real-time state objects (${STATE_OBJECT_BINDINGS.map((binding) => binding.className).join(", ")}) run in a second \`wrangler dev\` that the Worker reaches through the dev registry, as a deployed Worker reaches Durable Objects that live outside its isolate and its process; in one \`wrangler dev\` their SQLite page caches would count in the Worker's workerd and grow with their databases, about 1 MiB per MB written until a database holds a few MB (\`npx tsx scripts/reliability/sqlite-memory-control.ts\`).` : "The real-time state objects run in the Worker's own `wrangler dev` (--single-process): their SQLite page caches count in the Worker's workerd."}`,
      ``,
      `**Traffic.** The proportions of a feed client: Explore pages 45% (a third of them the next page, with the previous page's cursor), event batches 30% (1–41 events each, mostly impressions and clicks, about one batch per page viewed), Suggested Posts 20%, the operators' \`/v1/query\` 5% (${QUERIES.length} queries over the stores the retrieval sources read). User ids are drawn over all the bundle's users, each with weight 1 + its training interactions, and 10% are ids nobody has seen (scripts/bench/traffic.ts); every ${USER_SWEEP_EVERY}th pick is instead the next of all the bundle's users in turn, so the rarely active are asked for too: ${knownHit} of the ${bundleUsers} bundle users and ${unseenHit.toLocaleString("en-US")} new ids were asked for.`,
      ``,
      `| route | requests | share | failed | p50 | p99 |`,
      `|---|---:|---:|---:|---:|---:|`,
      ...perKind,
      ``,
      `Per ${bucketName} (latency of the requests sent in it; memory: the mean of workerd's resident memory sampled every 5 s, summed over wrangler's workerd processes):`,
      ``,
      `| ${bucketName} | requests | failed | p50 | p95 | p99 | workerd RSS | isolate JS heap: floor / reserved | ArrayBuffers: floor | wasm memories | Durable Objects on disk | swaps |`,
      `|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
      ...perBucket.map((row) => `| ${row.bucket}${row.warmup ? " (warm-up)" : ""} | ${row.requests.toLocaleString("en-US")} | ${row.failed} | ${fmt(row.p50)} | ${fmt(row.p95)} | ${fmt(row.p99)} | ${row.rss.toFixed(1)} MiB (${[...row.perProcess].map(([p, value]) => `${roles.get(p) ?? "workerd"} ${value.toFixed(0)}`).join(", ")}) | ${row.heapFloorMiB.toFixed(0)} / ${row.heapTotalMiB.toFixed(0)} MiB | ${row.buffersFloorMiB.toFixed(0)} MiB | ${row.wasmMiB.toFixed(1)} MiB | ${row.durableObjectMiB.toFixed(0)} MiB | ${row.swaps} |`),
      ``,
      `Drift (last ${bucketName} over the first${warmupBuckets > 0 ? " measured" : ""}): p50 ${p50Drift.toFixed(2)}×, p99 ${p99Drift.toFixed(2)}×. Latency is measured on a shared, loaded host and is noisy; failures and memory are the figures that matter. ${warmupBuckets > 0 ? `The first ${warmupBuckets} ${bucketName}s are a warm-up under the same load and swaps: workerd's own allocator (tcmalloc, outside the isolate) takes resident pages for the first quarter hour of any load under \`wrangler dev\` and then mostly holds them (a Worker of a dozen lines at this request rate: 113 → 442 MiB in 15 minutes, then +0.31 MiB/min; \`npx tsx scripts/reliability/memory-control.ts\`), and wrangler's dev proxy, which runs none of this project's code, climbs the same way in this run: its slope over the measured minutes is the run's own control; a leak does not level off. Their requests count for the failures, the users and the swaps; the memory slope and the latency drift are read over the ${durationMs / bucketMs} measured ${bucketName}s that follow.` : `The first ${bucketName} is the warm-up (JIT, caches, the first bundle, the first events in each state object).`} Memory slope by least squares over the ${bucketName}s ${warmupBuckets > 0 ? "measured" : "after the first"}: **${signed(workerSlope?.slope ?? Number.NaN)} MiB/min for the Worker's workerd** (the bar's; standard error ${(workerSlope?.standardError ?? Number.NaN).toFixed(2)} MiB/min from the ${bucketName}s' scatter), ${signed(memorySlope)} MiB/min summed with wrangler's dev proxy (a workerd every request passes through, which a deployed Worker does not have); the Worker's over the whole run after its first ${bucketName}: ${signed(workerSlope?.wholeRun ?? Number.NaN)} MiB/min; the isolate's JS heap floor (the lowest used heap of each ${bucketName}, read every second through the inspector: live objects, without wasm memories, SQLite's caches or the allocator's pages): ${signed(heapFloorSlope)} MiB/min; the floor of its ArrayBuffers' backing stores (typed arrays and bodies; held in the allocator's pages, outside the heap): ${signed(buffersFloorSlope)} MiB/min; per process over the measured ${bucketName}s ${processSlopes.map((entry) => `${roles.get(entry.pid) ?? "workerd"} (pid ${entry.pid}): ${(entry.first ?? Number.NaN).toFixed(0)} → ${(entry.last ?? Number.NaN).toFixed(0)} MiB, ${entry.slope.toFixed(2)} MiB/min (from ${(entry.runFirst ?? Number.NaN).toFixed(0)} MiB in the run's first ${bucketName})`).join("; ")}. The bar is < ${MEMORY_SLOPE_BAR_MIB_PER_MIN} MiB/min: a bundle version decodes to tens of MiB (ONNX sessions, the ANN index in wasm memory), so a swap that leaked its predecessor would add that much every ${swapEveryMs / 1000} s, tens of MiB per minute, while on the plateau the per-minute means scatter by about ±15 MiB (GC timing, allocator pages, a bundle decoding), which moves a 10-minute slope by about a MiB per minute either way.`,
      ``,
      `**The isolate's memory** (what a Worker's memory limit counts, and what the issue asks to watch for a leak): per ${bucketName}, the JS heap's floor and the ArrayBuffers' floor (read every second through the inspector) plus the isolate's wasm memories (onnxruntime-web's and the ANN runtime's linear memories, read every second from \`/health\` \`isolate.wasm_memory_bytes\`; V8 counts them in neither, and a wasm memory never shrinks, so a swap that leaked sessions or an index would raise it for good). Its slope over the ${bucketName}s ${warmupBuckets > 0 ? "measured" : "after the first"}: **${signed(isolateFit.slope)} ± ${isolateFit.standardError.toFixed(2)} MiB/min** (${isolateSpan}), the wasm memories ${signed(wasmSlope)} MiB/min of it. The workerd process's resident memory above also holds workerd's own allocator pages, the runtime's buffers and caches, which no isolate owns.`,
      ``,
      `**Swaps.** Every ${swapEveryMs / 1000} s a copy of the fixture bundle under a new version was published and activated through the publish path of \`npm run publish\` (scripts/lib/kv-publish.ts, \`--keep ${KEEP_VERSIONS}\`: older versions are pruned), with the Worker reading \`bundle/active\` every ${BUNDLE_REFRESH_SECONDS} s (production: 30 s). ${swapsServed.length} of ${swapOffsets.length} new versions were served, the first answer naming one came ${fmt(percentile(swapLatencies, 0.5))} (p50; max ${fmt(swapLatencies[swapLatencies.length - 1] ?? Number.NaN)}) after its activation; ${duringSwaps.length.toLocaleString("en-US")} requests were in flight during a swap (from its publish to 2 s after the new version's first answer) and ${failedDuringSwaps} failed. ${wellNamed.toLocaleString("en-US")} of ${named.length.toLocaleString("en-US")} feed and query answers named a published version (${degradedCount} said they were degraded); events answers name none. /health was polled every second: ${health.length} polls, ${healthFailed} not 200.`,
      ``,
      `| version | answers naming it |`,
      `|---|---:|`,
      ...[...perVersion].map(([version, count]) => `| ${version} | ${count.toLocaleString("en-US")} |`),
      ``,
      `**Half-published bundles.** ${halves.length} were activated while the load ran, each until the next swap; the Worker must refuse them (keep serving the version it has, /health naming the refused one) and never name them:`,
      ``,
      `| version | what was written | held | refused on /health | answers naming it |`,
      `|---|---|---:|---|---:|`,
      ...halves.map((half, i) => `| ${half.version} | ${half.how} | ${((half.endedAt - half.activatedAt) / 1000).toFixed(1)} s | ${refusedSeen[i] ? "yes" : "no"} | ${named.filter((answer) => answer.version === half.version).length} |`),
      ``,
      ...(firstProblems.length > 0 ? [`First failures:`, ``, ...firstProblems, ``] : []),
    ].join("\n");
    return { section: SECTION, rows, markdown, ok: rows.every((row) => row.pass) };
  } finally {
    await dev?.stop();
    await stateDev?.stop();
    split?.dispose();
    await local.dispose();
  }
}

/** `--kinds explore,suggested`: each must be one of TRAFFIC_MIX's kinds. */
function parseKinds(text: string): Kind[] {
  const known = TRAFFIC_MIX.map(([kind]) => kind);
  const kinds = text.split(",").map((kind) => kind.trim());
  const unknown = kinds.filter((kind) => !(known as string[]).includes(kind));
  if (unknown.length > 0 || kinds.length === 0) throw new Error(`--kinds: ${unknown.join(", ") || "(none)"} not among ${known.join(", ")}`);
  return kinds as Kind[];
}

/** The section as `npm run reliability` runs it. */
export const runLoadSection: ReliabilitySection = (options) => runLoad(options);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, minutes: { type: "string" }, "warmup-minutes": { type: "string" }, clients: { type: "string" }, "swap-every": { type: "string" }, kinds: { type: "string" }, "working-tree": { type: "boolean", default: false }, "single-process": { type: "boolean", default: false } }, strict: true });
  const result = await runLoad({
    smoke: values.smoke,
    workingTree: values["working-tree"],
    singleProcess: values["single-process"],
    log: (line) => console.error(line),
    ...(values.minutes ? { durationMs: Number(values.minutes) * 60_000 } : {}),
    ...(values["warmup-minutes"] !== undefined ? { warmupMs: Number(values["warmup-minutes"]) * 60_000 } : {}),
    ...(values.clients ? { clients: Number(values.clients) } : {}),
    // seconds; 0: no swaps (a control run for the memory figures)
    ...(values["swap-every"] !== undefined ? { swapEveryMs: Number(values["swap-every"]) * 1000 } : {}),
    // e.g. explore,suggested,query: a control run for the memory figures, without the events' stored state
    ...(values.kinds !== undefined ? { kinds: parseKinds(values.kinds) } : {}),
  });
  for (const row of result.rows) console.log(`${row.pass ? "PASS" : "FAIL"}  ${row.measure}\n      ${row.value}\n      bar: ${row.bar}`);
  console.log(`\n${result.markdown}`);
  process.exitCode = result.ok ? 0 : 1;
}
