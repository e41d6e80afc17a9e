// Latency of fp32 vs int8 variants of the test networks on onnxruntime-web (Node, wasm SIMD, 1 thread) and
// onnxruntime-node (CPU EP, 1 intra-op thread), through the same ModelSession wrapper the app uses.
//
//   npx tsx scripts/onnx/bench-quant.ts [--runs 400] [--quick]
//
// Not a test: numbers are noisy on a shared 2-core machine; compare ratios within one run.
import type { Feeds, ModelSession, OnnxRuntimeAdapter } from "../../core/inference/types";
import { calibrateActivationRanges } from "../../models/onnx/calibrate";
import { quantizeDynamicInt8, quantizeQdqInt8 } from "../../models/onnx/quantize";
import { buildMtmlOnnx, buildTowerOnnx } from "../../test/fixtures/onnx/build-nets";
import { mtmlFeeds, towerFeeds } from "../../test/fixtures/onnx/feeds";
import { makeMtmlParams, makeTowerParams, randomMtmlBatch, randomTowerBatch } from "../../test/fixtures/onnx/nets";
import { createOnnxruntimeNodeAdapter } from "./ort-node";
import { createNodeOrtWebAdapter } from "./ort-web-node";

const args = process.argv.slice(2);
const runsArg = args.indexOf("--runs");
const quick = args.includes("--quick");
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 100 : 400;
const WARMUP = Math.max(20, Math.floor(RUNS / 10));
const CREATE_REPEATS = quick ? 3 : 7;
const BLOCK = 20;

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * Runs every session side by side: rounds of BLOCK runs per session, cycling through the sessions, so that machine
 * noise (a shared 2-core VM) hits all variants alike. Returns median/p99 per session.
 */
async function timeInterleaved(sessions: readonly ModelSession[], feedsList: readonly Feeds[]): Promise<{ median: number; p99: number }[]> {
  for (const session of sessions) for (let i = 0; i < WARMUP; i++) await session.run(feedsList[i % feedsList.length]!);
  const times = sessions.map(() => [] as number[]);
  for (let round = 0; round < Math.ceil(RUNS / BLOCK); round++) {
    for (const [index, session] of sessions.entries()) {
      for (let i = 0; i < BLOCK; i++) {
        const feeds = feedsList[(round * BLOCK + i) % feedsList.length]!;
        const start = performance.now();
        await session.run(feeds);
        times[index]!.push(performance.now() - start);
      }
    }
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { median: quantile(t, 0.5), p99: quantile(t, 0.99) };
  });
}

async function timeCreate(adapter: OnnxRuntimeAdapter, bytes: Uint8Array): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CREATE_REPEATS; i++) {
    const start = performance.now();
    const session = await adapter.createSession(bytes);
    times.push(performance.now() - start);
    await session.release();
  }
  times.sort((a, b) => a - b);
  return quantile(times, 0.5);
}

interface Row {
  net: string;
  variant: string;
  kb: number;
  web: { median: number; p99: number; create: number };
  node: { median: number; p99: number; create: number };
}

