// Whole Explore feeds of this checkout and another (a worktree of an earlier commit), each on its own copy of one
// bundle, for the same users: how many users get a different feed, and how far apart the scores are. For changes
// meant to keep feeds as they are (a refactor, a faster loop), run on several windows' bundles.
//
//   npx tsx scripts/dev/feeds-across-checkouts.ts --other <worktree> --bundle <dir> [--users 300]
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { warmUserIds } from "../bench/stages";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

type Module = Record<string, unknown>;
type Tables = { config: { defaultSurface: number }; asOfMs: number };
type Feed = { candidates: readonly { item: number; score?: number; value?: number }[] };
const load = (root: string, path: string): Promise<Module> => import(pathToFileURL(join(root, path)).href) as Promise<Module>;

/** The checkout's own feed function over its own copy of the bundle (before the rename it was `createRanker`/`assets`). */
async function feedsOf(root: string, bundleDir: string, users: readonly string[]): Promise<Feed[]> {
  const [explore, types, user] = await Promise.all([load(root, "core/funnel/explore.ts"), load(root, "core/funnel/types.ts"), load(root, "core/funnel/user.ts")]);
  const renamed = existsSync(join(root, "core/serving/serving-bundle.ts"));
  const open = renamed ? (await load(root, "core/serving/serving-bundle.ts")).openServingBundle : (await load(root, "core/funnel/ranker.ts")).createRanker;
  const files = await loadBundleDirectory(bundleDir);
  const built = await (open as (...args: unknown[]) => Promise<{ tables?: Tables; assets?: Tables }>)(files.manifest, files.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  const tables = (built.tables ?? built.assets) as Tables;
  const resolveUser = user.resolveFeedUser as (...args: unknown[]) => unknown;
  const runFeed = explore.runFeed as (...args: unknown[]) => Promise<Feed>;
  const feeds: Feed[] = [];
  for (const id of users) {
    const request = { user: resolveUser(tables, id, types.NO_REALTIME_STATE, tables.config), count: 30, surface: tables.config.defaultSurface, nowMs: tables.asOfMs, exclude: new Set<number>(), config: tables.config };
    feeds.push(await runFeed(built, request));
  }
  return feeds;
}

const { values } = parseArgs({ options: { other: { type: "string" }, bundle: { type: "string" }, users: { type: "string", default: "300" } } });
if (!values.other || !values.bundle) throw new Error("usage: --other <worktree> --bundle <dir> [--users N]");
const { openServingBundle } = await import("../../core/serving/serving-bundle");
const probe = await loadBundleDirectory(values.bundle);
const probeBundle = await openServingBundle(probe.manifest, probe.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const users = warmUserIds(probeBundle, probeBundle.tables.config, Number(values.users));
const mine = await feedsOf(resolve(import.meta.dirname, "../.."), values.bundle, users);
const theirs = await feedsOf(resolve(values.other), values.bundle, users);
let differentLists = 0;
let maxScoreGap = 0;
mine.forEach((feed, u) => {
  const other = theirs[u] as Feed;
  if (feed.candidates.map((c) => c.item).join() !== other.candidates.map((c) => c.item).join()) differentLists++;
  feed.candidates.forEach((c, i) => {
    const o = other.candidates[i];
    if (o && o.item === c.item) maxScoreGap = Math.max(maxScoreGap, Math.abs((c.value ?? c.score ?? 0) - (o.value ?? o.score ?? 0)));
  });
});
console.log(`${values.bundle}: ${users.length} warm users, ${differentLists} with a different top-30; largest score gap at the same position ${maxScoreGap.toExponential(2)}`);
process.exit(0);
