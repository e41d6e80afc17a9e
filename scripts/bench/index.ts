/**
 * npm run bench [-- --json <file>] [--smoke] [--bundle <dir>] [--skip-http] [--skip-sweep] [--sizes 10000,100000,1000000]
 *                  [--users N] [--connections N] [--seconds N] [--cold-starts N]
 *
 * The serving path's numbers in one run on this machine: per-stage latency in-process (the Worker's code on
 * onnxruntime-web wasm and USearch wasm), runtimes side by side (ort-web vs ort-node, int8 vs fp32, USearch wasm vs
 * native), end to end over HTTP against `wrangler dev` (warm and cold users, Suggested Posts when the route exists,
 * cold start), the Worker's upload size, and a catalogue-size sweep (10k/100k/1M synthetic items, sharded when one
 * isolate's 128 MB is not enough). `--smoke` is the same run, small (CI keeps the script working with it).
 * Run it with the GC exposed (the npm script does) so memory is measured after collections.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchHttp, coldStartSteps, type HttpResult, type RouteResult } from "./http";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { KvFootprint } from "./bundle";
import { collectGarbage, log, machineInfo, round, trackWasmMemories, wasmMemoryBytes, type MachineInfo, type Percentiles } from "./measure";
import { benchSideBySide, type SideBySideResult } from "./side-by-side";
import { benchStages, warmUserIds, type StageBenchResult } from "./stages";
import { DEFAULT_TRAFFIC_MIX, describeTraffic, realisticUserIds } from "./traffic";
import { ISOLATE_BUDGET_BYTES, benchSweep, type SweepEntry } from "./sweep";
import { REPO_ROOT, workerBundleSize, type WorkerSize } from "./wrangler";

trackWasmMemories();

const { values } = parseArgs({
  options: {
    json: { type: "string" },
    smoke: { type: "boolean", default: false },
    bundle: { type: "string", default: "bundles/default" },
    "skip-http": { type: "boolean", default: false },
    "skip-sweep": { type: "boolean", default: false },
    sizes: { type: "string" },
    users: { type: "string" },
    connections: { type: "string", default: "8" },
    seconds: { type: "string" },
    "cold-starts": { type: "string" },
    "cache-dir": { type: "string", default: ".cache/bench" },
  },
});

function positiveInteger(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const smoke = values.smoke;
const settings = {
  users: positiveInteger(values.users, "users", smoke ? 40 : 300),
  connections: positiveInteger(values.connections, "connections", 8),
  seconds: positiveInteger(values.seconds, "seconds", smoke ? 2 : 10),
  coldStarts: positiveInteger(values["cold-starts"], "cold-starts", smoke ? 1 : 5),
  sizes: (values.sizes ?? (smoke ? "10000" : "10000,100000,1000000")).split(",").map((size) => positiveInteger(size, "sizes", 1)),
};
const bundleDirectory = resolve(REPO_ROOT, values.bundle);

export interface BenchReport {
  readonly mode: "full" | "smoke";
  readonly command: string;
  readonly started_at: string;
  readonly machine: MachineInfo;
  readonly bundle: { readonly version: string; readonly items: number; readonly users: number; readonly bytes: number; readonly load_ms: number; readonly decode_ms: number; readonly open_ms?: ServingBundle["openMs"] };
  /** The bundle as published to KV (scripts/bench/bundle.ts kvFootprint). */
  readonly bundle_kv?: KvFootprint;
  readonly explore?: RouteResult;
  readonly explore_cold?: RouteResult;
  readonly explore_mix?: RouteResult;
  readonly traffic_mix?: ReturnType<typeof describeTraffic>;
  readonly suggested?: HttpResult["suggested"];
  readonly suggested_cold?: RouteResult;
  readonly stages: Record<string, Percentiles>;
  readonly stage_users: StageBenchResult["users"];
  readonly candidates: StageBenchResult["candidates"];
  readonly side_by_side: SideBySideResult["timings"];
  readonly ratios: SideBySideResult["ratios"];
  readonly usearch_identical_share: number;
  readonly usearch_walk_recall_top1000: number;
  readonly one_user_split?: SideBySideResult["one_user_split"];
  readonly mtml_variant: string;
  readonly sweep: SweepEntry[];
  readonly cold_start_ms?: number;
  readonly cold_start?: HttpResult["cold_start"];
  readonly durable_object_rpc_ms?: number;
  readonly bundle_gzip_bytes: number;
  readonly worker_size: WorkerSize;
  readonly memory: { readonly js_heap_bytes: number; readonly wasm_bytes: number; readonly bundle_files_bytes: number; readonly isolate_estimate_bytes: number };
  readonly seconds: Record<string, number>;
}

