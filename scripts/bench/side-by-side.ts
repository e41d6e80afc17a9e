// Runtimes side by side in one process, interleaved: onnxruntime-web (wasm SIMD, one thread: the Worker's runtime)
// vs onnxruntime-node on the same MTML batch of 100 and the same user-tower batch of 1; the served (quantized) MTML
// vs its fp32 export; USearch wasm vs the native addon for top-100 searches on the bundle's own index.
import { allocateMtmlInputs, writeMtmlRow, type MtmlInputs } from "../../core/features/mtml-features";
import { allocateUserTowerInputs, writeUserTowerRow } from "../../core/features/tower-features";
import { EXPLORE_STAGES, runFeed } from "../../core/funnel/explore";
import { NO_REALTIME_STATE } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../core/funnel/user";
import type { ModelSession } from "../../core/inference/types";
import { runMtml, runTower, userTowerFeeds } from "../../core/serving/model-runs";
import { embedUser } from "../../core/serving/bundle-models";
import { loadNativeIndex } from "../ann/native";
import { createOnnxruntimeNodeAdapter } from "../onnx/ort-node";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
import type { FeatureSpec } from "../../core/features/spec";
import { takeMtmlRows } from "../../models/mtml/rows";
import { fitLine } from "../lib/fit-line";
import { interleaved, percentiles, type Percentiles } from "./measure";
import { warmUserIds } from "./stages";
import type { Stage } from "../../core/funnel/feed-state";

export interface SideBySideOptions {
  readonly rounds: number;
  readonly block: number;
  readonly warmup: number;
  /** Users whose real MTML batches and tower inputs are cycled through. */
  readonly users: number;
}

export interface SideBySideResult {
  readonly timings: Record<string, Percentiles>;
  readonly ratios: {
    readonly ort_web_over_node_mtml: number;
    readonly ort_web_over_node_user_tower: number;
    readonly usearch_wasm_over_native: number;
    readonly int8_over_fp32_mtml: number;
    readonly int8_over_fp32_mtml_node: number;
    readonly ort_web_over_node_mtml_fp32: number;
    /** With a bundle that has the one-user MTML variant (the served path for feeds). */
    readonly ort_web_over_node_mtml_one_user?: number;
    readonly one_user_over_per_row_mtml?: number;
    readonly usearch_scan_over_walk_top1000: number;
  };
  /** Share of the exact top-1,000 (the scan's) that the graph walk finds, over the users' embeddings. */
  readonly usearch_walk_recall_top1000: number;
  /** Share of top-100 searches where wasm and native returned the same keys in the same order. */
  readonly usearch_identical_share: number;
  readonly mtml_variant: string;
  /** Where ort-web's extra time on the one-user MTML goes (with a bundle that has the variant). */
  readonly one_user_split?: RuntimeSplit;
}

/** One runtime's time per call = per_call_ms + per_row_ms × rows, fitted through its medians (`p50_ms`, one per row count). */
export interface RuntimeLine {
  readonly per_call_ms: number;
  readonly per_row_ms: number;
  readonly p50_ms: readonly number[];
}

/** Both runtimes' lines through their medians at ONE_USER_SPLIT_ROWS. */
export interface RuntimeSplit {
  readonly rows: readonly number[];
  readonly web: RuntimeLine;
  readonly node: RuntimeLine;
  /** ort-web's per-row cost over ort-node's: the kernels (wasm SIMD, one thread, against native MLAS). */
  readonly per_row_ratio: number;
  /** ort-web's per-call cost over ort-node's: crossing into the runtime, copying feeds and fetches, the graph's fixed work. */
  readonly per_call_ratio: number;
}

/** Batch sizes the one-user MTML is timed at to split each runtime's time into a per-call and a per-row part (a feed's batch is the first stage's keep). */
const ONE_USER_SPLIT_ROWS = [1, 25, 100, 400] as const;

/**
 * The one-user MTML on both runtimes at several batch sizes, interleaved, and the line through each runtime's medians.
 * Each size cycles through a user's own feed batch, so every row still describes that one user.
 */
