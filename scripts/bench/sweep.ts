// Catalogue-size sweep: the explore-like funnel (user towers → ANN retrieval (user query + history seeds) → first-stage
// dot products over the candidates → MTML on 100 → value model) over synthetic catalogues of 10k, 100k and 1M items,
// with the memory one isolate would hold and the cold start of loading it.
//
// When one isolate's estimate exceeds its memory budget (128 MB), the sweep switches that size to the sharded design:
// the catalogue is split into S shards (each a Durable Object with its own 128 MB isolate in production), each shard
// holds an i8 HNSW index of its rows, i8 first-stage and retrieval vectors and the rows' feature tables; a request
// fans out to every shard (one round to fetch the history seeds' vectors from their owners, one round to search),
// each shard runs retrieval AND the first stage over its own candidates and returns its best 100 hydrated with their
// features, and the front Worker merges and runs the MTML. Here the shards are simulated in one process: each has its
// own USearch wasm instance (so its memory is measured on its own), messages go through structuredClone (their
// serialisation cost is measured), shard handlers are timed one by one and the request's latency takes the slowest
// shard per round (they would run in parallel) plus a measured Durable Object RPC round trip per round.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { AnnIndex } from "../../core/ann/ann-index";
import { IdIndex } from "../../core/data/ids";
import { LABELS } from "../../core/data/labels";
import { EngagementCounters } from "../../core/features/counters";
import type { FeatureContext, UserContext } from "../../core/features/context";
import { allocateMtmlInputs, writeMtmlRow } from "../../core/features/mtml-features";
import { NO_REALTIME_STATE } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../core/funnel/user";
import type { ModelSession, OnnxRuntimeAdapter } from "../../core/inference/types";
import { exploreScore, relativeExposure } from "../../core/ranking/value-model";
import { ASSET_FILES } from "../../core/serving/assets";
import { runMtml } from "../../core/serving/model-runs";
import { embedUser } from "../../core/serving/bundle-models";
import { rowDots } from "../../core/util/typed-arrays";
import { buildAnnIndexNative } from "../ann/native";
import { seededRandom } from "../ann/synthetic";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { collectGarbage, log, percentiles, round } from "./measure";
import { warmUserIds } from "./stages";
import { fitVectorModel, sampleVectors, syntheticCatalogue, type SyntheticCatalogue } from "./synthetic-catalogue";

export const ISOLATE_BUDGET_BYTES = 128 * 2 ** 20;

export interface SweepOptions {
  readonly sizes: readonly number[];
  readonly queries: number;
  readonly warmup: number;
  /** A shard (or the single isolate) must fit in this share of the 128 MB, leaving room for request garbage. */
  readonly headroom: number;
  /** Durable Object RPC round trip added per fan-out round, ms (measured over HTTP when that section ran). */
  readonly rpcMs: number;
  readonly cacheDir: string;
  readonly expansionAdd: number;
  readonly threads: number;
  /** Force the sharded design at every size (for comparison). */
  readonly forceShards?: number;
  /** Larger catalogues skip the one-isolate run (its f32 index build alone takes minutes) and go straight to shards. */
  readonly singleMaxItems: number;
  /**
   * The p50 a sharded layout must reach: while it is slower, the sweep doubles the shards (each walks a smaller
   * graph for a smaller share of the quota), up to `maxShards`. Every layout tried is reported.
   */
  readonly latencyTargetMs: number;
  readonly maxShards: number;
}

export interface MemoryBreakdown {
  /** Bytes of bundle files the isolate keeps (models, user tables, per-item tables, the index's JS copy). */
  readonly files_bytes: number;
  readonly wasm_bytes: number;
  /** JS heap objects (id maps and the decoded structures), measured. */
  readonly js_heap_bytes: number;
  readonly total_bytes: number;
}

export interface SweepEntry {
  readonly items: number;
  readonly mode: "single" | "sharded";
  readonly shards: number;
  readonly scalar: "f32" | "i8";
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly index_bytes: number;
  /** The isolate's memory (JS heap + kept files + wasm memory); for sharded: the largest of front and shards. */
  readonly heap_bytes: number;
  readonly fits_128mb: boolean;
  readonly cold_start_ms: number;
  readonly build_ms: number;
  readonly candidates: number;
  readonly memory: { readonly single_isolate_estimate: MemoryBreakdown; readonly front?: MemoryBreakdown; readonly shard?: MemoryBreakdown };
  readonly parts: Record<string, { p50_ms: number; p99_ms: number }>;
  readonly fanout?: { readonly rpc_ms_per_round: number; readonly rounds: number; readonly serialise_p50_ms: number; readonly shard_slowest_p50_ms: number; readonly shard_cpu_sum_p50_ms: number };
}

