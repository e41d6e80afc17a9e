/**
 * What a Suggested Posts request costs in Node, on a bundle (default: bundles/default):
 *
 *   npx tsx scripts/bench/suggested-in-process.ts [--bundle <dir>] [--users 300]
 *
 * 1. account_nn's brute-force scan per seed right after the models load, then warm (the reason for the cold-start
 *    budget grace); 2. per-request timings (median, p90) over a spread of users with history plus two cold users,
 *    with the bundle's config and the executor budget raised so that nothing is skipped.
 */
import { parseArgs } from "node:util";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { NO_REALTIME_STATE } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { GraphIndex } from "../../core/serving/graph-index";
import { suggestPosts } from "../../core/suggested";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

const { values } = parseArgs({ options: { bundle: { type: "string", default: "bundles/default" }, users: { type: "string", default: "300" } }, strict: true });
const bundleFiles = await loadBundleDirectory(values.bundle);
const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const { tables } = bundle;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] ?? NaN;

const index = GraphIndex.of(bundle.tables, bundle.index);
const vectors = index.accountVectors;
if (vectors) {
  const perSeed: number[] = [];
  for (let i = 0; i < 40; i++) {
    const started = performance.now();
    index.accountNeighbours(vectors.embedded[(i * 97) % vectors.embedded.length] as number, 11);
    perSeed.push(performance.now() - started);
  }
  console.log(`account_nn per uncached seed (${vectors.embedded.length} accounts × ${vectors.dim}): first 5 after loading ${perSeed.slice(0, 5).map((ms) => ms.toFixed(1)).join(", ")} ms; last 20 median ${median(perSeed.slice(20)).toFixed(2)} ms`);
}

const config = { ...tables.config, suggested: { ...tables.config.suggested, cpuBudgetMs: 10_000 } };
const withHistory = Array.from({ length: tables.users.ids.size }, (_, row) => row).filter((row) => (tables.histories.offsets[row + 1] as number) > (tables.histories.offsets[row] as number));
const wanted = Number(values.users);
const stride = Math.max(1, Math.floor(withHistory.length / wanted));
const users: string[] = [...withHistory.filter((_, i) => i % stride === 0).slice(0, wanted).map((row) => tables.users.ids.id(row)), "bench-cold-1", "bench-cold-2"];
const timings: Record<string, number[]> = {};
let first = NaN;
for (const id of users) {
  const user = resolveFeedUser(tables, id, NO_REALTIME_STATE, config);
  const started = performance.now();
  const feed = await suggestPosts(bundle, { user, count: 20, exclude: new Set(), nowMs: tables.asOfMs, config });
  const total = performance.now() - started;
  if (Number.isNaN(first)) first = total;
  (timings.total ??= []).push(total);
  for (const [name, ms] of Object.entries(feed.timings)) (timings[name] ??= []).push(ms);
}
console.log(`${users.length} requests (count 20) on bundle ${tables.version}; the first took ${first.toFixed(1)} ms`);
for (const [name, list] of Object.entries(timings)) console.log(`  ${name.padEnd(11)} median ${median(list).toFixed(2)} ms  p90 ${p90(list).toFixed(2)} ms  (${list.length} requests)`);
