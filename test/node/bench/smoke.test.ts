// `npm run bench -- --smoke` end to end on the fixture bundle (built by the real pipeline from synthetic data), so CI
// keeps the benchmark working: it starts `wrangler dev` on a free port, drives it with autocannon, runs the stages,
// the side-by-side comparisons and a 10k-item sweep, and writes the JSON report whose shape is checked here.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureBundleDirectory } from "../../support/fixture-bundle";

const workDirectory = mkdtempSync(join(tmpdir(), "bench-smoke-"));
const jsonPath = join(workDirectory, "bench.json");
let report: Record<string, unknown>;
let output = "";

function runBench(args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "scripts/bench/index.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // the benchmark kills its own wrangler dev on exit, also on SIGTERM's default exit path
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the smoke benchmark took longer than ${timeoutMs / 1000} s:\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

function expectFiniteNumbers(value: unknown, path: string): void {
  if (typeof value === "number") {
    expect(Number.isFinite(value), `${path} = ${value}`).toBe(true);
    return;
  }
  if (value !== null && typeof value === "object") for (const [key, inner] of Object.entries(value)) expectFiniteNumbers(inner, `${path}.${key}`);
}

describe("npm run bench -- --smoke", () => {
  beforeAll(async () => {
    const { bundle } = await fixtureBundleDirectory();
    const code = await runBench(["--smoke", "--bundle", bundle, "--json", jsonPath, "--cache-dir", join(workDirectory, "cache")], 170_000);
    if (code !== 0) throw new Error(`the smoke benchmark exited with ${code}:\n${output.slice(-4000)}`);
    report = JSON.parse(readFileSync(jsonPath, "utf8")) as Record<string, unknown>;
  }, 400_000);

  afterAll(() => rmSync(workDirectory, { recursive: true, force: true }));

  it("reports explore latency and throughput over HTTP, warm and cold, with finite numbers", () => {
    for (const key of ["explore", "explore_cold"]) {
      const route = report[key] as Record<string, number>;
      for (const field of ["p50_ms", "p99_ms", "rps", "client_p50_ms", "client_p99_ms"]) {
        expect(route[field], `${key}.${field}`).toEqual(expect.any(Number));
        expect(Number.isFinite(route[field])).toBe(true);
      }
      expect(route.p99_ms).toBeGreaterThanOrEqual(route.p50_ms as number);
      expect(route.rps).toBeGreaterThan(0);
      expect(route.errors).toBe(0);
    }
    const suggested = report.suggested as Record<string, unknown>;
    expect(suggested.status === "pending" || typeof suggested.p50_ms === "number").toBe(true);
  });

  it("times every stage of the funnel in-process", () => {
    const stages = report.stages as Record<string, { p50_ms: number; p99_ms: number }>;
    for (const stage of ["user_tower", "ann_search", "retrieval", "first_stage", "mtml", "value_model", "rerank", "funnel_total", "source:two_tower", "source:popular"]) {
      expect(stages[stage], stage).toBeDefined();
      expect(stages[stage]?.p50_ms).toBeGreaterThanOrEqual(0);
      expect(stages[stage]?.p99_ms).toBeGreaterThanOrEqual(stages[stage]?.p50_ms as number);
    }
  });

  it("compares the runtimes side by side as ratios", () => {
    const ratios = report.ratios as Record<string, number>;
    for (const key of ["ort_web_over_node_mtml", "ort_web_over_node_user_tower", "usearch_wasm_over_native", "int8_over_fp32_mtml", "usearch_scan_over_walk_top1000"]) {
      expect(ratios[key], key).toBeGreaterThan(0);
      expect(Number.isFinite(ratios[key])).toBe(true);
    }
    // the walk finds most, and at most all, of the scan's exact top 1,000
    expect(report.usearch_walk_recall_top1000).toBeGreaterThan(0.9);
    expect(report.usearch_walk_recall_top1000).toBeLessThanOrEqual(1);
  });

  it("sweeps a synthetic catalogue and reports memory and cold start", () => {
    const sweep = report.sweep as Record<string, number>[];
    expect(sweep.length).toBeGreaterThan(0);
    const first = sweep[0] as Record<string, number>;
    expect(first.items).toBe(10_000);
    for (const field of ["p50_ms", "p99_ms", "index_bytes", "heap_bytes", "cold_start_ms"]) expect(first[field], field).toBeGreaterThan(0);
    expect(first.heap_bytes).toBeGreaterThan(first.index_bytes as number);
  });

  it("measures cold start and the Worker's upload size", () => {
    expect(report.cold_start_ms).toBeGreaterThan(0);
    expect(report.bundle_gzip_bytes).toBeGreaterThan(1_000_000);
    expect(report.bundle_gzip_bytes).toBeLessThan(64 * 2 ** 20);
    expectFiniteNumbers(report, "report");
    expect(output).toContain("| /v1/explore warm");
  });
});