interface SweepContext {
  readonly bundle: ServingBundle;
  readonly onnx: OnnxRuntimeAdapter;
  readonly users: { readonly id: string; readonly context: UserContext }[];
  readonly model: ReturnType<typeof fitVectorModel>;
  readonly baseFilesBytes: number;
  readonly baseHeapBytes: number;
  readonly ortWasmBytes: number;
  readonly coocBytesPerItem: number;
}

const USER_QUOTA = 800;
const HISTORY_SEEDS = 20;
const PER_SEED = 16;
const KEEP = 100;

/** Bundle files whose size does not depend on the catalogue (models, users, histories, config). */
function baseFiles(bundle: ServingBundle): number {
  const { manifest } = bundle.tables;
  const perItem = new Set<string>([ASSET_FILES.catalogue, ASSET_FILES.counters, ASSET_FILES.cooccurrence, ASSET_FILES.popular, manifest.models.retrieval.item_embeddings, manifest.models.first_stage.item_embeddings, manifest.models.retrieval.index]);
  let bytes = 0;
  for (const [path, file] of bundle.tables.files) if (!perItem.has(path)) bytes += file.byteLength;
  return bytes;
}

/** JS heap bytes of an id map of `count` string ids (the catalogue's IdIndex), measured with a forced GC. */
function idIndexHeapBytes(count: number): { bytes: number; ms: number; index: IdIndex } {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  const index = IdIndex.from((function* () {
    for (let i = 0; i < count; i++) yield String(3_000_000 + i);
  })());
  const ms = performance.now() - started;
  collectGarbage();
  return { bytes: Math.max(0, process.memoryUsage().heapUsed - before), ms, index };
}

function indexPath(options: SweepOptions, version: string, items: number, scalar: string, shard: number, shards: number): string {
  return join(options.cacheDir, `${version}-n${items}-${scalar}-s${shard}of${shards}-ea${options.expansionAdd}.usearch`);
}

/** Builds (or reads from the cache) an HNSW index over `vectors` with the native addon. */
function buildIndex(options: SweepOptions, path: string, vectors: Float32Array, dims: number, scalar: "f32" | "i8"): { bytes: Uint8Array; ms: number; cached: boolean } {
  if (existsSync(path)) return { bytes: new Uint8Array(readFileSync(path)), ms: 0, cached: true };
  const started = performance.now();
  const bytes = buildAnnIndexNative(vectors, dims, { metric: scalar === "i8" ? "cos" : "ip", scalar, expansionAdd: options.expansionAdd, threads: options.threads });
  const ms = performance.now() - started;
  mkdirSync(options.cacheDir, { recursive: true });
  writeFileSync(path, bytes);
  return { bytes, ms, cached: false };
}

async function createSessions(context: SweepContext): Promise<{ sessions: ModelSession[]; ms: number }> {
  const { tables } = context.bundle;
  const models = tables.manifest.models;
  const started = performance.now();
  // every MTML batch here is one user's, so the served one-user variant runs when the bundle has it
  const sessions = [await context.onnx.createSession(tables.file(models.mtml.one_user_file ?? models.mtml.file)), await context.onnx.createSession(tables.file(models.retrieval.user_tower)), await context.onnx.createSession(tables.file(models.first_stage.user_tower))];
  return { sessions, ms: performance.now() - started };
}

