/**
 * Retrieval in-process, two checkouts side by side in one process, interleaved: this one and another (e.g. a
 * worktree of the commit before a change), each on its own copy of a bundle (each checkout decodes the serving
 * config its own way; the models must be the same). Each call is `runFeed` with the retrieval stage alone for one
 * warm user: the request context (with the user's retrieval embedding) plus every source and the merge.
 *   npm run bench:checkouts -- --other <checkout> --other-bundle <dir> --bundle <dir> [--rounds 30] [--block 20] [--users 200]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
import { loadFrom, openCheckout } from "./checkout";
import { interleaved, percentiles } from "./measure";

interface Checkout {
  readonly name: string;
  /** One user's retrieval, by index into the shared user list. */
  run(i: number): Promise<unknown>;
}

/** The checkout's own code on its own bundle copy; the stage is `retrievalStage` (a stage, or a factory over EXPLORE_SOURCES before the change). */
async function checkout(name: string, root: string, bundleDir: string, users: readonly string[]): Promise<Checkout> {
  const opened = await openCheckout(root, bundleDir);
  let stage = (await loadFrom(root, "core/funnel/stages/retrieval.ts")).retrievalStage;
  if (typeof stage === "function") stage = (stage as (sources: unknown) => unknown)((await loadFrom(root, "core/funnel/sources/index.ts")).EXPLORE_SOURCES);
  const runFeed = opened.explore.runFeed as (...args: unknown[]) => Promise<unknown>;
  const requests = users.map((id) => opened.request(id, 100));
  return { name, run: (i) => runFeed(opened.bundle, requests[i % requests.length], [stage]) };
}

const { values } = parseArgs({ options: { other: { type: "string" }, "other-bundle": { type: "string" }, bundle: { type: "string" }, rounds: { type: "string", default: "30" }, block: { type: "string", default: "20" }, users: { type: "string", default: "200" } } });
const userList = (await import("./stages")).warmUserIds;
const here = resolve(import.meta.dirname, "../..");
const { openServingBundle } = await import("../../core/serving/serving-bundle");
const probe = await loadBundleDirectory(values.bundle as string);
const probeBundle = await openServingBundle(probe.manifest, probe.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const users = userList(probeBundle, probeBundle.tables.config, Number(values.users));
const contenders = [await checkout("this", here, values.bundle as string, users), await checkout("other", resolve(values.other as string), values["other-bundle"] as string, users)];
const samples = await interleaved(contenders, { rounds: Number(values.rounds), block: Number(values.block), warmup: Number(values.block) });
for (const [name, list] of samples) {
  const p = percentiles(list);
  console.log(`${name.padEnd(6)} retrieval in-process: p50 ${p.p50_ms.toFixed(3)} ms, p99 ${p.p99_ms.toFixed(3)} ms (${list.length} calls)`);
}
const ratio = percentiles(samples.get("this") as number[]).p50_ms / percentiles(samples.get("other") as number[]).p50_ms;
console.log(`this / other p50: ${ratio.toFixed(3)}`);