async function main(): Promise<void> {
  const web = createNodeOrtWebAdapter();
  const node = createOnnxruntimeNodeAdapter();

  const mtmlParams = makeMtmlParams();
  const towerParams = makeTowerParams();
  const mtmlFp32 = buildMtmlOnnx(mtmlParams);
  const towerFp32 = buildTowerOnnx(towerParams);

  // First ORT-web session in the process includes compiling/instantiating the 14 MB wasm: the Worker cold start.
  const coldStart = performance.now();
  await (await web.createSession(towerFp32)).release();
  const webColdMs = performance.now() - coldStart;
  const nodeColdStart = performance.now();
  await (await node.createSession(towerFp32)).release();
  const nodeColdMs = performance.now() - nodeColdStart;

  const calibrate = (bytes: Uint8Array, feeds: Feeds[]) => calibrateActivationRanges(bytes, web, feeds);
  const mtmlCalibration = await calibrate(mtmlFp32, [0, 1, 2, 3].map((s) => mtmlFeeds(randomMtmlBatch(mtmlParams, 100, 900 + s))));
  const towerCalibration = await calibrate(towerFp32, [towerFeeds(randomTowerBatch(towerParams, 400, 900))]);

  const variants = (fp32: Uint8Array, ranges: Awaited<ReturnType<typeof calibrate>>): [string, Uint8Array][] => [
    ["fp32", fp32],
    ["dynamic int8 (u8s8)", quantizeDynamicInt8(fp32).bytes],
    ["dynamic uint8 (u8u8)", quantizeDynamicInt8(fp32, { weightType: "uint8" }).bytes],
    ["dynamic int8 +emb-int8", quantizeDynamicInt8(fp32, { embeddingsPerRow: true }).bytes],
    ["qdq w8a32 (DQ folded at load)", quantizeQdqInt8(fp32).bytes],
    ["qdq w8a32 (DQ every run)", quantizeQdqInt8(fp32, { foldWeightsAtLoad: false }).bytes],
    ["qdq w8a32 folded +emb-int8", quantizeQdqInt8(fp32, { embeddingsPerRow: true }).bytes],
    ["qdq w8a8 (calibrated, 7-bit w)", quantizeQdqInt8(fp32, { activationRanges: ranges, reduceRange: true }).bytes],
  ];

  const nets: [string, Uint8Array, Feeds[], Awaited<ReturnType<typeof calibrate>>][] = [
    ["mtml b=100", mtmlFp32, [0, 1, 2, 3, 4, 5, 6, 7].map((s) => mtmlFeeds(randomMtmlBatch(mtmlParams, 100, s))), mtmlCalibration],
    ["tower b=1", towerFp32, Array.from({ length: 16 }, (_, s) => towerFeeds(randomTowerBatch(towerParams, 1, s))), towerCalibration],
  ];

  const rows: Row[] = [];
  for (const [net, fp32, feedsList, ranges] of nets) {
    const netVariants = variants(fp32, ranges);
    const measure = async (adapter: OnnxRuntimeAdapter) => {
      const creates: number[] = [];
      for (const [, bytes] of netVariants) creates.push(await timeCreate(adapter, bytes));
      const sessions = await Promise.all(netVariants.map(([, bytes]) => adapter.createSession(bytes)));
      const timings = await timeInterleaved(sessions, feedsList);
      for (const session of sessions) await session.release();
      return timings.map((t, i) => ({ ...t, create: creates[i]! }));
    };
    const webResults = await measure(web);
    process.stderr.write(`. ${net} onnxruntime-web\n`);
    const nodeResults = await measure(node);
    process.stderr.write(`. ${net} onnxruntime-node\n`);
    netVariants.forEach(([variant, bytes], i) => rows.push({ net, variant, kb: bytes.byteLength / 1024, web: webResults[i]!, node: nodeResults[i]! }));
  }

  const f = (x: number, digits = 3) => x.toFixed(digits);
  console.log(`\nruns=${RUNS} per variant (interleaved in blocks of ${BLOCK}) warmup=${WARMUP}; latency in ms per session.run (incl. feed validation and output copy)`);
  console.log(`cold start (first session incl. wasm compile+instantiate): ort-web ${f(webColdMs, 1)} ms, ort-node ${f(nodeColdMs, 1)} ms\n`);
  const header = ["net", "variant", "KB", "web med", "web p99", "node med", "node p99", "web/node", "web int8/fp32", "node int8/fp32", "web create", "node create"];
  const table: string[][] = [header];
  for (const row of rows) {
    const base = rows.find((r) => r.net === row.net && r.variant === "fp32")!;
    table.push([
      row.net,
      row.variant,
      f(row.kb, 0),
      f(row.web.median),
      f(row.web.p99),
      f(row.node.median),
      f(row.node.p99),
      f(row.web.median / row.node.median, 2),
      f(row.web.median / base.web.median, 2),
      f(row.node.median / base.node.median, 2),
      f(row.web.create, 2),
      f(row.node.create, 2),
    ]);
  }
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const [i, r] of table.entries()) {
    console.log(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  for (const net of new Set(rows.map((r) => r.net))) {
    const int8 = rows.filter((r) => r.net === net && r.variant !== "fp32").sort((a, b) => a.web.median - b.web.median);
    console.log(`fastest int8 on ort-web for ${net}: ${int8[0]!.variant} (${f(int8[0]!.web.median)} ms)`);
  }
}

await main();
