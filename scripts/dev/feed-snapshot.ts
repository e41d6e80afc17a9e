/**
 * Development measurement: every source's list, the Explore feed and the Suggested Posts page of a seeded sample of
 * users, as the code of this checkout serves them from a bundle (state at the end of its window), with the
 * executor's clock frozen so no query budget can cut a list short on a busy machine. Two snapshots of one
 * bundle, taken before and after a refactoring, say which feeds it changed; `--golden` writes the compact form
 * test/node/quality/feeds-before-one-pipeline.json.gz holds (full lists for history and graph, hashes for the rest).
 *   npx tsx scripts/dev/feed-snapshot.ts --bundle <dir> --out <file.json> [--users 300] [--seed 1] [--no-tail] [--golden]
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { EXPLORE_STAGES, runFeed } from "../../core/funnel/explore";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { NO_REALTIME_STATE, type Candidate } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { suggestPosts } from "../../core/suggested/suggest";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
import { listHash, snapshotUsers } from "../../test/support/feed-snapshot";
import type { Stage } from "../../core/funnel/feed-state";

const { values } = parseArgs({ options: { bundle: { type: "string" }, out: { type: "string" }, users: { type: "string", default: "300" }, seed: { type: "string", default: "1" }, "no-tail": { type: "boolean", default: false }, golden: { type: "boolean", default: false } } });
const bundleFiles = await loadBundleDirectory(values.bundle as string);
const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const config = values["no-tail"] ? { ...bundle.tables.config, exploration: { ...bundle.tables.config.exploration, from: 1000 } } : bundle.tables.config;
const frozen = () => 0;

const users = [];
for (const row of snapshotUsers(bundle.tables.users.ids.size, Number(values.users), Number(values.seed))) {
  const id = bundle.tables.users.ids.id(row);
  const user = resolveFeedUser(bundle.tables, id, NO_REALTIME_STATE, config);
  let retrieved: Candidate[] = [];
  const stages: Stage[] = EXPLORE_STAGES.map((stage) => stage.name !== "retrieval" ? stage : { name: stage.name, run: async (s, c) => (retrieved = await stage.run(s, c)) });
  const feed = await runFeed(bundle, { user, count: 50, surface: config.defaultSurface, nowMs: bundle.tables.asOfMs, exclude: new Set<number>(), config, clock: frozen }, stages);
  const sources: Record<string, number[]> = {};
  for (const candidate of retrieved) for (const hit of candidate.sources) (sources[hit.source] ??= []).push(hit.rank * 1e6 + candidate.item);
  for (const name of Object.keys(sources)) sources[name] = (sources[name] as number[]).sort((a, b) => a - b).map((key) => key % 1e6);
  const suggested = await suggestPosts(bundle, { user, count: 20, exclude: new Set(), nowMs: bundle.tables.asOfMs, config, clock: frozen });
  const explore = feed.candidates.map((c) => c.item);
  const page = suggested.items.map((s) => s.item);
  users.push(
    values.golden
      ? { id, sources: Object.fromEntries(Object.entries(sources).map(([name, list]) => [name, name === "history" || name === "graph" ? list : listHash(list)])), explore, suggested: page }
      : { id, cold: user.cold, sources, explore, suggested: page },
  );
}
const json = JSON.stringify({ bundle: bundle.tables.manifest.version, noTail: values["no-tail"], users });
await writeFile(values.out as string, values.golden ? gzipSync(json) : json);
console.log(`${users.length} users from bundle ${bundle.tables.manifest.version} → ${values.out}`);
