// Runs in Node before the workerd tests: builds (or reuses) the fixture bundle, computes what the funnel
// returns for a few users when run in Node, and hands both to the tests running inside workerd.
import type { TestProject } from "vitest/node";
import { createRanker } from "../../core/serving/serving-bundle";
import { runFeed } from "../../core/funnel/explore";
import { NO_REALTIME_STATE } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { createNodeUsearchRuntime } from "../../scripts/ann/usearch-wasm";
import { loadBundleDirectory } from "../../scripts/lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../../scripts/onnx/ort-web-node";
import { fixtureBundleDirectory } from "./fixture-bundle";
import type { FixtureBundle } from "./fixture-types";

export default async function setup(project: TestProject): Promise<void> {
  const { bundle: directory } = await fixtureBundleDirectory();
  const bundle = await loadBundleDirectory(directory);
  const ranker = await createRanker(bundle.manifest, bundle.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  if (ranker.problems.length > 0) throw new Error(`fixture bundle: the ranker is degraded in Node: ${ranker.problems.join("; ")}`);
  const { assets } = ranker;
  // users with the most training history, one with a little, and one the bundle never saw
  const byHistory = Array.from({ length: assets.users.ids.size }, (_, row) => ({ row, events: (assets.histories.offsets[row + 1] as number) - (assets.histories.offsets[row] as number) }))
    .filter((user) => user.events > 0)
    .sort((a, b) => b.events - a.events || a.row - b.row);
  const users = [...byHistory.slice(0, 3), byHistory[Math.floor(byHistory.length / 2)], byHistory[byHistory.length - 1]]
    .filter((user): user is { row: number; events: number } => user !== undefined)
    .map((user) => assets.users.ids.id(user.row));
  users.push("never-seen-user");
  const expectations: FixtureBundle["expectations"] = [];
  for (const id of users) {
    const config = assets.config;
    const result = await runFeed(ranker, { user: resolveFeedUser(assets, id, NO_REALTIME_STATE, config), count: 20, surface: config.defaultSurface, nowMs: assets.asOfMs, exclude: new Set(), config });
    expectations.push({ userId: id, items: result.candidates.map((candidate) => assets.items.ids.id(candidate.item)), scores: result.candidates.map((candidate) => candidate.score) });
  }
  const fixture: FixtureBundle = {
    manifest: bundle.manifest,
    files: Object.fromEntries([...bundle.files].map(([path, bytes]) => [path, Buffer.from(bytes).toString("base64")])),
    asOfMs: assets.asOfMs,
    expectations,
  };
  project.provide("fixtureBundle", fixture);
}
