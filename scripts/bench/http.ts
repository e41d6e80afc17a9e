// End to end over HTTP against the local Worker (wrangler dev → workerd) with the default bundle published into its
// local KV: cold start (fresh wrangler dev → first answer, bundle load included), then autocannon per route: a
// latency phase at one connection (client latency and the Worker's own Server-Timing total per request) and a
// throughput phase at a fixed concurrency (requests per second).
import autocannon from "autocannon";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishDirectory } from "../lib/kv-publish";
import { log, percentiles, type Percentiles } from "./measure";
import { REPO_ROOT, startDevServer, type DevServer } from "./wrangler";

export interface HttpOptions {
  readonly bundleDirectory: string;
  readonly warmUsers: readonly string[];
  /** The realistic mix (scripts/bench/traffic.ts): ids over all users, skewed toward active ones, plus new ids. */
  readonly mixUsers: readonly string[];
  readonly connections: number;
  readonly latencySeconds: number;
  readonly throughputSeconds: number;
  readonly coldStarts: number;
  readonly count: number;
}

export interface RouteResult {
  /** Server-side (the Worker's Server-Timing total) at one connection. workerd's clock ticks in whole milliseconds. */
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly mean_ms: number;
  /** Client-observed at one connection (autocannon). */
  readonly client_p50_ms: number;
  readonly client_p99_ms: number;
  /** Requests per second at `connections`, and the client latency there. */
  readonly rps: number;
  readonly connections: number;
  readonly loaded_client_p50_ms: number;
  readonly loaded_client_p99_ms: number;
  readonly requests: number;
  readonly errors: number;
  /** Mean and p50 ms of every Server-Timing entry (state = Durable Object snapshot + trending + config; stages). */
  readonly server_timing: Record<string, { mean_ms: number; p50_ms: number; p99_ms: number }>;
}

export interface HttpResult {
  readonly explore: RouteResult;
  readonly explore_cold: RouteResult;
  readonly explore_mix: RouteResult;
  readonly suggested: RouteResult | { readonly status: "pending"; readonly reason: string };
  readonly suggested_cold?: RouteResult;
  readonly cold_start: { readonly samples_ms: number[]; readonly p50_ms: number; readonly max_ms: number; readonly server_total_ms: number[]; readonly bundle_kv_load_ms: number[]; readonly open_ms: Record<string, number>[]; readonly wrangler_boot_ms: number[] };
  /** Durable Object snapshot RPC to a hot object (one user requested repeatedly; Server-Timing `state`, mean), ms. */
  readonly durable_object_rpc_ms: number;
}

function parseServerTiming(header: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!header) return out;
  for (const entry of header.split(",")) {
    const match = /^\s*([A-Za-z0-9_-]+)\s*;\s*dur=([\d.]+)/.exec(entry);
    if (match) out[match[1] as string] = Number(match[2]);
  }
  return out;
}

export type BodyFor = (n: number) => Record<string, unknown>;

export interface PhaseResult {
  readonly client: autocannon.Result;
  readonly timings: Map<string, number[]>;
  readonly failures: number;
  readonly firstFailure?: string;
}

/**
 * One autocannon run at a fixed concurrency for `seconds`: POST with `bodyFor(n)` as JSON (n counting from `start`), or
 * GET without a body; non-200 answers are counted (the first one kept), Server-Timing entries collected.
 */
export async function phase(url: string, path: string, bodyFor: BodyFor | undefined, connections: number, seconds: number, start = 0): Promise<PhaseResult> {
  let n = start;
  const timings = new Map<string, number[]>();
  let failures = 0;
  let firstFailure: string | undefined;
  const client = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: bodyFor === undefined ? "GET" : "POST",
        path,
        headers: { "content-type": "application/json" },
        setupRequest: (request) => (bodyFor === undefined ? request : { ...request, body: JSON.stringify(bodyFor(n++)) }),
        onResponse: (status, body, _context, headers) => {
          if (status !== 200) {
            failures++;
            firstFailure ??= `${status} ${String(body).slice(0, 300)}`;
            return;
          }
          // raw header names keep the server's case
          const header = Object.entries(headers as Record<string, string | string[] | undefined>).find(([name]) => name.toLowerCase() === "server-timing")?.[1];
          for (const [name, ms] of Object.entries(parseServerTiming(Array.isArray(header) ? header[0] : header))) {
            const list = timings.get(name) ?? [];
            list.push(ms);
            timings.set(name, list);
          }
        },
      },
    ],
  });
  return { client, timings, failures, firstFailure };
}