function topByScore(items: ArrayLike<number>, scores: Float64Array, keep: number): { items: Int32Array; scores: Float64Array } {
  const order = Array.from({ length: items.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || (items[a] as number) - (items[b] as number)).slice(0, keep);
  return { items: Int32Array.from(order, (i) => items[i] as number), scores: Float64Array.from(order, (i) => scores[i] as number) };
}

function seedsFor(query: number, items: number): Int32Array {
  const random = seededRandom(1000 + query);
  return Int32Array.from({ length: HISTORY_SEEDS }, () => Math.floor(random() * items));
}

function mtmlAndValue(context: SweepContext, features: FeatureContext, user: UserContext, rows: ArrayLike<number>, mtml: ModelSession): Promise<Float64Array> {
  const { tables } = context.bundle;
  const inputs = allocateMtmlInputs(tables.spec, rows.length);
  for (let r = 0; r < rows.length; r++) writeMtmlRow(features, user, rows[r] as number, tables.config.defaultSurface, tables.asOfMs, inputs, r);
  const counters = features.itemCounters;
  let total = 0;
  for (let item = 0; item < counters.size; item++) total += counters.decayedImpressions[item] as number;
  const mean = total / Math.max(1, counters.size);
  // the sweep times the MTML and the value model's arithmetic; its synthetic candidates carry no source or affinity
  return runMtml(mtml, inputs).then((probabilities) => Float64Array.from({ length: rows.length }, (_, r) => exploreScore(tables.config.valueModel, probabilities, r, { relativeExposure: relativeExposure(counters.decayedImpressions[rows[r] as number] as number, mean), affinity: 0, sourceScore: 0 })));
}

// --- one isolate ------------------------------------------------------------------------------------------------

async function runSingle(context: SweepContext, options: SweepOptions, items: number, catalogue: SyntheticCatalogue, retrieval: Float32Array, firstStage: Float32Array): Promise<SweepEntry> {
  const { tables } = context.bundle;
  const dim = tables.manifest.models.retrieval.dim;
  const fsDim = tables.manifest.models.first_stage.dim;
  const built = buildIndex(options, indexPath(options, tables.version, items, "f32", 0, 1), retrieval, dim, "f32");

  // cold start: a fresh USearch instance loading the index, the catalogue's id map, three ONNX sessions
  const runtime = createNodeUsearchRuntime();
  const loadStarted = performance.now();
  const index = AnnIndex.load(runtime, built.bytes, { dimensions: dim });
  const indexLoadMs = performance.now() - loadStarted;
  const ids = idIndexHeapBytes(items);
  const { sessions, ms: sessionsMs } = await createSessions(context);
  const [mtml, retrievalTower, firstStageTower] = sessions as [ModelSession, ModelSession, ModelSession];
  const coldStartMs = indexLoadMs + ids.ms + sessionsMs;

  const memory = singleEstimate(context, items, catalogue.tableBytes, built.bytes.byteLength, runtime.stats().memoryBytes, ids.bytes, retrieval.byteLength + firstStage.byteLength);
  const totals: number[] = [];
  const parts = new Map<string, number[]>();
  const part = (name: string, ms: number) => (parts.get(name) ?? parts.set(name, []).get(name))?.push(ms);
  let candidates = 0;
  for (let q = 0; q < options.warmup + options.queries; q++) {
    const user = context.users[q % context.users.length] as SweepContext["users"][number];
    const record = q >= options.warmup;
    const t0 = performance.now();
    const userEmbedding = await embedUser(retrievalTower, tables, user.context);
    const firstStageEmbedding = await embedUser(firstStageTower, tables, user.context);
    const t1 = performance.now();
    const found = new Set<number>(index.search(userEmbedding, Math.min(USER_QUOTA, items)).keys);
    for (const seed of seedsFor(q, items)) for (const key of index.search(retrieval.subarray(seed * dim, (seed + 1) * dim), PER_SEED).keys) if (key !== seed) found.add(key);
    const t2 = performance.now();
    const rows = Int32Array.from(found);
    const scores = rowDots(firstStage, fsDim, firstStageEmbedding, rows);
    const kept = topByScore(rows, scores, KEEP);
    const t3 = performance.now();
    await mtmlAndValue(context, catalogue.context, user.context, kept.items, mtml);
    const t4 = performance.now();
    if (!record) continue;
    candidates += rows.length;
    totals.push(t4 - t0);
    part("user_towers", t1 - t0);
    part("ann", t2 - t1);
    part("first_stage", t3 - t2);
    part("mtml_and_value", t4 - t3);
  }
  for (const session of sessions) await session.release();
  index.dispose();
  const total = percentiles(totals);
  return {
    items,
    mode: "single",
    shards: 1,
    scalar: "f32",
    p50_ms: total.p50_ms,
    p99_ms: total.p99_ms,
    index_bytes: built.bytes.byteLength,
    heap_bytes: memory.total_bytes,
    fits_128mb: memory.total_bytes <= ISOLATE_BUDGET_BYTES * options.headroom,
    cold_start_ms: coldStartMs,
    build_ms: built.ms,
    candidates: candidates / options.queries,
    memory: { single_isolate_estimate: memory },
    parts: Object.fromEntries([...parts].map(([name, list]) => [name, pick(percentiles(list))])),
  };
}

function pick(p: { p50_ms: number; p99_ms: number }): { p50_ms: number; p99_ms: number } {
  return { p50_ms: p.p50_ms, p99_ms: p.p99_ms };
}

/**
 * One isolate holding the catalogue the way the Worker holds a bundle today: every bundle file stays in the loaded
 * bundle's map (so the index bytes exist in JS AND in wasm memory), the f32 embedding tables are views into their
 * files, plus the id map and the decoded tables.
 */
function singleEstimate(context: SweepContext, items: number, tableBytes: number, indexBytes: number, usearchWasm: number, idHeap: number, embeddingBytes: number): MemoryBreakdown {
  const files = context.baseFilesBytes + tableBytes + embeddingBytes + indexBytes + Math.round(context.coocBytesPerItem * items);
  const wasm = usearchWasm + context.ortWasmBytes;
  const heap = context.baseHeapBytes + idHeap;
  return { files_bytes: files, wasm_bytes: wasm, js_heap_bytes: heap, total_bytes: files + wasm + heap };
}

// --- shards -----------------------------------------------------------------------------------------------------

function quantizeRows(vectors: Float32Array, dims: number, from: number, to: number): { values: Int8Array; scales: Float32Array } {
  const rows = to - from;
  const values = new Int8Array(rows * dims);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(vectors[(from + r) * dims + d] as number));
    const scale = max > 0 ? max / 127 : 1;
    scales[r] = scale;
    for (let d = 0; d < dims; d++) values[r * dims + d] = Math.round((vectors[(from + r) * dims + d] as number) / scale);
  }
  return { values, scales };
}