const seconds: Record<string, number> = {};
async function section<T>(name: string, run: () => Promise<T>): Promise<T> {
  log(`${name}...`);
  const started = performance.now();
  const result = await run();
  seconds[name] = round((performance.now() - started) / 1000, 1);
  log(`${name} done in ${seconds[name]} s`);
  return result;
}

const { kvFootprint, loadServingBundle } = await import("./bundle");
const machine = machineInfo();
collectGarbage();
const heapBefore = process.memoryUsage().heapUsed;
const loadStarted = performance.now();
const { bundleFiles, bundle, usearch } = await section("load", () => loadServingBundle(bundleDirectory));
const decodeMs = performance.now() - loadStarted - bundleFiles.loadMs;
collectGarbage();
const bundleHeapBytes = Math.max(0, process.memoryUsage().heapUsed - heapBefore);
const bundleWasmBytes = wasmMemoryBytes();
const ortWasmBytes = Math.max(0, bundleWasmBytes - usearch.stats().memoryBytes);
const bundleBytes = [...bundleFiles.files.values()].reduce((sum, file) => sum + file.byteLength, 0);

const kv = await section("kv-footprint", () => kvFootprint(bundleFiles));
const stages = await section("stages", () => benchStages(bundle, { users: settings.users, warmupUsers: smoke ? 10 : 30, count: 30 }));
const sideBySide = await section("side-by-side", () => benchSideBySide(bundle, smoke ? { rounds: 4, block: 10, warmup: 10, users: 8 } : { rounds: 20, block: 20, warmup: 40, users: 32 }));
const http = values["skip-http"]
  ? undefined
  : await section("http", () =>
      benchHttp({
        bundleDirectory,
        warmUsers: warmUserIds(bundle, bundle.tables.config, smoke ? 30 : 300),
        mixUsers: realisticUserIds(bundle.tables),
        connections: settings.connections,
        latencySeconds: settings.seconds,
        throughputSeconds: settings.seconds,
        coldStarts: settings.coldStarts,
        count: 30,
      }),
    );
const workerSize = await section("worker-size", () => workerBundleSize());
const { createNodeOrtWebAdapter } = await import("../onnx/ort-web-node");
const sweep = values["skip-sweep"]
  ? []
  : await section("sweep", () =>
      benchSweep(bundle, createNodeOrtWebAdapter(), { heapBytes: bundleHeapBytes, ortWasmBytes }, {
        sizes: settings.sizes,
        queries: smoke ? 40 : 300,
        warmup: smoke ? 10 : 30,
        headroom: 0.85,
        rpcMs: http && Number.isFinite(http.durable_object_rpc_ms) ? Math.max(http.durable_object_rpc_ms, 0.5) : 1,
        cacheDir: resolve(REPO_ROOT, values["cache-dir"]),
        expansionAdd: 64,
        threads: 2,
        singleMaxItems: 100_000,
        latencyTargetMs: 8,
        maxShards: 16,
      }),
    );

const report: BenchReport = {
  mode: smoke ? "smoke" : "full",
  command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
  started_at: new Date().toISOString(),
  machine,
  bundle: { version: bundleFiles.version, items: bundle.tables.items.ids.size, users: bundle.tables.users.ids.size, bytes: bundleBytes, load_ms: bundleFiles.loadMs, decode_ms: decodeMs, open_ms: bundle.openMs },
  bundle_kv: kv,
  ...(http ? { explore: http.explore, explore_cold: http.explore_cold, explore_mix: http.explore_mix, traffic_mix: describeTraffic(realisticUserIds(bundle.tables)), suggested: http.suggested, ...(http.suggested_cold ? { suggested_cold: http.suggested_cold } : {}), cold_start_ms: http.cold_start.p50_ms, cold_start: http.cold_start, durable_object_rpc_ms: http.durable_object_rpc_ms } : {}),
  stages: stages.stages,
  stage_users: stages.users,
  candidates: stages.candidates,
  side_by_side: sideBySide.timings,
  ratios: sideBySide.ratios,
  usearch_identical_share: sideBySide.usearch_identical_share,
  usearch_walk_recall_top1000: sideBySide.usearch_walk_recall_top1000,
  mtml_variant: sideBySide.mtml_variant,
  ...(sideBySide.one_user_split ? { one_user_split: sideBySide.one_user_split } : {}),
  sweep,
  bundle_gzip_bytes: workerSize.gzip_bytes,
  worker_size: workerSize,
  memory: { js_heap_bytes: bundleHeapBytes, wasm_bytes: bundleWasmBytes, bundle_files_bytes: bundleBytes, isolate_estimate_bytes: bundleHeapBytes + bundleWasmBytes + bundleBytes },
  seconds,
};

