/**
 * Development measurement: every source's list, the Explore feed and the Suggested Posts page of a seeded sample of
 * users, as the code of this checkout serves them from a bundle (state at the end of its window). Two snapshots of
 * one bundle, taken before and after a refactoring, say which feeds it changed.
 *   npx tsx scripts/dev/feed-snapshot.ts --bundle <dir> --out <file.json> [--users 300] [--seed 1]
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { EXPLORE_STAGES, runFeed } from "../../core/funnel/explore";
import { createRanker } from "../../core/funnel/ranker";
import { NO_REALTIME_STATE, type Candidate, type Stage } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { suggestPosts } from "../../core/suggested/suggest";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

const { values } = parseArgs({ options: { bundle: { type: "string" }, out: { type: "string" }, users: { type: "string", default: "300" }, seed: { type: "string", default: "1" } } });
const bundle = await loadBundleDirectory(values.bundle as string);
const ranker = await createRanker(bundle.manifest, bundle.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const config = ranker.assets.config;
const userCount = ranker.assets.users.ids.size;
let state = Number(values.seed) >>> 0 || 1;
const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const rows = new Set<number>();
while (rows.size < Math.min(Number(values.users), userCount)) rows.add(Math.floor(next() * userCount));

const users = [];
for (const row of [...rows].sort((a, b) => a - b)) {
  const id = ranker.assets.users.ids.id(row);
  const user = resolveFeedUser(ranker.assets, id, NO_REALTIME_STATE, config);
  let retrieved: Candidate[] = [];
  const stages: Stage[] = EXPLORE_STAGES.map((stage) => stage.name !== "retrieval" ? stage : { name: stage.name, run: async (s, c) => (retrieved = await stage.run(s, c)) });
  const request = { user, count: 50, surface: config.defaultSurface, nowMs: ranker.assets.asOfMs, exclude: new Set<number>(), config };
  const feed = await runFeed(ranker, request, stages);
  const sources: Record<string, number[]> = {};
  for (const candidate of retrieved) for (const hit of candidate.sources) (sources[hit.source] ??= []).push(hit.rank * 1e6 + candidate.item);
  for (const name of Object.keys(sources)) sources[name] = (sources[name] as number[]).sort((a, b) => a - b).map((key) => key % 1e6).slice(0, 100);
  const suggested = await suggestPosts(ranker, { user, realtimeEngagements: [], count: 20, exclude: new Set(), nowMs: ranker.assets.asOfMs, config });
  users.push({ id, cold: user.cold, sources, explore: feed.candidates.map((c) => c.item), suggested: suggested.items.map((s) => s.item) });
}
await writeFile(values.out as string, JSON.stringify({ bundle: ranker.assets.manifest.version, users }));
console.log(`${users.length} users from bundle ${ranker.assets.manifest.version} → ${values.out}`);