/** Per-candidate features a shard returns with its best items, so the front Worker needs no per-item tables. */
const HYDRATED_WIDTH = 9 + 2 * LABELS.length + 3 + 3; // see hydrate()

class Shard {
  readonly index: AnnIndex;
  readonly runtime = createNodeUsearchRuntime();
  readonly retrieval: { values: Int8Array; scales: Float32Array };
  readonly firstStage: { values: Int8Array; scales: Float32Array };
  readonly loadMs: number;
  readonly idHeapBytes: number;

  constructor(
    readonly from: number,
    readonly to: number,
    indexBytes: Uint8Array,
    retrieval: Float32Array,
    firstStage: Float32Array,
    readonly dims: number,
    readonly fsDims: number,
    readonly catalogue: SyntheticCatalogue,
  ) {
    const started = performance.now();
    // the KV value's bytes are copied into wasm memory and dropped from JS: only the wasm copy stays
    this.index = AnnIndex.load(this.runtime, indexBytes, { dimensions: dims, retainForRecovery: false });
    const ids = idIndexHeapBytes(to - from);
    this.loadMs = performance.now() - started;
    this.idHeapBytes = ids.bytes;
    this.retrieval = quantizeRows(retrieval, dims, from, to);
    this.firstStage = quantizeRows(firstStage, fsDims, from, to);
  }

  /** JS bytes the shard keeps: its i8 vectors and its rows' feature tables. */
  jsBytes(): number {
    const share = (this.to - this.from) / this.catalogue.items;
    return this.retrieval.values.byteLength + this.retrieval.scales.byteLength + this.firstStage.values.byteLength + this.firstStage.scales.byteLength + Math.round(this.catalogue.tableBytes * share);
  }

  /** Round 1: the f32 (dequantised) vectors of the seeds this shard owns. */
  seedVectors(message: { rows: Int32Array }): { rows: Int32Array; vectors: Float32Array } {
    const rows = message.rows.filter((row) => row >= this.from && row < this.to);
    const vectors = new Float32Array(rows.length * this.dims);
    rows.forEach((row, i) => {
      const local = row - this.from;
      const scale = this.retrieval.scales[local] as number;
      for (let d = 0; d < this.dims; d++) vectors[i * this.dims + d] = (this.retrieval.values[local * this.dims + d] as number) * scale;
    });
    return { rows, vectors };
  }

  /** Round 2: retrieval over this shard's rows, the first stage on its candidates, its best `keep` hydrated. */
  search(message: { user: Float32Array; firstStage: Float32Array; seeds: Float32Array; seedRows: Int32Array; kUser: number; kSeed: number; keep: number }): { items: Int32Array; scores: Float64Array; features: Float64Array } {
    const found = new Set<number>();
    for (const key of this.index.search(message.user, Math.min(message.kUser, this.to - this.from)).keys) found.add(key);
    for (let s = 0; s < message.seedRows.length; s++) {
      const seed = message.seedRows[s] as number;
      for (const key of this.index.search(message.seeds.subarray(s * this.dims, (s + 1) * this.dims), message.kSeed).keys) if (key + this.from !== seed) found.add(key);
    }
    const local = Int32Array.from(found);
    const scores = new Float64Array(local.length);
    for (let i = 0; i < local.length; i++) {
      const base = (local[i] as number) * this.fsDims;
      let sum = 0;
      for (let d = 0; d < this.fsDims; d++) sum += (message.firstStage[d] as number) * (this.firstStage.values[base + d] as number);
      scores[i] = sum * (this.firstStage.scales[local[i] as number] as number);
    }
    const best = topByScore(local, scores, message.keep);
    const items = Int32Array.from(best.items, (row) => row + this.from);
    return { items, scores: best.scores, features: this.hydrate(items) };
  }

