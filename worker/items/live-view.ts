import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { z } from "zod";
import { loadBundle } from "../../core/bundle/store";
import { extendCatalogue, extendedFeatureContext, type DeltaEntry, type ExtendedCatalogue } from "../../core/live-items/catalogue";
import { embedItems, type ItemEmbeddings, type ItemTowers } from "../../core/live-items/embed";
import type { LiveItemRecord } from "../../core/live-items/record";
import { liveServingBundle, type LiveServingBundle } from "../../core/live-items/view";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { workersKvReader } from "../bundle/kv";
import { isolateRuntimes } from "../bundle/runtime";
import { itemDeltaStub, type SyncedEntry } from "./item-delta";

/** What a feed request serves with the delta applied. */
export interface LiveState {
  /** The bundle with live items appended (the bundle itself when the delta adds none). */
  readonly serving: ServingBundle;
  /** Ids every answer leaves out, whichever path serves it (funnel, precomputed feed, popular fallback). */
  readonly takenDownIds: ReadonlySet<string>;
  /** Why the delta could not be read or applied in full: the feed then says `degraded`. */
  readonly problems: readonly string[];
  /** ms spent asking the ItemDelta object for changes (Server-Timing `live`). */
  readonly syncMs: number;
}

/** The isolate's copy of the delta: what the last sync returned, merged. */
const delta = { epoch: null as string | null, version: 0, entries: new Map<string, SyncedEntry>() };
/** What requests read of the delta, derived once per change rather than per request: the taken-down ids, whether any record is there. */
let derived: { readonly takenDownIds: ReadonlySet<string>; readonly hasRecords: boolean } = { takenDownIds: new Set(), hasRecords: false };
/** The view built for a bundle object at a delta version, and requests holding it (its live index is freed after the last). */
let current: { base: ServingBundle; key: string; view: Promise<ViewBuild>; holds: number; replaced: boolean } | undefined;
type ViewBuild = { readonly serving: LiveServingBundle; readonly problems: readonly string[] };
/** Embeddings of live records per bundle version, so a changed delta embeds only its new records. */
const embeddingCache = new Map<string, Map<string, { readonly retrieval: Float32Array; readonly firstStage: Float32Array }>>();
/** The item towers of the bundle version that last needed them (sessions are created lazily: only a delta with items needs them). */
let towers: { version: string; sessions: Promise<ItemTowers> } | undefined;

/**
 * Runs `serve` with the isolate's bundle and the live delta applied. The delta's version is asked of the ItemDelta
 * object on every request (a takedown must hold on the very next request of every isolate, so no cache may stand
 * between); only a changed version moves entries and rebuilds the view. When the object cannot be reached the last
 * delta this isolate read still applies (takedowns it knew keep holding) and the answer says degraded.
 */
export async function withLiveItems<T>(env: Env, base: ServingBundle, serve: (live: LiveState) => Promise<T>): Promise<T> {
  const read = await readLiveDelta(env);
  const problems = [...read.problems];
  if (!derived.hasRecords) return serve({ ...read, serving: base });

  const key = `${delta.epoch}:${delta.version}`;
  if (!current || current.base !== base || current.key !== key) {
    const previous = current;
    const entries = [...delta.entries.values()].sort((a, b) => a.seq - b.seq);
    current = { base, key, view: buildView(env, base, entries), holds: 0, replaced: false };
    if (previous) retire(previous);
  }
  const held = current;
  held.holds++;
  try {
    const build = await held.view.catch((error: unknown): { serving: undefined; problems: string[] } => {
      // a failed build (the towers' files unreadable, say) is tried again by the next request, not kept
      if (current === held) current = undefined;
      return { serving: undefined, problems: [`live items not applied: ${(error as Error).message}`] };
    });
    problems.push(...build.problems);
    return await serve({ serving: build.serving ?? base, takenDownIds: read.takenDownIds, problems, syncMs: read.syncMs });
  } finally {
    held.holds--;
    if (held.replaced && held.holds === 0) void release(held);
  }
}

/**
 * Brings the isolate's copy of the delta up to date (one RPC; entries move only when the version changed) and gives
 * the taken-down ids: what the popular fallback needs when no bundle is loaded.
 */
export async function readLiveDelta(env: Env): Promise<Omit<LiveState, "serving">> {
  const started = performance.now();
  const problems: string[] = [];
  try {
    applySync(await withinTimeBudget(itemDeltaStub(env).sync(delta.epoch, delta.version), REQUEST_BUDGETS_MS.stateObject, "the ItemDelta object"));
  } catch (error) {
    problems.push(`live items unavailable (the ItemDelta object did not answer; serving the delta as this isolate last read it): ${(error as Error).message}`);
  }
  return { takenDownIds: derived.takenDownIds, problems, syncMs: performance.now() - started };
}

function applySync(sync: { epoch: string; version: number; full: boolean; entries: readonly SyncedEntry[] }): void {
  if (!sync.full && sync.entries.length === 0 && sync.epoch === delta.epoch && sync.version === delta.version) return;
  if (sync.full) delta.entries.clear();
  for (const entry of sync.entries) delta.entries.set(entry.item_id, entry);
  delta.epoch = sync.epoch;
  delta.version = sync.version;
  const takenDownIds = new Set<string>();
  let hasRecords = false;
  for (const entry of delta.entries.values()) {
    if (entry.taken_down) takenDownIds.add(entry.item_id);
    if (entry.record !== null) hasRecords = true;
  }
  derived = { takenDownIds, hasRecords };
}

function retire(view: NonNullable<typeof current>): void {
  view.replaced = true;
  if (view.holds === 0) void release(view);
}

