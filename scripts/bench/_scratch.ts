import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createRanker } from "../../core/funnel/ranker";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { runFeed } from "../../core/funnel/explore";
import { resolveFeedUser } from "../../core/funnel/user";
import { NO_REALTIME_STATE } from "../../core/funnel/types";

const t0 = performance.now();
const bundle = await loadBundleDirectory("bundles/default");
const t1 = performance.now();
const ranker = await createRanker(bundle.manifest, bundle.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const t2 = performance.now();
console.log("load", t1 - t0, "ranker", t2 - t1, ranker.problems);
const a = ranker.assets;
const n = a.users.ids.size;
console.log("users", n, "items", a.items.ids.size);
const totals: Record<string, number[]> = {};
for (let i = 0; i < 400; i++) {
  const row = (i * 7919) % n;
  const id = a.users.ids.id(row);
  const s = performance.now();
  const user = resolveFeedUser(a, id, NO_REALTIME_STATE, a.config);
  const u = performance.now() - s;
  const r = await runFeed(ranker, { user, count: 30, surface: a.config.defaultSurface, nowMs: a.asOfMs, exclude: new Set(), config: a.config });
  if (i < 50) continue;
  (totals.user ??= []).push(u);
  for (const [k, v] of Object.entries(r.timings)) (totals[k] ??= []).push(v);
  for (const [k, v] of Object.entries(r.trace.sources)) (totals["src:" + k] ??= []).push(v.ms);
  (totals.total ??= []).push(performance.now() - s);
}
for (const [k, v] of Object.entries(totals)) { v.sort((x, y) => x - y); console.log(k.padEnd(20), v[Math.floor(v.length / 2)]!.toFixed(3), v[Math.floor(v.length * 0.99)]!.toFixed(3)); }