async function splitOneUserTime(spec: FeatureSpec, web: ModelSession, node: ModelSession, batches: readonly MtmlInputs[], options: { rounds: number; block: number; warmup: number }): Promise<RuntimeSplit> {
  const byRows = ONE_USER_SPLIT_ROWS.map((rows) => batches.map((batch) => takeMtmlRows(spec, batch, Int32Array.from({ length: rows }, (_, r) => r % batch.size))));
  const contenders = ONE_USER_SPLIT_ROWS.flatMap((rows, k) => [
    { name: `web_${rows}`, run: (i: number) => runMtml(web, (byRows[k] as MtmlInputs[])[i % batches.length] as MtmlInputs) },
    { name: `node_${rows}`, run: (i: number) => runMtml(node, (byRows[k] as MtmlInputs[])[i % batches.length] as MtmlInputs) },
  ]);
  const samples = await interleaved(contenders, options);
  const side = (runtime: "web" | "node") => {
    const p50 = ONE_USER_SPLIT_ROWS.map((rows) => percentiles(samples.get(`${runtime}_${rows}`) ?? []).p50_ms);
    const line = fitLine(ONE_USER_SPLIT_ROWS.map((rows, k) => [rows, p50[k] as number] as const));
    return { per_call_ms: line.intercept, per_row_ms: line.slope, p50_ms: p50 };
  };
  const webSide = side("web");
  const nodeSide = side("node");
  return { rows: ONE_USER_SPLIT_ROWS, web: webSide, node: nodeSide, per_row_ratio: webSide.per_row_ms / nodeSide.per_row_ms, per_call_ratio: webSide.per_call_ms / nodeSide.per_call_ms };
}

interface RealInputs {
  readonly mtml: MtmlInputs[];
  readonly towers: ReturnType<typeof userTowerFeeds>[];
  readonly userEmbeddings: Float32Array[];
}

/** The MTML batches (the 100 items each user's first stage kept) and user-tower feeds of real users. */
async function realInputs(bundle: ServingBundle, users: number): Promise<RealInputs> {
  const { tables, models } = bundle;
  const config = tables.config;
  const mtml: MtmlInputs[] = [];
  const towers: ReturnType<typeof userTowerFeeds>[] = [];
  const userEmbeddings: Float32Array[] = [];
  for (const id of warmUserIds(bundle, config, users)) {
    const user = resolveFeedUser(tables, id, NO_REALTIME_STATE, config);
    let intoMtml: number[] = [];
    const stages: Stage[] = EXPLORE_STAGES.map((stage) => ({
      name: stage.name,
      run: async (state, candidates) => {
        const out = await stage.run(state, candidates);
        if (stage.name === "first_stage") intoMtml = out.map((candidate) => candidate.item);
        return out;
      },
    }));
    const request = { user, count: 30, surface: config.defaultSurface, nowMs: tables.asOfMs, exclude: new Set<number>(), config };
    await runFeed(bundle, request, stages);
    const batch = allocateMtmlInputs(tables.spec, intoMtml.length);
    intoMtml.forEach((item, r) => writeMtmlRow(tables.featureContext(), user.context, item, request.surface, request.nowMs, batch, r));
    mtml.push(batch);
    const tower = allocateUserTowerInputs(tables.spec, 1);
    writeUserTowerRow(tables.featureContext(), user.context, tower, 0);
    towers.push(userTowerFeeds(tower));
    if (models.retrievalUserTower) userEmbeddings.push(await embedUser(models.retrievalUserTower, tables, user.context));
  }
  return { mtml, towers, userEmbeddings };
}

