// The control for the load section's memory figures (issue 17): does workerd's resident memory under `wrangler dev`
// grow with the requests it serves whatever Worker answers them? It runs a Worker of a dozen lines that reads each
// body and answers a fixed 4 KiB JSON (no bundle, no models, no Durable Objects, no KV) under the same `wrangler dev`
// as the load section, with an inspector session reading the isolate's heap (every 5 s here, every second there), and
// sends it POSTs at a fixed rate through the dev proxy (autocannon, 8 connections) for a fixed time. It prints each
// minute's mean resident memory per workerd process and the least-squares slope over the minutes after the warm-up,
// fitted as the load section fits the Worker's.
//
//   npx tsx scripts/reliability/memory-control.ts [--minutes 25] [--warmup-minutes 15] [--rate 140]
//
// The default rate is about the load section's (8,000–9,000 requests a minute).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { connectIsolateHeap } from "../bench/isolate-heap";
import { startDevServer } from "../bench/wrangler";
import { fitLine } from "../lib/fit-line";
import { workerdProcesses } from "./resident-memory";

const WORKER = `export default {
  async fetch(request) {
    const body = await request.text();
    const items = Array.from({ length: 60 }, (_, i) => ({ item_id: "v" + i, score: 1 / (i + 1), sources: ["two_tower"] }));
    return Response.json({ model_version: "control", request_bytes: body.length, items });
  },
};
`;

const { values } = parseArgs({ options: { minutes: { type: "string", default: "25" }, "warmup-minutes": { type: "string", default: "15" }, rate: { type: "string", default: "140" } }, strict: true });
const minutes = Number(values.minutes);
const warmupMinutes = Number(values["warmup-minutes"]);
const rate = Number(values.rate);
if (!(Number.isInteger(minutes) && minutes >= 2 && Number.isInteger(warmupMinutes) && warmupMinutes >= 0 && warmupMinutes <= minutes - 2 && rate > 0)) {
  console.error("usage: memory-control.ts [--minutes N ≥ 2] [--warmup-minutes W ≤ N − 2] [--rate requests/s > 0]");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "memory-control-"));
writeFileSync(join(work, "worker.js"), WORKER);
writeFileSync(join(work, "wrangler.toml"), `name = "memory-control"\nmain = "worker.js"\ncompatibility_date = "2026-04-01"\n`);
const dev = await startDevServer(join(work, "state"), 120_000, [], work);
try {
  const roles = new Map<number, string>();
  const publicPort = new URL(dev.url).port;
  const heap = dev.inspectorPort === undefined ? undefined : await connectIsolateHeap(dev.inspectorPort);
  const samples: Array<{ at: number; rss: Map<number, number>; heapUsed?: number }> = [];
  const t0 = performance.now();
  const durationMs = minutes * 60_000;
  let stop = false;
  const monitor = (async () => {
    while (!stop) {
      const usage = await heap?.usage().catch(() => undefined);
      samples.push({ at: performance.now() - t0, rss: workerdProcesses(dev.pid, publicPort, roles), ...(usage ? { heapUsed: usage.usedBytes } : {}) });
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  })();
  const body = JSON.stringify({ user_id: "u1", count: 30 });
  const result = await autocannon({ url: `${dev.url}/v1/explore`, method: "POST", headers: { "content-type": "application/json" }, body, connections: 8, overallRate: rate, duration: durationMs / 1000 });
  stop = true;
  await monitor;
  heap?.close();
  const mib = (bytes: number) => bytes / 2 ** 20;
  console.log(`${result.requests.total.toLocaleString("en-US")} requests in ${(result.duration).toFixed(0)} s (${result.non2xx} not 2xx, ${result.errors} errors, ${result.timeouts} timeouts), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
  const pids = [...roles.keys()];
  const perMinute = Array.from({ length: minutes }, (_, m) => {
    const inMinute = samples.filter((sample) => sample.at > m * 60_000 && sample.at <= (m + 1) * 60_000);
    const mean = (pid: number) => mib(inMinute.reduce((total, sample) => total + (sample.rss.get(pid) ?? 0), 0) / Math.max(1, inMinute.length));
    const heapFloor = Math.min(...inMinute.flatMap((sample) => (sample.heapUsed === undefined ? [] : [mib(sample.heapUsed)])));
    return { minute: m + 1, perPid: new Map(pids.map((pid) => [pid, mean(pid)])), heapFloor };
  });
  console.log(`\n| minute | ${pids.map((pid) => `${roles.get(pid)} (pid ${pid}) MiB`).join(" | ")} | JS heap floor MiB |`);
  console.log(`|---:|${pids.map(() => "---:").join("|")}|---:|`);
  for (const row of perMinute) console.log(`| ${row.minute}${row.minute <= warmupMinutes ? " (warm-up)" : ""} | ${pids.map((pid) => (row.perPid.get(pid) as number).toFixed(0)).join(" | ")} | ${row.heapFloor.toFixed(0)} |`);
  const fitFrom = Math.max(1, warmupMinutes);
  console.log("");
  for (const pid of pids) {
    const measured = fitLine(perMinute.slice(fitFrom).map((row) => [row.minute - 0.5, row.perPid.get(pid) as number] as const));
    const whole = fitLine(perMinute.slice(1).map((row) => [row.minute - 0.5, row.perPid.get(pid) as number] as const));
    console.log(`${roles.get(pid)} (pid ${pid}): ${(perMinute[0]?.perPid.get(pid) ?? Number.NaN).toFixed(0)} → ${(perMinute[minutes - 1]?.perPid.get(pid) ?? Number.NaN).toFixed(0)} MiB; slope over minutes ${fitFrom + 1}–${minutes} ${measured.slope.toFixed(2)} ± ${measured.standardError.toFixed(2)} MiB/min, over minutes 2–${minutes} ${whole.slope.toFixed(2)} MiB/min`);
  }
} finally {
  await dev.stop();
  rmSync(work, { recursive: true, force: true });
}