async function release(view: NonNullable<typeof current>): Promise<void> {
  const build = await view.view.catch(() => undefined);
  await build?.serving.release();
}

async function buildView(env: Env, base: ServingBundle, entries: readonly DeltaEntry[]): Promise<ViewBuild> {
  const catalogue = extendCatalogue(base.tables, entries);
  const problems = catalogue.skipped.map((skip) => `live item ${skip.item_id} not served: ${skip.reason}`);
  const embeddings = await embeddingsOf(env, base, catalogue);
  const { usearch } = isolateRuntimes();
  return { serving: liveServingBundle(base, catalogue, embeddings, usearch), problems };
}

/** The appended rows' embeddings: from the cache for records embedded before under this bundle, the towers for the rest. */
async function embeddingsOf(env: Env, base: ServingBundle, catalogue: ExtendedCatalogue): Promise<ItemEmbeddings> {
  const { tables } = base;
  let cache = embeddingCache.get(tables.version);
  if (!cache) {
    // one bundle version at a time: the vectors of another version's towers live in another space
    embeddingCache.clear();
    embeddingCache.set(tables.version, (cache = new Map()));
  }
  const keyOf = (record: LiveItemRecord) => JSON.stringify(record);
  const missing = catalogue.appended.flatMap((record, i) => (cache.has(keyOf(record)) ? [] : [catalogue.firstLiveRow + i]));
  if (missing.length > 0) {
    const computed = await embedItems(await itemTowersOf(env, base), extendedFeatureContext(tables, catalogue), missing, tables.asOfMs);
    const { retrieval, first_stage: firstStage } = tables.manifest.models;
    missing.forEach((row, m) => {
      const record = catalogue.appended[row - catalogue.firstLiveRow] as LiveItemRecord;
      cache.set(keyOf(record), {
        retrieval: computed.retrieval.slice(m * retrieval.dim, (m + 1) * retrieval.dim),
        firstStage: computed.firstStage.slice(m * firstStage.dim, (m + 1) * firstStage.dim),
      });
    });
  }
  // only the records of this view stay cached: a re-upserted record's old features are not needed again
  const inView = new Set(catalogue.appended.map(keyOf));
  for (const key of cache.keys()) if (!inView.has(key)) cache.delete(key);
  const { retrieval, first_stage: firstStage } = tables.manifest.models;
  const out = { retrieval: new Float32Array(catalogue.appended.length * retrieval.dim), firstStage: new Float32Array(catalogue.appended.length * firstStage.dim) };
  catalogue.appended.forEach((record, i) => {
    const vectors = cache.get(keyOf(record));
    if (!vectors) throw new Error(`live item ${record.item_id} has no embedding`);
    out.retrieval.set(vectors.retrieval, i * retrieval.dim);
    out.firstStage.set(vectors.firstStage, i * firstStage.dim);
  });
  return out;
}

const towerPathsSchema = z.looseObject({
  models: z.looseObject({ retrieval: z.looseObject({ item_tower: z.string() }), first_stage: z.looseObject({ item_tower: z.string() }) }),
});

/**
 * The bundle's item towers as ONNX sessions, created on first need. Their files are read from KV then (not with the
 * bundle: an isolate without live items never pays for them); the previous version's sessions are released.
 */
async function itemTowersOf(env: Env, base: ServingBundle): Promise<ItemTowers> {
  const version = base.tables.version;
  if (towers?.version !== version) {
    const previous = towers;
    towers = { version, sessions: openTowers(env, base) };
    towers.sessions.catch(() => {
      if (towers?.version === version) towers = undefined;
    });
    if (previous) void previous.sessions.then((old) => Promise.all([old.retrieval.release(), old.firstStage.release()])).catch(() => undefined);
  }
  return towers.sessions;
}

async function openTowers(env: Env, base: ServingBundle): Promise<ItemTowers> {
  const parsed = towerPathsSchema.safeParse(base.tables.manifest);
  if (!parsed.success) throw new Error(`bundle ${base.tables.version} names no item towers (manifest models.retrieval.item_tower, models.first_stage.item_tower)`);
  const paths = [parsed.data.models.retrieval.item_tower, parsed.data.models.first_stage.item_tower];
  const wanted = new Set(paths.filter((path) => !base.tables.files.has(path)));
  const loaded = wanted.size === 0 ? new Map<string, Uint8Array>() : (await loadBundle(workersKvReader(env.BUNDLES), base.tables.version, { files: (path) => wanted.has(path) })).files;
  const bytes = (path: string) => {
    const file = base.tables.files.get(path) ?? loaded.get(path);
    if (!file) throw new Error(`bundle ${base.tables.version} was published without ${path} (publish it again with this code: serving reads the item towers now)`);
    return file;
  };
  const { onnx } = isolateRuntimes();
  const retrieval = await onnx.createSession(bytes(paths[0] as string));
  try {
    return { retrieval, firstStage: await onnx.createSession(bytes(paths[1] as string)) };
  } catch (error) {
    await retrieval.release();
    throw error;
  }
}

/** The route's upsert path: embeds records with the active bundle's towers before they are stored, so a record the towers cannot embed is refused, and this isolate's cache is warm. */
export async function embedForUpsert(env: Env, base: ServingBundle, records: readonly LiveItemRecord[]): Promise<void> {
  const entries = records.map((record) => ({ item_id: record.item_id, record, taken_down: false }));
  const catalogue = extendCatalogue(base.tables, entries);
  if (catalogue.appended.length > 0) await embeddingsOf(env, base, catalogue);
}