async function benchRoute(url: string, path: string, bodyFor: BodyFor, options: HttpOptions, warmupRequests: number): Promise<RouteResult> {
  // warm-up: JIT, the isolate's caches and (for known users) their Durable Objects
  for (let i = 0; i < warmupRequests; i++) {
    const response = await post(url, path, bodyFor(i));
    if (response.status !== 200) throw new Error(`${path} warm-up: HTTP ${response.status}: ${response.body.slice(0, 300)}`);
  }
  const latency = await phase(url, path, bodyFor, 1, options.latencySeconds, warmupRequests);
  const throughput = await phase(url, path, bodyFor, options.connections, options.throughputSeconds, warmupRequests * 7);
  const failures = latency.failures + throughput.failures + latency.client.errors + throughput.client.errors;
  if (failures > 0) throw new Error(`${path}: ${failures} failed requests (${latency.firstFailure ?? throughput.firstFailure ?? "connection errors"})`);
  const totals = latency.timings.get("total") ?? [];
  if (totals.length === 0) throw new Error(`${path}: no Server-Timing total in the responses`);
  const total = percentiles(totals);
  const serverTiming: RouteResult["server_timing"] = {};
  for (const [name, list] of latency.timings) {
    const p = percentiles(list);
    serverTiming[name] = { mean_ms: list.reduce((a, b) => a + b, 0) / list.length, p50_ms: p.p50_ms, p99_ms: p.p99_ms };
  }
  return {
    p50_ms: total.p50_ms,
    p99_ms: total.p99_ms,
    mean_ms: totals.reduce((a, b) => a + b, 0) / totals.length,
    client_p50_ms: latency.client.latency.p50,
    client_p99_ms: latency.client.latency.p99,
    rps: throughput.client.requests.average,
    connections: options.connections,
    loaded_client_p50_ms: throughput.client.latency.p50,
    loaded_client_p99_ms: throughput.client.latency.p99,
    requests: latency.client.requests.total + throughput.client.requests.total,
    errors: failures,
    server_timing: serverTiming,
  };
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; body: string; headers: Headers; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text, headers: response.headers, ms: performance.now() - started };
}

/** Fresh `wrangler dev` → first /v1/explore answer (the isolate loads the bundle from KV), `times` times. */
export async function coldStarts(persistTo: string, userId: string, times: number, count: number): Promise<{ samples: number[]; server: number[]; boot: number[]; kvLoad: number[]; open: Record<string, number>[]; firstTimings: Record<string, number>[]; server0?: DevServer }> {
  const samples: number[] = [];
  const server: number[] = [];
  const boot: number[] = [];
  const kvLoad: number[] = [];
  const open: Record<string, number>[] = [];
  const firstTimings: Record<string, number>[] = [];
  let kept: DevServer | undefined;
  for (let i = 0; i < times; i++) {
    const dev = await startDevServer(persistTo);
    try {
      const first = await post(dev.url, "/v1/explore", { user_id: userId, count });
      if (first.status !== 200) throw new Error(`cold start: HTTP ${first.status}: ${first.body.slice(0, 300)}`);
      const parsed = JSON.parse(first.body) as { degraded?: boolean; model_version?: string | null };
      if (parsed.model_version === null) throw new Error(`cold start: the Worker answered without a bundle: ${first.body.slice(0, 300)}`);
      samples.push(first.ms);
      // the bundle cache's own measure of reading + verifying the bundle from KV (the rest is decoding and the request)
      const health = (await (await fetch(`${dev.url}/health`)).json()) as { bundle?: { load_ms?: number; open_ms?: Record<string, number> } };
      kvLoad.push(health.bundle?.load_ms ?? Number.NaN);
      open.push(health.bundle?.open_ms ?? {});
      const timing = parseServerTiming(first.headers.get("server-timing") ?? undefined);
      firstTimings.push(timing);
      server.push(timing.total ?? Number.NaN);
      boot.push(dev.bootMs);
      log(`cold start ${i + 1}/${times}: first answer in ${first.ms.toFixed(0)} ms (wrangler dev booted in ${(dev.bootMs / 1000).toFixed(1)} s)`);
    } finally {
      if (i === times - 1) kept = dev;
      else await dev.stop();
    }
  }
  return { samples, server, boot, kvLoad, open, firstTimings, ...(kept ? { server0: kept } : {}) };
}

