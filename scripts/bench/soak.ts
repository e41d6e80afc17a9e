// Memory and throughput under realistic traffic over time: `wrangler dev` (workerd) serving the default bundle from
// a fresh local KV, `/v1/explore` driven at a fixed concurrency with the realistic mix of user ids
// (scripts/bench/traffic.ts) minute after minute. After each minute it prints the requests per second, the client
// latency, workerd's resident memory and what the Durable Objects' storage holds on disk. Memory must stay flat:
// after the first minute (JIT, caches, the bundle) it may not grow more than --max-growth, or the script exits 1.
//
//   npm run bench:soak [-- --minutes 10 --connections 8 --bundle bundles/default --max-growth 0.10 --json soak.json]
//                      [--distinct N]   only the mix's first N distinct ids, over and over (to tell per-request growth
//                                        from per-user growth)
//                      [--route health] GET /health instead (no feed: what the HTTP path alone keeps)
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BundleTables } from "../../core/serving/bundle-tables";
import { publishDirectory } from "../lib/kv-publish";
import { loadBundleWithRetry } from "./bundle";
import { phase, type BodyFor } from "./http";
import { log } from "./measure";
import { describeTraffic, realisticUserIds } from "./traffic";
import { REPO_ROOT, startDevServer, workerdResidentBytes } from "./wrangler";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "seconds-per-sample": { type: "string", default: "60" },
    connections: { type: "string", default: "8" },
    bundle: { type: "string", default: "bundles/default" },
    "max-growth": { type: "string", default: "0.10" },
    json: { type: "string" },
    distinct: { type: "string" },
    route: { type: "string", default: "explore" },
  },
});

function positive(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}

const samples = Math.round(positive(values.minutes, "minutes") * 60 / positive(values["seconds-per-sample"], "seconds-per-sample"));
const secondsPerSample = positive(values["seconds-per-sample"], "seconds-per-sample");
const connections = Math.round(positive(values.connections, "connections"));
const maxGrowth = positive(values["max-growth"], "max-growth");
if (values.route !== "explore" && values.route !== "health") throw new Error(`--route must be explore or health, got ${values.route}`);
if (samples < 2) throw new Error("the soak needs at least two samples (--minutes over --seconds-per-sample)");

/** Files and bytes below a directory (the Durable Objects' SQLite files live below `persistTo`). */
function diskUsage(directory: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        files++;
        bytes += statSync(child).size;
      }
    }
  };
  try {
    walk(directory);
  } catch {
    // nothing written yet
  }
  return { files, bytes };
}

interface SoakSample {
  readonly minute: number;
  readonly rps: number;
  readonly client_p50_ms: number;
  readonly client_p99_ms: number;
  readonly requests: number;
  readonly failures: number;
  readonly workerd_rss_bytes: number;
  readonly durable_object_files: number;
  readonly durable_object_bytes: number;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const bundleDirectory = resolve(REPO_ROOT, values.bundle);
  const files = await loadBundleWithRetry(bundleDirectory);
  const mix = realisticUserIds(BundleTables.decode(files.manifest, files.files));
  const userIds = values.distinct === undefined ? mix : [...new Set(mix)].slice(0, Math.round(positive(values.distinct, "distinct")));
  const traffic = describeTraffic(userIds);
  log(`mix: ${traffic.requests} requests over ${traffic.distinct} distinct ids; the busiest 1% send ${(traffic.top1PercentShare * 100).toFixed(1)}%`);
  const persistTo = mkdtempSync(join(tmpdir(), "bench-soak-"));
  const rows: SoakSample[] = [];
  try {
    await publishDirectory(bundleDirectory, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
    const dev = await startDevServer(persistTo);
    const bodyFor: BodyFor | undefined = values.route === "health" ? undefined : (n) => ({ user_id: userIds[n % userIds.length], count: 30 });
    const path = values.route === "health" ? "/health" : "/v1/explore";
    let next = 0;
    try {
      for (; next < 20; next++) {
        const response = await fetch(`${dev.url}${path}`, bodyFor ? { method: "POST", body: JSON.stringify(bodyFor(next)) } : {});
        if (response.status !== 200) throw new Error(`warm-up: HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
        await response.arrayBuffer();
      }
      for (let minute = 1; minute <= samples; minute++) {
        const { client: result, failures, firstFailure } = await phase(dev.url, path, bodyFor, connections, secondsPerSample, next);
        next += result.requests.sent;
        const disk = diskUsage(join(persistTo, "v3", "do"));
        const row: SoakSample = {
          minute,
          rps: result.requests.average,
          client_p50_ms: result.latency.p50,
          client_p99_ms: result.latency.p99,
          requests: result.requests.total,
          failures: failures + result.errors,
          workerd_rss_bytes: workerdResidentBytes(dev.pid),
          durable_object_files: disk.files,
          durable_object_bytes: disk.bytes,
        };
        rows.push(row);
        console.log(
          `sample ${String(minute).padStart(2)}: ${row.rps.toFixed(0).padStart(4)} req/s, client p50 ${row.client_p50_ms} ms p99 ${row.client_p99_ms} ms, ` +
            `workerd RSS ${mib(row.workerd_rss_bytes)}, Durable Object storage ${row.durable_object_files} files ${mib(row.durable_object_bytes)}` +
            (row.failures > 0 ? `, ${row.failures} failed (${firstFailure ?? "connection errors"})` : ""),
        );
      }
    } finally {
      await dev.stop();
    }
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
  const base = rows[0] as SoakSample;
  const last = rows[rows.length - 1] as SoakSample;
  const peak = Math.max(...rows.map((row) => row.workerd_rss_bytes));
  const growth = (last.workerd_rss_bytes - base.workerd_rss_bytes) / base.workerd_rss_bytes;
  const peakGrowth = (peak - base.workerd_rss_bytes) / base.workerd_rss_bytes;
  const failed = rows.reduce((sum, row) => sum + row.failures, 0);
  const rps = rows.map((row) => row.rps).sort((a, b) => a - b);
  console.log(
    `after the first sample ${mib(base.workerd_rss_bytes)}, at the end ${mib(last.workerd_rss_bytes)} (${(growth * 100).toFixed(1)}%), peak ${mib(peak)} (${(peakGrowth * 100).toFixed(1)}%); ` +
      `median ${(rps[Math.floor(rps.length / 2)] as number).toFixed(0)} req/s at ${connections} connections; limit +${(maxGrowth * 100).toFixed(0)}%`,
  );
  if (values.json) writeFileSync(resolve(values.json), `${JSON.stringify({ connections, seconds_per_sample: secondsPerSample, traffic, samples: rows, growth, peak_growth: peakGrowth }, null, 2)}\n`);
  if (peakGrowth > maxGrowth || failed > 0) {
    console.error(failed > 0 ? `FAIL: ${failed} requests failed` : `FAIL: workerd resident memory grew ${(peakGrowth * 100).toFixed(1)}% after the first sample`);
    process.exitCode = 1;
  }
}

await main();
// autocannon and undici keep sockets; everything is measured and printed
process.exit(process.exitCode ?? 0);