export async function benchSideBySide(bundle: ServingBundle, options: SideBySideOptions): Promise<SideBySideResult> {
  const { tables, models } = bundle;
  const manifest = tables.manifest.models;
  if (!models.retrievalIndex) throw new Error("side by side: the bundle's ANN index did not load");
  const inputs = await realInputs(bundle, options.users);
  const web = createNodeOrtWebAdapter();
  const node = createOnnxruntimeNodeAdapter();
  const quantized = tables.file(manifest.mtml.file);
  const fp32 = tables.file(manifest.mtml.fp32_file);
  const towerBytes = tables.file(manifest.retrieval.user_tower);
  const sessions: Record<string, ModelSession> = {
    web_mtml_int8: await web.createSession(quantized),
    web_mtml_fp32: await web.createSession(fp32),
    node_mtml_int8: await node.createSession(quantized),
    node_mtml_fp32: await node.createSession(fp32),
    ...(manifest.mtml.one_user_file === undefined
      ? {}
      : { web_mtml_one_user: await web.createSession(tables.file(manifest.mtml.one_user_file)), node_mtml_one_user: await node.createSession(tables.file(manifest.mtml.one_user_file)) }),
    web_user_tower: await web.createSession(towerBytes),
    node_user_tower: await node.createSession(towerBytes),
  };
  const mtmlBatch = (i: number) => inputs.mtml[i % inputs.mtml.length] as MtmlInputs;
  const towerFeeds = (i: number) => inputs.towers[i % inputs.towers.length] as ReturnType<typeof userTowerFeeds>;
  const runOptions = { rounds: options.rounds, block: options.block, warmup: options.warmup };

  const mtmlSamples = await interleaved(
    ["web_mtml_int8", "node_mtml_int8", "web_mtml_fp32", "node_mtml_fp32", "web_mtml_one_user", "node_mtml_one_user"]
      .filter((name) => sessions[name])
      .map((name) => ({ name, run: (i: number) => runMtml(sessions[name] as ModelSession, mtmlBatch(i)) })),
    runOptions,
  );
  const towerSamples = await interleaved(
    ["web_user_tower", "node_user_tower"].map((name) => ({ name, run: (i: number) => runTower(sessions[name] as ModelSession, towerFeeds(i), 1) })),
    runOptions,
  );

  // USearch: the bundle's own index, in wasm (as served) and loaded into the native addon, same queries and expansion
  const wasmIndex = models.retrievalIndex;
  const nativeIndex = loadNativeIndex(tables.file(manifest.retrieval.index), { dims: manifest.retrieval.dim, metric: manifest.retrieval.metric, expansionSearch: wasmIndex.expansionSearch });
  const query = (i: number) => inputs.userEmbeddings[i % inputs.userEmbeddings.length] as Float32Array;
  let identical = 0;
  for (let i = 0; i < inputs.userEmbeddings.length; i++) {
    const fromWasm = Array.from(wasmIndex.search(query(i), 100).keys).join(",");
    const fromNative = Array.from(nativeIndex.search(query(i), 100, 1).keys, Number).join(",");
    if (fromWasm === fromNative) identical++;
  }
  const annSamples = await interleaved(
    [
      { name: "usearch_wasm_top100", run: (i: number) => wasmIndex.search(query(i), 100) },
      { name: "usearch_native_top100", run: (i: number) => nativeIndex.search(query(i), 100, 1) },
    ],
    { ...runOptions, block: options.block * 2 },
  );
  // the two-tower source's search: a top-1,000 by the graph walk (ef = 1,000) or by the shim's exact scan
  const topK = Math.min(1000, wasmIndex.size);
  let walkFound = 0;
  for (let i = 0; i < inputs.userEmbeddings.length; i++) {
    const scanned = new Set(wasmIndex.search(query(i), topK, { exact: true }).keys);
    for (const key of wasmIndex.search(query(i), topK).keys) if (scanned.has(key)) walkFound++;
  }
  const top1000Samples = await interleaved(
    [
      { name: "usearch_wasm_top1000_walk", run: (i: number) => wasmIndex.search(query(i), topK) },
      { name: "usearch_wasm_top1000_scan", run: (i: number) => wasmIndex.search(query(i), topK, { exact: true }) },
    ],
    runOptions,
  );
  const oneUserSplit = sessions.web_mtml_one_user && sessions.node_mtml_one_user ? await splitOneUserTime(tables.spec, sessions.web_mtml_one_user, sessions.node_mtml_one_user, inputs.mtml, { ...runOptions, rounds: Math.max(2, Math.floor(runOptions.rounds / 2)) }) : undefined;
  for (const session of Object.values(sessions)) await session.release();

  const timings: Record<string, Percentiles> = {};
  for (const samples of [mtmlSamples, towerSamples, annSamples, top1000Samples]) for (const [name, list] of samples) timings[name] = percentiles(list);
  const ratio = (a: string, b: string) => (timings[a] as Percentiles).p50_ms / (timings[b] as Percentiles).p50_ms;
  return {
    timings,
    ratios: {
      ort_web_over_node_mtml: ratio("web_mtml_int8", "node_mtml_int8"),
      ort_web_over_node_user_tower: ratio("web_user_tower", "node_user_tower"),
      usearch_wasm_over_native: ratio("usearch_wasm_top100", "usearch_native_top100"),
      int8_over_fp32_mtml: ratio("web_mtml_int8", "web_mtml_fp32"),
      int8_over_fp32_mtml_node: ratio("node_mtml_int8", "node_mtml_fp32"),
      ort_web_over_node_mtml_fp32: ratio("web_mtml_fp32", "node_mtml_fp32"),
      usearch_scan_over_walk_top1000: ratio("usearch_wasm_top1000_scan", "usearch_wasm_top1000_walk"),
      ...(timings.web_mtml_one_user ? { ort_web_over_node_mtml_one_user: ratio("web_mtml_one_user", "node_mtml_one_user"), one_user_over_per_row_mtml: ratio("web_mtml_one_user", "web_mtml_int8") } : {}),
    },
    usearch_identical_share: identical / inputs.userEmbeddings.length,
    usearch_walk_recall_top1000: walkFound / Math.max(1, inputs.userEmbeddings.length * topK),
    mtml_variant: manifest.mtml.quantization,
    ...(oneUserSplit ? { one_user_split: oneUserSplit } : {}),
  };
}