  private hydrate(items: Int32Array): Float64Array {
    const { context } = this.catalogue;
    const out = new Float64Array(items.length * HYDRATED_WIDTH);
    items.forEach((item, r) => {
      let k = r * HYDRATED_WIDTH;
      const author = context.catalogue.author[item] as number;
      out[k++] = context.catalogue.createdAt[item] as number;
      out[k++] = context.catalogue.durationMs[item] as number;
      out[k++] = context.catalogue.type[item] as number;
      out[k++] = context.itemEmbeddingRow[item] as number;
      out[k++] = context.authorEmbeddingRow[author] as number;
      out[k++] = context.itemCounters.impressions[item] as number;
      out[k++] = context.itemCounters.decayedImpressions[item] as number;
      out[k++] = context.itemCounters.decayedClicks[item] as number;
      out[k++] = context.authorCounters.impressions[author] as number;
      for (let l = 0; l < LABELS.length; l++) out[k++] = context.itemCounters.positive(item, l);
      for (let l = 0; l < LABELS.length; l++) out[k++] = context.authorCounters.positive(author, l);
      const tagStart = context.catalogue.tagOffsets[item] as number;
      const tagEnd = context.catalogue.tagOffsets[item + 1] as number;
      for (let t = 0; t < 3; t++) out[k++] = tagStart + t < tagEnd ? (context.catalogue.tagIds[tagStart + t] as number) : -1;
      out[k++] = author;
      out[k++] = 0;
      out[k++] = 0;
    });
    return out;
  }
}

/** The front Worker's FeatureContext over the merged candidates (row r = candidate r, author r = its author). */
function hydratedContext(context: SweepContext, features: Float64Array, count: number): FeatureContext {
  const { tables } = context.bundle;
  const labels = LABELS.length;
  const author = Int32Array.from({ length: count }, (_, r) => r);
  const createdAt = new Float64Array(count);
  const durationMs = new Float64Array(count);
  const type = new Int32Array(count);
  const itemEmbeddingRow = new Int32Array(count);
  const authorEmbeddingRow = new Int32Array(count);
  const tagOffsets = new Int32Array(count + 1);
  const tags: number[] = [];
  const item = { impressions: new Float64Array(count), positives: new Float64Array(count * labels), decayedImpressions: new Float64Array(count), decayedClicks: new Float64Array(count) };
  const byAuthor = { impressions: new Float64Array(count), positives: new Float64Array(count * labels), decayedImpressions: new Float64Array(count), decayedClicks: new Float64Array(count) };
  for (let r = 0; r < count; r++) {
    let k = r * HYDRATED_WIDTH;
    createdAt[r] = features[k++] as number;
    durationMs[r] = features[k++] as number;
    type[r] = features[k++] as number;
    itemEmbeddingRow[r] = features[k++] as number;
    authorEmbeddingRow[r] = features[k++] as number;
    item.impressions[r] = features[k++] as number;
    item.decayedImpressions[r] = features[k++] as number;
    item.decayedClicks[r] = features[k++] as number;
    byAuthor.impressions[r] = features[k++] as number;
    for (let l = 0; l < labels; l++) item.positives[r * labels + l] = features[k++] as number;
    for (let l = 0; l < labels; l++) byAuthor.positives[r * labels + l] = features[k++] as number;
    for (let t = 0; t < 3; t++) {
      const tag = features[k++] as number;
      if (tag >= 0) tags.push(tag);
    }
    tagOffsets[r + 1] = tags.length;
  }
  const counters = (parts: typeof item) => EngagementCounters.restore({ size: count, halfLifeMs: tables.itemCounters.halfLifeMs, asOfMs: tables.itemCounters.asOfMs, ...parts });
  return { spec: tables.spec, catalogue: { author, tagOffsets, tagIds: Int32Array.from(tags), createdAt, durationMs, type }, itemEmbeddingRow, authorEmbeddingRow, itemCounters: counters(item), authorCounters: counters(byAuthor) };
}