export async function benchHttp(options: HttpOptions): Promise<HttpResult> {
  const persistTo = mkdtempSync(join(tmpdir(), "bench-kv-"));
  try {
    const report = await publishDirectory(options.bundleDirectory, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
    log(`published ${report.version} to a fresh local KV in ${report.seconds.total.toFixed(1)} s`);
    const firstUser = options.warmUsers[0];
    if (!firstUser) throw new Error("http: no warm users");
    const cold = await coldStarts(persistTo, firstUser, options.coldStarts, options.count);
    const dev = cold.server0 as DevServer;
    try {
      const warmBody: BodyFor = (n) => ({ user_id: options.warmUsers[n % options.warmUsers.length], count: options.count });
      const coldBody: BodyFor = (n) => ({ user_id: `bench-new-user-${process.pid}-${n}`, count: options.count });
      log(`http: /v1/explore warm users (${options.warmUsers.length} users, warm-up visits each once)`);
      const explore = await benchRoute(dev.url, "/v1/explore", warmBody, options, options.warmUsers.length);
      log(`http: /v1/explore cold users (ids the bundle and the Durable Objects have never seen)`);
      const exploreCold = await benchRoute(dev.url, "/v1/explore", coldBody, options, 20);
      log(`http: /v1/explore realistic mix (${options.mixUsers.length} requests' ids over all users, cycled)`);
      const mixBody: BodyFor = (n) => ({ user_id: options.mixUsers[n % options.mixUsers.length], count: options.count });
      const exploreMix = await benchRoute(dev.url, "/v1/explore", mixBody, options, 20);
      // a hot Durable Object (the same user again and again): the RPC round trip itself, without the object's wake-up
      const hotState: number[] = [];
      for (let i = 0; i < (options.latencySeconds > 2 ? 200 : 40); i++) {
        const response = await post(dev.url, "/v1/explore", warmBody(0));
        if (response.status === 200) hotState.push(parseServerTiming(response.headers.get("server-timing") ?? undefined).state ?? Number.NaN);
      }
      let suggested: HttpResult["suggested"];
      let suggestedCold: RouteResult | undefined;
      if (!existsSync(join(REPO_ROOT, "worker/routes/suggested.ts"))) {
        suggested = { status: "pending", reason: "worker/routes/suggested.ts does not exist yet" };
      } else {
        const probe = await post(dev.url, "/v1/suggested", warmBody(0));
        if (probe.status !== 200) suggested = { status: "pending", reason: `POST /v1/suggested answered HTTP ${probe.status}: ${probe.body.slice(0, 200)}` };
        else {
          log("http: /v1/suggested warm users");
          suggested = await benchRoute(dev.url, "/v1/suggested", warmBody, options, options.warmUsers.length);
          log("http: /v1/suggested cold users");
          suggestedCold = await benchRoute(dev.url, "/v1/suggested", (n) => ({ user_id: `bench-new-suggested-${process.pid}-${n}`, count: options.count }), options, 20);
        }
      }
      return {
        explore,
        explore_cold: exploreCold,
        explore_mix: exploreMix,
        suggested,
        ...(suggestedCold ? { suggested_cold: suggestedCold } : {}),
        cold_start: { samples_ms: cold.samples, p50_ms: percentiles(cold.samples).p50_ms, max_ms: Math.max(...cold.samples), server_total_ms: cold.server, bundle_kv_load_ms: cold.kvLoad, open_ms: cold.open, wrangler_boot_ms: cold.boot },
        durable_object_rpc_ms: hotState.length > 0 ? hotState.reduce((a, b) => a + b, 0) / hotState.length : Number.NaN,
      };
    } finally {
      await dev.stop();
    }
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
}

export type { Percentiles };

/** The median of each cold-start step across cold starts: the KV read, then what /health's `open_ms` splits. */
export function coldStartSteps(cold: Pick<HttpResult["cold_start"], "bundle_kv_load_ms" | "open_ms">): [string, number][] {
  const steps = new Map<string, number[]>([["kv read + inflate + verify", cold.bundle_kv_load_ms]]);
  for (const open of cold.open_ms) for (const [step, ms] of Object.entries(open)) steps.set(step, [...(steps.get(step) ?? []), ms]);
  return [...steps].map(([step, values]) => [step, values.length === 0 ? Number.NaN : percentiles(values).p50_ms]);
}
