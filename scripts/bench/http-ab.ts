/**
 * npm run bench:ab -- --bundle <dir> [--checkout <dir>] --other-bundle <dir> [--other-checkout <dir>]
 *                     [--rounds 3] [--seconds 10] [--connections 1,8] [--users 300] [--json <file>]
 *
 * Two Workers side by side over HTTP: each side is a checkout (this one unless told; another is a worktree of an
 * earlier commit) serving a bundle, published to its own fresh local KV and run by its own `wrangler dev`, both at
 * once. Warm users' /v1/explore alternates between them phase by phase, so the shared host's noise falls on both
 * alike. Prints, per connection count, each side's server p50/p99 (Server-Timing total), client p50, requests per
 * second, and with item shards the slowest shard's and all shards' search time, then the ratio of the medians.
 * Compares, for example, a sharded bundle with the same models on one index, or this code with an earlier commit.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BundleTables } from "../../core/serving/bundle-tables";
import { UsageError, runCli } from "../lib/cli";
import { publishDirectory } from "../lib/kv-publish";
import { loadBundleWithRetry } from "./bundle";
import { phase, type BodyFor } from "./http";
import { log, percentiles } from "./measure";
import { REPO_ROOT, startDevServer, type DevServer } from "./wrangler";

const USAGE = "usage: npm run bench:ab -- --bundle <dir> [--checkout <dir>] --other-bundle <dir> [--other-checkout <dir>] [--rounds 3] [--seconds 10] [--connections 1,8] [--users 300] [--json <file>]";

interface Side {
  readonly name: string;
  readonly dev: DevServer;
  readonly persistTo: string;
  readonly serverMs: number[];
  readonly rps: number[];
  readonly clientP50: number[];
  readonly timings: Map<string, number[]>;
}

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      bundle: { type: "string" },
      checkout: { type: "string" },
      "other-bundle": { type: "string" },
      "other-checkout": { type: "string" },
      rounds: { type: "string", default: "3" },
      seconds: { type: "string", default: "10" },
      connections: { type: "string", default: "1,8" },
      users: { type: "string", default: "300" },
      json: { type: "string" },
    },
    strict: true,
  });
  if (!values.bundle || !values["other-bundle"]) throw new UsageError("--bundle and --other-bundle are required");
  const count = (value: string, name: string, max: number) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be an integer in 1..${max}`);
    return n;
  };
  const rounds = count(values.rounds, "rounds", 50);
  const seconds = count(values.seconds, "seconds", 600);
  const userCount = count(values.users, "users", 10_000);
  const connections = values.connections.split(",").map((c) => count(c, "connections", 64));

  const directory = resolve(values.bundle);
  const files = await loadBundleWithRetry(directory);
  const tables = BundleTables.decode(files.manifest, files.files);
  const users: string[] = [];
  for (let row = 0; row < tables.users.ids.size && users.length < userCount; row++) {
    if ((tables.histories.offsets[row + 1] as number) > (tables.histories.offsets[row] as number)) users.push(tables.users.ids.id(row));
  }
  const describe = (bundle: string, checkout: string | undefined) => `${basename(bundle)}${checkout ? ` @ ${basename(resolve(checkout))}` : ""}`;
  const body: BodyFor = (n) => ({ user_id: users[n % users.length], count: 20 });

  const sides: Side[] = [];
  try {
    const otherBundle = resolve(values["other-bundle"]);
    const plan = [
      { name: describe(directory, values.checkout), bundle: directory, checkout: resolve(values.checkout ?? REPO_ROOT) },
      { name: describe(otherBundle, values["other-checkout"]), bundle: otherBundle, checkout: resolve(values["other-checkout"] ?? REPO_ROOT) },
    ];
    for (const { name, bundle, checkout } of plan) {
      const persistTo = mkdtempSync(join(tmpdir(), "bench-ab-"));
      await publishDirectory(bundle, { kind: "local", configPath: join(checkout, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
      const dev = await startDevServer(persistTo, 90_000, [], checkout);
      sides.push({ name, dev, persistTo, serverMs: [], rps: [], clientP50: [], timings: new Map() });
      // every warm user once: the bundle, the shards' slices and the users' state objects are loaded before timing
      await phase(dev.url, "/v1/explore", body, 4, Math.max(3, Math.ceil(users.length / 100)));
    }
    const report: Record<string, unknown>[] = [];
    for (const conns of connections) {
      for (const side of sides) {
        side.serverMs.length = 0;
        side.rps.length = 0;
        side.clientP50.length = 0;
        side.timings.clear();
      }
      for (let round = 0; round < rounds; round++) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          const result = await phase(side.dev.url, "/v1/explore", body, conns, seconds, round * 100_000);
          if (result.failures > 0) throw new Error(`${side.name}: ${result.failures} failed requests (${result.firstFailure ?? "?"})`);
          const lost = result.client.errors + result.client.timeouts;
          if (lost > 0) log(`${side.name}: ${lost} requests lost to connection errors or timeouts`);
          side.rps.push(result.client.requests.average);
          side.clientP50.push(result.client.latency.p50);
          for (const [metric, list] of result.timings) side.timings.set(metric, [...(side.timings.get(metric) ?? []), ...list]);
          log(`${conns} conn, round ${round + 1}/${rounds}, ${side.name}: ${result.client.requests.average.toFixed(0)} req/s`);
        }
      }
      const p = (side: Side, metric: string) => {
        const list = side.timings.get(metric) ?? [];
        return list.length === 0 ? undefined : percentiles(list);
      };
      const rows = sides.map((side) => ({
        side: side.name,
        connections: conns,
        server_p50_ms: p(side, "total")?.p50_ms,
        server_p99_ms: p(side, "total")?.p99_ms,
        rps_median: percentiles(side.rps).p50_ms,
        client_p50_ms: percentiles(side.clientP50).p50_ms,
        retrieval_p50_ms: p(side, "retrieval")?.p50_ms,
        slowest_shard_p50_ms: p(side, "item_shard_slowest")?.p50_ms,
        shards_total_p50_ms: p(side, "item_shards_total")?.p50_ms,
      }));
      report.push(...rows);
      console.log(`\n/v1/explore, warm users, ${conns} connection(s), ${rounds} interleaved rounds of ${seconds} s:`);
      for (const row of rows) {
        console.log(`  ${row.side.padEnd(30)} server p50 ${fmt(row.server_p50_ms)} / p99 ${fmt(row.server_p99_ms)} ms, client p50 ${fmt(row.client_p50_ms)} ms, ${fmt(row.rps_median, 0)} req/s, retrieval p50 ${fmt(row.retrieval_p50_ms)} ms${row.slowest_shard_p50_ms === undefined ? "" : `, slowest shard p50 ${fmt(row.slowest_shard_p50_ms)} ms, all shards p50 ${fmt(row.shards_total_p50_ms)} ms of search per request`}`);
      }
      const [first, second] = rows;
      if (first?.rps_median !== undefined && second?.rps_median !== undefined && first.server_p50_ms !== undefined && second.server_p50_ms !== undefined) {
        console.log(`  first / second: req/s ${(first.rps_median / second.rps_median).toFixed(2)}×, server p50 ${(first.server_p50_ms / second.server_p50_ms).toFixed(2)}×`);
      }
    }
    if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    for (const side of sides) {
      await side.dev.stop();
      rmSync(side.persistTo, { recursive: true, force: true });
    }
  }
});

function fmt(value: number | undefined, digits = 1): string {
  return value === undefined ? "—" : value.toFixed(digits);
}