printReport(report);
if (values.json) {
  writeFileSync(resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${resolve(values.json)}`);
}
// the ONNX runtimes and USearch keep handles open; everything is measured and written
process.exit(0);

function printReport(r: BenchReport): void {
  const f = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(digits));
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const lines: string[] = [];
  const table = (header: string[], rows: (string | number)[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i] ?? "").length)));
    const line = (cells: (string | number)[]) => `| ${cells.map((cell, i) => String(cell).padEnd(widths[i] as number)).join(" | ")} |`;
    lines.push(line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line), "");
  };
  lines.push(`machine: ${r.machine.cores} cores, ${r.machine.cpu}, ${r.machine.memory_gib} GiB, node ${r.machine.node} ${r.machine.platform}, load average at start ${r.machine.load_average.join(" / ")}`);
  lines.push(`packages: ${Object.entries(r.machine.packages).map(([name, version]) => `${name} ${version}`).join(", ")}`);
  lines.push(`bundle: ${r.bundle.version} (${r.bundle.items} items, ${r.bundle.users} users, ${mib(r.bundle.bytes)}); mode ${r.mode}; ${r.command}`);
  if (r.bundle.open_ms) lines.push(`opening it in Node (what a cold isolate does after the KV read): tables ${f(r.bundle.open_ms.tables, 0)} ms, derived indexes ${f(r.bundle.open_ms.index, 0)} ms, models (ONNX sessions + ANN index) ${f(r.bundle.open_ms.models, 0)} ms`);
  if (r.bundle_kv) lines.push(`bundle in KV: ${mib(r.bundle_kv.stored_bytes)} of ${mib(r.bundle_kv.files_bytes)} on disk (${r.bundle_kv.gzip_files} files as gzip; left out: ${r.bundle_kv.omitted.join(", ") || "none"}); read back, inflated and verified in ${r.bundle_kv.load_ms.toFixed(0)} ms`);
  lines.push("");

  const route = (name: string, result: RouteResult | undefined) =>
    result ? [name, f(result.p50_ms, 1), f(result.p99_ms, 1), f(result.mean_ms), f(result.client_p50_ms, 1), f(result.client_p99_ms, 1), f(result.rps, 0), `${result.connections}`, f(result.loaded_client_p50_ms, 1)] : [name, "—", "—", "—", "—", "—", "—", "—", "—"];
  lines.push("End to end over HTTP (wrangler dev / workerd). Server = the Worker's Server-Timing total at 1 connection (whole ms); client = autocannon.");
  const suggested = r.suggested && "p50_ms" in r.suggested ? r.suggested : undefined;
  table(["route", "server p50", "server p99", "server mean", "client p50", "client p99", "rps", "conns", "client p50 loaded"], [route("/v1/explore warm", r.explore), route("/v1/explore cold", r.explore_cold), route("/v1/explore mix", r.explore_mix), route("/v1/suggested warm", suggested), route("/v1/suggested cold", r.suggested_cold)]);
  if (r.traffic_mix) lines.push(`mix: ${r.traffic_mix.requests} requests over ${r.traffic_mix.distinct} distinct ids (the busiest 1% of ids send ${(r.traffic_mix.top1PercentShare * 100).toFixed(1)}% of requests; ${(DEFAULT_TRAFFIC_MIX.newUserShare * 100).toFixed(0)}% new ids); warm = ${r.stage_users.warm} users visited over and over`, "");
  if (r.suggested && !("p50_ms" in r.suggested)) lines.push(`/v1/suggested: pending (${r.suggested.reason})`, "");
  if (r.explore) {
    lines.push("Inside the Worker (Server-Timing, warm users, 1 connection; mean / p50 / p99 ms):");
    table(["entry", "mean", "p50", "p99"], Object.entries(r.explore.server_timing).map(([name, t]) => [name, f(t.mean_ms), f(t.p50_ms, 0), f(t.p99_ms, 0)]));
  }

  lines.push(`Per stage in-process (Node, onnxruntime-web wasm 1 thread, USearch wasm; ${r.stage_users.warm} warm users, ${r.stage_users.cold} cold; ${f(r.candidates.retrieved, 0)} candidates after filters, ${f(r.candidates.mtml, 0)} into the MTML):`);
  table(["stage", "p50 ms", "p99 ms"], Object.entries(r.stages).map(([name, p]) => [name, f(p.p50_ms, 3), f(p.p99_ms, 3)]));

  lines.push(`Side by side (interleaved, same inputs; served MTML variant: ${r.mtml_variant}):`);
  table(["contender", "p50 ms", "p99 ms"], Object.entries(r.side_by_side).map(([name, p]) => [name, f(p.p50_ms, 3), f(p.p99_ms, 3)]));
  table(["ratio (medians)", "value"], [...Object.entries(r.ratios).map(([name, value]) => [name, f(value, 2)]), ["usearch identical top-100 share", f(r.usearch_identical_share, 2)], ["usearch walk's share of the exact top-1000", f(r.usearch_walk_recall_top1000, 4)]]);
  if (r.one_user_split) {
    const split = r.one_user_split;
    lines.push(`The one-user MTML at ${split.rows.join(", ")} rows (interleaved; p50 ms), and the line per call + per row × rows through each runtime's medians:`);
    table(
      ["runtime", ...split.rows.map((rows) => `${rows} rows`), "per call ms", "per row µs"],
      (["web", "node"] as const).map((runtime) => [runtime === "web" ? "onnxruntime-web" : "onnxruntime-node", ...split[runtime].p50_ms.map((ms) => f(ms, 3)), f(split[runtime].per_call_ms, 3), f(split[runtime].per_row_ms * 1000, 2)]),
    );
    table(["ort-web / ort-node, one-user MTML", "value"], [["per call", f(split.per_call_ratio, 2)], ["per row", f(split.per_row_ratio, 2)]]);
  }

  if (r.sweep.length > 0) {
    lines.push(`Catalogue-size sweep (synthetic items; explore-like funnel: towers + ANN (user top-800 + 20 seeds × 16) + first stage + MTML on 100). Budget ${mib(ISOLATE_BUDGET_BYTES)} per isolate:`);
    table(
      ["items", "layout", "p50 ms", "p99 ms", "candidates", "index", "isolate memory", "fits", "cold start ms", "fan-out"],
      r.sweep.map((entry) => [
        entry.items,
        entry.mode === "single" ? "one isolate, f32" : `${entry.shards} shard${entry.shards === 1 ? "" : "s"}, ${entry.scalar}`,
        f(entry.p50_ms),
        f(entry.p99_ms),
        f(entry.candidates, 0),
        mib(entry.index_bytes),
        mib(entry.heap_bytes),
        entry.fits_128mb ? "yes" : "no",
        f(entry.cold_start_ms, 0),
        entry.fanout ? `2×${f(entry.fanout.rpc_ms_per_round)} ms RPC + ${f(entry.fanout.serialise_p50_ms)} ms clone; slowest shard ${f(entry.fanout.shard_slowest_p50_ms)} ms` : "—",
      ]),
    );
  }
  lines.push(`cold start (fresh wrangler dev → first /v1/explore answer, bundle load included): ${r.cold_start ? `${r.cold_start.samples_ms.map((ms) => ms.toFixed(0)).join(", ")} ms (p50 ${f(r.cold_start_ms, 0)})` : "—"}`);
  if (r.cold_start) lines.push(`cold start steps in the Worker (median over ${r.cold_start.samples_ms.length}): ${coldStartSteps(r.cold_start).map(([step, ms]) => `${step} ${ms.toFixed(0)} ms`).join(", ")}`);
  lines.push(`Worker upload: ${mib(r.worker_size.upload_bytes)}, gzip ${mib(r.bundle_gzip_bytes)} (wrangler; measured here ${mib(r.worker_size.gzip_bytes_measured)})`);
  lines.push(`in-process isolate estimate for the default bundle: JS heap ${mib(r.memory.js_heap_bytes)} + wasm ${mib(r.memory.wasm_bytes)} + bundle files ${mib(r.memory.bundle_files_bytes)} = ${mib(r.memory.isolate_estimate_bytes)}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

