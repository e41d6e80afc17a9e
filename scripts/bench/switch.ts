// Memory across bundle switches, end to end: `wrangler dev` (workerd) serving the fixture bundle, then 20 switches of
// `bundle/active` to fresh copies of it, each served and exercised before the workerd process's resident memory is
// read from /proc. A switch must release the replaced version's ONNX sessions and ANN index (wasm memory is never
// garbage collected), so after a warm-up the resident memory stays within 10%; the script exits 1 when it grows more.
//
//   npm run bench:switch [-- --switches 20 --warmup 5 --max-growth 0.10]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ACTIVE_KEY } from "../../core/bundle/kv-layout";
import { publishBundle } from "../../core/bundle/store";
import { fixtureBundleDirectory } from "../../test/support/fixture-bundle";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { openLocalKv } from "../lib/kv-local";
import { REPO_ROOT, startDevServer, workerdResidentBytes } from "./wrangler";

const { values } = parseArgs({
  options: {
    switches: { type: "string", default: "20" },
    warmup: { type: "string", default: "5" },
    "max-growth": { type: "string", default: "0.10" },
    "requests-per-version": { type: "string", default: "10" },
  },
});
const switches = Number(values.switches);
const warmup = Number(values.warmup);
const maxGrowth = Number(values["max-growth"]);
const requestsPerVersion = Number(values["requests-per-version"]);
if (!(switches > warmup && warmup >= 0)) throw new Error("--switches must exceed --warmup");

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function explore(url: string, userId: string): Promise<{ version: string; degraded: boolean }> {
  const response = await fetch(`${url}/v1/explore`, { method: "POST", body: JSON.stringify({ user_id: userId, count: 20 }) });
  if (response.status !== 200) throw new Error(`/v1/explore answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { model_version: string | null; degraded: boolean };
  return { version: body.model_version ?? "(none)", degraded: body.degraded };
}

async function main(): Promise<void> {
  const { bundle: directory } = await fixtureBundleDirectory();
  const bundle = await loadBundleDirectory(directory);
  const persistTo = mkdtempSync(join(tmpdir(), "bench-switch-kv-"));
  const local = await openLocalKv({ configPath: join(REPO_ROOT, "wrangler.toml"), persistTo, binding: "BUNDLES" });
  const versions = Array.from({ length: switches + 1 }, (_, i) => `${bundle.version}-switch-${i}`);
  try {
    for (const [i, version] of versions.entries()) {
      await publishBundle(local.kv, { ...(bundle.manifest as Record<string, unknown>), version }, bundle.files, { activate: i === 0 });
    }
    console.error(`published ${versions.length} copies of the fixture bundle (${bundle.files.size} files each)`);
    // refresh 0: every request re-reads bundle/active, so a switch is seen at once
    const dev = await startDevServer(persistTo, 90_000, ["--var", "BUNDLE_REFRESH_SECONDS:0"]);
    const userId = "bench-switch-user";
    const rows: { switch: number; version: string; bytes: number; loadMs: number }[] = [];
    try {
      for (const [i, version] of versions.entries()) {
        if (i > 0) await local.kv.put(ACTIVE_KEY, version);
        const started = performance.now();
        for (;;) {
          const answer = await explore(dev.url, userId);
          if (answer.version === version && !answer.degraded) break;
          if (performance.now() - started > 60_000) throw new Error(`version ${version} not served within 60 s (still ${answer.version})`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const loadMs = performance.now() - started;
        for (let r = 0; r < requestsPerVersion; r++) await explore(dev.url, `${userId}-${r}`);
        // the release runs after the request that swapped versions; give it (and the GC) a moment
        await new Promise((resolve) => setTimeout(resolve, 500));
        const bytes = workerdResidentBytes(dev.pid);
        rows.push({ switch: i, version, bytes, loadMs });
        console.log(`switch ${String(i).padStart(2)}  ${version.padEnd(28)} workerd RSS ${mib(bytes).padStart(10)}  (served after ${loadMs.toFixed(0)} ms)`);
      }
    } finally {
      await dev.stop();
    }
    const base = rows[warmup] as (typeof rows)[number];
    const last = rows[rows.length - 1] as (typeof rows)[number];
    const peak = Math.max(...rows.slice(warmup).map((row) => row.bytes));
    const growth = (last.bytes - base.bytes) / base.bytes;
    console.log(`after ${warmup} warm-up switches: ${mib(base.bytes)}; after ${switches}: ${mib(last.bytes)} (${(growth * 100).toFixed(1)}%), peak ${mib(peak)}; limit +${(maxGrowth * 100).toFixed(0)}%`);
    if (growth > maxGrowth) {
      console.error(`FAIL: workerd resident memory grew ${(growth * 100).toFixed(1)}% over ${switches - warmup} bundle switches`);
      process.exitCode = 1;
    }
  } finally {
    await local.dispose();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

await main();