async function runSharded(context: SweepContext, options: SweepOptions, items: number, shards: number, scalar: "f32" | "i8", catalogue: SyntheticCatalogue, retrieval: Float32Array, firstStage: Float32Array, single: MemoryBreakdown): Promise<SweepEntry> {
  const { tables } = context.bundle;
  const dim = tables.manifest.models.retrieval.dim;
  const fsDim = tables.manifest.models.first_stage.dim;
  const shardList: Shard[] = [];
  let indexBytes = 0;
  let buildMs = 0;
  for (let s = 0; s < shards; s++) {
    const from = Math.floor((s * items) / shards);
    const to = Math.floor(((s + 1) * items) / shards);
    const built = buildIndex(options, indexPath(options, tables.version, items, scalar, s, shards), retrieval.subarray(from * dim, to * dim), dim, scalar);
    log(`sweep: ${items} items, shard ${s + 1}/${shards}: ${scalar} index ${(built.bytes.byteLength / 2 ** 20).toFixed(1)} MiB ${built.cached ? "(cached)" : `built in ${(built.ms / 1000).toFixed(1)} s`}`);
    indexBytes += built.bytes.byteLength;
    buildMs += built.ms;
    shardList.push(new Shard(from, to, built.bytes, retrieval, firstStage, dim, fsDim, catalogue));
  }
  const { sessions, ms: sessionsMs } = await createSessions(context);
  const [mtml, retrievalTower, firstStageTower] = sessions as [ModelSession, ModelSession, ModelSession];
  // shards load in parallel with the front Worker's sessions: the slowest decides
  const coldStartMs = Math.max(sessionsMs, ...shardList.map((shard) => shard.loadMs));

  const kUser = Math.min(USER_QUOTA, Math.ceil((2 * USER_QUOTA) / shards));
  const totals: number[] = [];
  const serialise: number[] = [];
  const slowest: number[] = [];
  const cpuSum: number[] = [];
  const parts = new Map<string, number[]>();
  const part = (name: string, ms: number) => (parts.get(name) ?? parts.set(name, []).get(name))?.push(ms);
  let candidates = 0;
  for (let q = 0; q < options.warmup + options.queries; q++) {
    const user = context.users[q % context.users.length] as SweepContext["users"][number];
    const record = q >= options.warmup;
    const t0 = performance.now();
    const userEmbedding = await embedUser(retrievalTower, tables, user.context);
    const firstStageEmbedding = await embedUser(firstStageTower, tables, user.context);
    const front1 = performance.now() - t0;
    const seedRows = seedsFor(q, items);

    // round 1: the seeds' vectors from the shards that own them
    let cloneMs = 0;
    let round1Slowest = 0;
    let shardCpu = 0;
    const seedVectors = new Float32Array(seedRows.length * dim);
    const seedOrder = new Map<number, number>();
    seedRows.forEach((row, i) => seedOrder.set(row, seedOrder.get(row) ?? i));
    for (const shard of shardList) {
      if (!seedRows.some((row) => row >= shard.from && row < shard.to)) continue;
      const started = performance.now();
      const request = structuredClone({ rows: seedRows });
      const c1 = performance.now();
      const answer = shard.seedVectors(request);
      const c2 = performance.now();
      const reply = structuredClone(answer);
      const c3 = performance.now();
      reply.rows.forEach((row, i) => seedVectors.set(reply.vectors.subarray(i * dim, (i + 1) * dim), (seedOrder.get(row) as number) * dim));
      cloneMs += c1 - started + (c3 - c2);
      shardCpu += c3 - started;
      round1Slowest = Math.max(round1Slowest, performance.now() - started);
    }

    // round 2: every shard searches and runs the first stage on its own candidates
    const message = { user: userEmbedding, firstStage: firstStageEmbedding, seeds: seedVectors, seedRows, kUser, kSeed: PER_SEED, keep: KEEP };
    let round2Slowest = 0;
    const replies: { items: Int32Array; scores: Float64Array; features: Float64Array }[] = [];
    for (const shard of shardList) {
      const started = performance.now();
      const request = structuredClone(message);
      const c1 = performance.now();
      const answer = shard.search(request);
      const c2 = performance.now();
      replies.push(structuredClone(answer));
      const c3 = performance.now();
      cloneMs += c1 - started + (c3 - c2);
      shardCpu += c3 - started;
      round2Slowest = Math.max(round2Slowest, c3 - started);
    }

    // front: merge, hydrate, MTML
    const t1 = performance.now();
    const merged = replies.flatMap((reply) => Array.from(reply.items, (item, i) => ({ item, score: reply.scores[i] as number, reply, i })));
    merged.sort((a, b) => b.score - a.score || a.item - b.item);
    const kept = merged.slice(0, KEEP);
    const features = new Float64Array(kept.length * HYDRATED_WIDTH);
    kept.forEach((entry, r) => features.set(entry.reply.features.subarray(entry.i * HYDRATED_WIDTH, (entry.i + 1) * HYDRATED_WIDTH), r * HYDRATED_WIDTH));
    const hydrated = hydratedContext(context, features, kept.length);
    await mtmlAndValue(context, hydrated, user.context, Int32Array.from({ length: kept.length }, (_, r) => r), mtml);
    const front2 = performance.now() - t1;
    if (!record) continue;
    candidates += merged.length;
    const latency = front1 + options.rpcMs + round1Slowest + options.rpcMs + round2Slowest + front2;
    totals.push(latency);
    serialise.push(cloneMs);
    slowest.push(round1Slowest + round2Slowest);
    cpuSum.push(shardCpu);
    part("user_towers", front1);
    part("shard_round1_slowest", round1Slowest);
    part("shard_round2_slowest", round2Slowest);
    part("merge_mtml_and_value", front2);
  }
  for (const session of sessions) await session.release();

  // memory: the largest shard, and the front Worker (no per-item tables; models, users, histories, ONNX runtime)
  const shardMemories = shardList.map((shard) => {
    const files = shard.jsBytes();
    const wasm = shard.runtime.stats().memoryBytes;
    return { files_bytes: files, wasm_bytes: wasm, js_heap_bytes: shard.idHeapBytes, total_bytes: files + wasm + shard.idHeapBytes };
  });
  const shardMemory = shardMemories.reduce((a, b) => (b.total_bytes > a.total_bytes ? b : a));
  const front: MemoryBreakdown = { files_bytes: context.baseFilesBytes, wasm_bytes: context.ortWasmBytes, js_heap_bytes: context.baseHeapBytes, total_bytes: context.baseFilesBytes + context.ortWasmBytes + context.baseHeapBytes };
  for (const shard of shardList) shard.index.dispose();
  const total = percentiles(totals);
  const largest = Math.max(shardMemory.total_bytes, front.total_bytes);
  return {
    items,
    mode: "sharded",
    shards,
    scalar,
    p50_ms: total.p50_ms,
    p99_ms: total.p99_ms,
    index_bytes: indexBytes,
    heap_bytes: largest,
    fits_128mb: largest <= ISOLATE_BUDGET_BYTES * options.headroom,
    cold_start_ms: coldStartMs,
    build_ms: buildMs,
    candidates: candidates / options.queries,
    memory: { single_isolate_estimate: single, front, shard: shardMemory },
    parts: Object.fromEntries([...parts].map(([name, list]) => [name, pick(percentiles(list))])),
    fanout: {
      rpc_ms_per_round: options.rpcMs,
      rounds: 2,
      serialise_p50_ms: percentiles(serialise).p50_ms,
      shard_slowest_p50_ms: percentiles(slowest).p50_ms,
      shard_cpu_sum_p50_ms: percentiles(cpuSum).p50_ms,
    },
  };
}

