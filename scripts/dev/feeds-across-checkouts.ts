// Whole Explore feeds of this checkout and another (a worktree of an earlier commit), each on its own copy of one
// bundle, for the same users: how many users get a different feed, and how far apart the scores are. For changes
// meant to keep feeds as they are (a refactor, a faster loop), run on several windows' bundles.
//
//   npx tsx scripts/dev/feeds-across-checkouts.ts --other <worktree> --bundle <dir> [--users 300]
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { openCheckout } from "../bench/checkout";
import { warmUserIds } from "../bench/stages";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

type Feed = { candidates: readonly { item: number; score?: number; value?: number }[] };

async function feedsOf(root: string, bundleDir: string, users: readonly string[]): Promise<Feed[]> {
  const opened = await openCheckout(root, bundleDir);
  const runFeed = opened.explore.runFeed as (...args: unknown[]) => Promise<Feed>;
  const feeds: Feed[] = [];
  for (const id of users) feeds.push(await runFeed(opened.bundle, opened.request(id, 30)));
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
