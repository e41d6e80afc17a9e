/**
 * npm run bench:cold -- --bundle <dir> [--starts N] [--json <file>]
 *
 * The cold start alone, step by step: the bundle is published to a fresh local KV, then `wrangler dev` is started
 * N times and each fresh isolate answers one /v1/explore (bundle load included). Prints each start and the median of
 * every step the Worker reports (/health: the KV read, decoding the tables, deriving the indexes, each model). The
 * same measurement is part of `npm run bench`; this runs it alone, for work on the cold start.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BundleTables } from "../../core/serving/bundle-tables";
import { UsageError, runCli } from "../lib/cli";
import { publishDirectory } from "../lib/kv-publish";
import { loadBundleWithRetry } from "./bundle";
import { coldStartSteps, coldStarts } from "./http";
import { log, percentiles } from "./measure";
import { REPO_ROOT } from "./wrangler";

const USAGE = "usage: npm run bench:cold -- [--bundle <dir>] [--starts N] [--json <file>]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: { bundle: { type: "string", default: "bundles/default" }, starts: { type: "string", default: "5" }, json: { type: "string" } },
    strict: true,
  });
  const starts = Number(values.starts);
  if (!Number.isSafeInteger(starts) || starts < 1 || starts > 50) throw new UsageError("--starts must be an integer in 1..50");
  const directory = resolve(values.bundle);
  const files = await loadBundleWithRetry(directory);
  const tables = BundleTables.decode(files.manifest, files.files);
  // a user with a training history, so the first answer runs every stage
  const { offsets } = tables.histories;
  let row = 0;
  while (row < tables.users.ids.size && (offsets[row + 1] as number) === (offsets[row] as number)) row++;
  if (row === tables.users.ids.size) throw new UsageError(`${directory}: the bundle knows no user with a history`);
  const user = tables.users.ids.id(row);
  const persistTo = mkdtempSync(join(tmpdir(), "bench-cold-"));
  try {
    const report = await publishDirectory(directory, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
    log(`published ${report.version} to a fresh local KV`);
    const cold = await coldStarts(persistTo, user, starts, 20);
    await cold.server0?.stop();
    const steps = coldStartSteps({ bundle_kv_load_ms: cold.kvLoad, open_ms: cold.open });
    const result = { version: report.version, samples_ms: cold.samples, p50_ms: percentiles(cold.samples).p50_ms, server_total_ms: cold.server, steps_p50_ms: Object.fromEntries(steps) };
    console.log(`cold start (fresh wrangler dev → first /v1/explore answer): ${cold.samples.map((ms) => ms.toFixed(0)).join(", ")} ms, p50 ${result.p50_ms.toFixed(0)} ms`);
    console.log(`the first answer's server time (Server-Timing total): ${cold.server.map((ms) => ms.toFixed(0)).join(", ")} ms`);
    const metrics = coldStartSteps({ bundle_kv_load_ms: [], open_ms: cold.firstTimings }).slice(1);
    console.log(`the first answer's Server-Timing (median): ${metrics.map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(", ")}`);
    console.log(`steps in the Worker (median over ${starts}): ${steps.map(([step, ms]) => `${step} ${ms.toFixed(0)} ms`).join(", ")}`);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
});
