// Runs in Node before the workerd tests: builds (or reuses) the fixture bundle, computes what the funnel
// returns for a few users when run in Node, and hands both to the tests running inside workerd.
import type { TestProject } from "vitest/node";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { runFeed } from "../../core/funnel/explore";
import { NO_REALTIME_STATE } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { createNodeUsearchRuntime } from "../../scripts/ann/usearch-wasm";
import { loadBundleDirectory } from "../../scripts/lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../../scripts/onnx/ort-web-node";
import { fixtureBundleDirectory } from "./fixture-bundle";
import { buildItemShardFiles } from "../../scripts/pipeline/item-shards";
import type { FixtureBundle } from "./fixture-types";

export default async function setup(project: TestProject): Promise<void> {
  const { bundle: directory } = await fixtureBundleDirectory();
  const bundleFiles = await loadBundleDirectory(directory);
  const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  if (bundle.problems.length > 0) throw new Error(`fixture bundle: degraded in Node: ${bundle.problems.join("; ")}`);
  const { tables } = bundle;
  // users with the most training history, one with a little, and one the bundle never saw
  const byHistory = Array.from({ length: tables.users.ids.size }, (_, row) => ({ row, events: (tables.histories.offsets[row + 1] as number) - (tables.histories.offsets[row] as number) }))
    .filter((user) => user.events > 0)
    .sort((a, b) => b.events - a.events || a.row - b.row);
  const users = [...byHistory.slice(0, 3), byHistory[Math.floor(byHistory.length / 2)], byHistory[byHistory.length - 1]]
    .filter((user): user is { row: number; events: number } => user !== undefined)
    .map((user) => tables.users.ids.id(user.row));
  users.push("never-seen-user");
  const expectations: FixtureBundle["expectations"] = [];
  for (const id of users) {
    const config = tables.config;
    const result = await runFeed(bundle, { user: resolveFeedUser(tables, id, NO_REALTIME_STATE, config), count: 20, surface: config.defaultSurface, nowMs: tables.asOfMs, exclude: new Set(), config });
    expectations.push({ userId: id, items: result.candidates.map((candidate) => tables.items.ids.id(candidate.item)), scores: result.candidates.map((candidate) => candidate.score) });
  }
  const fixture: FixtureBundle = {
    manifest: bundleFiles.manifest,
    files: Object.fromEntries([...bundleFiles.files].map(([path, bytes]) => [path, Buffer.from(bytes).toString("base64")])),
    asOfMs: tables.asOfMs,
    expectations,
  };
  project.provide("fixtureBundle", fixture);
  // the same bundle's index split into three item shards, for the tests of the sharded two-tower source
  const shards = buildItemShardFiles(tables.retrievalItemEmbeddings, tables.manifest.models.retrieval.dim, 3);
  project.provide("fixtureItemShards", { section: shards.section, files: Object.fromEntries([...shards.files].map(([path, bytes]) => [path, Buffer.from(bytes).toString("base64")])) });
}
