// What counters that move with time cost (core/features/live-counters.ts, worker/feeds/live-counters.ts). A request
// within the bundle's own day reads nothing; a later one reuses its isolate's counters until the day changes or a row
// before that day changes, and pays then, once per isolate: the trending object counts the rows since the bundle
// (`countImpressionRows`), the isolate advances the bundle's counters and adds them (`advanceCounters`) and makes the
// tables view (`withCounters`). Times each on a real bundle, with the training window's last `--days` days of events
// replayed as if /v1/events had received them after the bundle.
//
//   npx tsx scripts/dev/live-counters-time.ts --bundle <dir> [--days 3] [--runs 15]
import { parseArgs } from "node:util";
import { advanceCounters, countImpressionRows, counterSnapshotTime, type ImpressionRowCounts } from "../../core/features/live-counters";
import { BundleTables } from "../../core/serving/bundle-tables";
import { readBundleDirectory } from "../lib/kv-bundle-directory";

const DAY_MS = 86_400_000;
const { values } = parseArgs({ options: { bundle: { type: "string" }, days: { type: "string", default: "3" }, runs: { type: "string", default: "15" } } });
if (!values.bundle) throw new Error("--bundle <dir> is required");
const { manifest, files } = await readBundleDirectory(values.bundle);
const tables = BundleTables.decode(manifest, files);
const days = Number(values.days);
const asOfMs = tables.itemCounters.asOfMs;

// the window's last days, shifted past the bundle's snapshot: real items, real label mix, real volume per day
const rows: ImpressionRowCounts[] = [];
const { histories } = tables;
for (let e = 0; e < histories.item.length; e++) {
  const ts = histories.ts[e] as number;
  if (ts >= asOfMs - days * DAY_MS) rows.push({ itemId: tables.items.ids.id(histories.item[e] as number), ts: ts + days * DAY_MS, labels: histories.labels[e] as number });
}
const requestMs = asOfMs + days * DAY_MS + 3_600_000;
const counterDay = counterSnapshotTime(asOfMs, tables.spec.timezoneOffsetMinutes, requestMs);
const sources = { itemCounters: tables.itemCounters, authorCounters: tables.authorCounters, itemIds: tables.items.ids, authorOfItem: tables.items.author };

const time = (run: () => unknown) => {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    run();
    const used = process.cpuUsage(cpuStarted);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[list.length >> 1] as number;
  return `median wall ${median(wall).toFixed(2)} ms, cpu ${median(cpu).toFixed(2)} ms (first ${(wall[0] as number).toFixed(2)} ms)`;
};

const realtime = countImpressionRows(rows, tables.spec.halfLifeMs, counterDay);
console.log(`bundle ${tables.version}: ${tables.itemCounters.size} items, ${tables.authorCounters.size} authors; ${rows.length} real-time rows on ${realtime.itemIds.length} items over ${days} days`);
console.log(`per request, cached: counterSnapshotTime ${time(() => { for (let i = 0; i < 10_000; i++) counterSnapshotTime(asOfMs, tables.spec.timezoneOffsetMinutes, requestMs + i); })} for 10,000 calls`);
console.log(`trending object, per (day, change): countImpressionRows ${time(() => countImpressionRows(rows, tables.spec.halfLifeMs, counterDay))}`);
console.log(`isolate, per (day, change): advanceCounters ${time(() => advanceCounters(sources, counterDay, realtime))}`);
const advanced = advanceCounters(sources, counterDay, realtime);
console.log(`isolate, per (day, change): withCounters ${time(() => tables.withCounters(advanced.items, advanced.authors))}`);
console.log(`answer size: ${realtime.itemIds.length} ids and ${(realtime.impressions.byteLength + realtime.positives.byteLength + realtime.decayedImpressions.byteLength + realtime.decayedClicks.byteLength) / 1024} KiB of counts`);