/** A single-isolate estimate for `items`, scaled per item from a measured size (the fixed part stays fixed). */
function extrapolate(context: SweepContext, measured: SweepEntry, items: number): MemoryBreakdown {
  const m = measured.memory.single_isolate_estimate;
  const fixedFiles = context.baseFilesBytes;
  const fixedWasm = context.ortWasmBytes;
  const fixedHeap = context.baseHeapBytes;
  const scale = items / measured.items;
  const files = fixedFiles + Math.round((m.files_bytes - fixedFiles) * scale);
  const wasm = fixedWasm + Math.round((m.wasm_bytes - fixedWasm) * scale);
  const heap = fixedHeap + Math.round((m.js_heap_bytes - fixedHeap) * scale);
  return { files_bytes: files, wasm_bytes: wasm, js_heap_bytes: heap, total_bytes: files + wasm + heap };
}

/**
 * Shards for the lean layout (i8 index, i8 vectors, index bytes dropped from JS after load): bytes per item from the
 * measured f32 index (its graph part stays, its vectors shrink 4×), the vectors and the feature tables.
 */
function shardCount(measured: SweepEntry | undefined, items: number, tableBytesPerItem: number, dim: number, fsDim: number, budget: number): number {
  const f32IndexPerItem = measured ? measured.index_bytes / measured.items : 4 * dim + 160;
  const perItem = f32IndexPerItem - 3 * dim + (dim + 4) + (fsDim + 4) + tableBytesPerItem + 100;
  const shardBase = 4 * 2 ** 20;
  const needed = Math.ceil((items * perItem) / Math.max(1, budget - shardBase));
  return 2 ** Math.ceil(Math.log2(Math.max(1, needed)));
}

/**
 * `base` is what the default bundle measured in this process: its JS heap and onnxruntime-web's wasm memory
 * (both independent of the catalogue size).
 */
