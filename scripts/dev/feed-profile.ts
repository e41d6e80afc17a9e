// How much time and garbage one Explore feed costs in-process, on the default bundle and the Worker's runtimes:
// per-stage p50 over the warm users of `npm run bench` (several rounds, so the first round's JIT warm-up shows),
// then the bytes allocated per feed, sampled by V8's heap profiler including what the young generation collected,
// by allocating function (builtins named with their caller).
//
//   npx tsx scripts/dev/feed-profile.ts [--bundle bundles/default] [--users 300] [--rounds 4] [--top 15]
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { runFeed } from "../../core/funnel/explore";
import { NO_REALTIME_STATE, type FeedRequest } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { loadServingBundle } from "../bench/bundle";
import { warmUserIds } from "../bench/stages";

const { values } = parseArgs({ options: { bundle: { type: "string", default: "bundles/default" }, users: { type: "string", default: "300" }, rounds: { type: "string", default: "4" }, top: { type: "string", default: "15" } } });
const { bundle } = await loadServingBundle(values.bundle);
const config = bundle.tables.config;
const requests: FeedRequest[] = warmUserIds(bundle, config, Number(values.users)).map((id) => ({
  user: resolveFeedUser(bundle.tables, id, NO_REALTIME_STATE, config),
  count: 30,
  surface: config.defaultSurface,
  nowMs: bundle.tables.asOfMs,
  exclude: new Set<number>(),
  config,
}));
const median = (list: number[]) => [...list].sort((a, b) => a - b)[list.length >> 1] ?? Number.NaN;

for (let round = 0; round < Number(values.rounds); round++) {
  const totals: number[] = [];
  const stages: Record<string, number[]> = {};
  for (const request of requests) {
    const started = performance.now();
    const result = await runFeed(bundle, request);
    totals.push(performance.now() - started);
    for (const [stage, ms] of Object.entries(result.timings)) (stages[stage] ??= []).push(ms);
  }
  console.log(`round ${round}: feed p50 ${median(totals).toFixed(3)} ms | ${Object.entries(stages).map(([stage, list]) => `${stage} ${median(list).toFixed(3)}`).join(" | ")}`);
}

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}
const session = new Session();
session.connect();
await session.post("HeapProfiler.startSampling", { samplingInterval: 512, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
for (const request of requests) await runFeed(bundle, request);
const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: ProfileNode } };
session.disconnect();
const bytesBySite = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode, caller: string) => {
  const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").slice(-2).join("/")}`.trim();
  const site = node.callFrame.url ? name : `${name} <- ${caller}`;
  total += node.selfSize;
  bytesBySite.set(site, (bytesBySite.get(site) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child, name);
};
walk(profile.head, "");
const kb = (bytes: number) => (bytes / 1024 / requests.length).toFixed(1).padStart(7);
console.log(`allocated per feed: ${kb(total).trim()} KB (sampled over ${requests.length} feeds)`);
for (const [site, bytes] of [...bytesBySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${kb(bytes)} KB  ${site}`);