export async function benchSweep(bundle: ServingBundle, onnx: OnnxRuntimeAdapter, base: { readonly heapBytes: number; readonly ortWasmBytes: number }, options: SweepOptions): Promise<SweepEntry[]> {
  const { tables } = bundle;
  const dim = tables.manifest.models.retrieval.dim;
  const fsDim = tables.manifest.models.first_stage.dim;
  const realItems = tables.items.ids.size;
  const joint = new Float32Array(realItems * (dim + fsDim));
  for (let i = 0; i < realItems; i++) {
    joint.set(tables.retrievalItemEmbeddings.subarray(i * dim, (i + 1) * dim), i * (dim + fsDim));
    joint.set(tables.firstStageItemEmbeddings.subarray(i * fsDim, (i + 1) * fsDim), i * (dim + fsDim) + dim);
  }
  const model = fitVectorModel(joint, dim + fsDim);
  log(`sweep: item vectors ~ Gaussian fitted to the bundle's ${realItems} items (rank ${model.rank}, ${(model.explained * 100).toFixed(0)}% of the variance, noise sd ${model.noise.toFixed(4)})`);
  const users = warmUserIds(bundle, tables.config, 64).map((id) => ({ id, context: resolveFeedUser(tables, id, NO_REALTIME_STATE, tables.config).context }));
  const context: SweepContext = {
    bundle,
    onnx,
    users,
    model,
    baseFilesBytes: baseFiles(bundle),
    baseHeapBytes: base.heapBytes,
    ortWasmBytes: base.ortWasmBytes,
    coocBytesPerItem: tables.file(ASSET_FILES.cooccurrence).byteLength / realItems,
  };
  const entries: SweepEntry[] = [];
  const budget = ISOLATE_BUDGET_BYTES * options.headroom;
  let lastSingle: SweepEntry | undefined;
  for (const items of options.sizes) {
    const started = performance.now();
    const [retrieval, firstStage] = sampleVectors(model, items, [dim, fsDim], 20_000 + items) as [Float32Array, Float32Array];
    const catalogue = syntheticCatalogue(tables, items, 30_000 + items);
    log(`sweep: ${items} synthetic items generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let single: SweepEntry | undefined;
    if (options.forceShards === undefined && items <= options.singleMaxItems) {
      single = await runSingle(context, options, items, catalogue, retrieval, firstStage);
      entries.push(single);
      lastSingle = single;
      log(`sweep: ${items} items in one isolate: p50 ${round(single.p50_ms)} ms, p99 ${round(single.p99_ms)} ms, ${(single.heap_bytes / 2 ** 20).toFixed(1)} MiB${single.fits_128mb ? "" : " (over the budget)"}`);
      if (single.fits_128mb) continue;
    }
    const estimate = single?.memory.single_isolate_estimate ?? (lastSingle ? extrapolate(context, lastSingle, items) : undefined);
    if (!estimate) throw new Error(`sweep: ${items} items exceed --single-max-items and no smaller size was measured to extrapolate from`);
    let shards = options.forceShards ?? shardCount(lastSingle, items, catalogue.tableBytes / items, dim, fsDim, budget);
    log(`sweep: ${items} items: one isolate would need ${(estimate.total_bytes / 2 ** 20).toFixed(0)} MiB; ${shards} i8 shard${shards === 1 ? "" : "s"} behind the front Worker`);
    let scalar: "f32" | "i8" = "i8";
    let entry = await runSharded(context, options, items, shards, scalar, catalogue, retrieval, firstStage, estimate);
    if (!entry.fits_128mb && options.forceShards === undefined) {
      shards *= 2;
      log(`sweep: a shard still exceeds the budget; trying ${shards} shards`);
      entry = await runSharded(context, options, items, shards, scalar, catalogue, retrieval, firstStage, estimate);
    }
    entries.push(entry);
    log(`sweep: ${items} items sharded ×${entry.shards}: p50 ${round(entry.p50_ms)} ms, p99 ${round(entry.p99_ms)} ms, largest isolate ${(entry.heap_bytes / 2 ** 20).toFixed(1)} MiB`);
    while (options.forceShards === undefined && entry.p50_ms > options.latencyTargetMs && shards * 2 <= options.maxShards) {
      shards *= 2;
      // i8 buys memory, not speed (USearch has no i8 SIMD kernel in this wasm build): once a shard holds few enough
      // rows that its f32 index fits as well, shards search in f32.
      const shardBytes = entry.memory.shard?.total_bytes ?? Infinity;
      const f32Extra = lastSingle ? ((lastSingle.index_bytes / lastSingle.items - entry.index_bytes / items) * items) / shards : Infinity;
      scalar = scalar === "f32" || shardBytes + f32Extra <= budget ? "f32" : "i8";
      log(`sweep: ${items} items: p50 over ${options.latencyTargetMs} ms; trying ${shards} shards`);
      entry = await runSharded(context, options, items, shards, scalar, catalogue, retrieval, firstStage, estimate);
      entries.push(entry);
      log(`sweep: ${items} items sharded ×${entry.shards}: p50 ${round(entry.p50_ms)} ms, p99 ${round(entry.p99_ms)} ms, largest isolate ${(entry.heap_bytes / 2 ** 20).toFixed(1)} MiB`);
    }
  }
  return entries;
}
