/**
 * npm start [-- [--bundle <dir>] [wrangler dev flags, e.g. --port 9000 --persist-to <dir>]]
 *
 * Everything a fresh clone needs to serve locally, then `wrangler dev` on http://127.0.0.1:8787:
 *   1. `.dev.vars` from `.dev.vars.example` (the local secrets), when missing;
 *   2. the default model bundle in `bundles/default` (`npm run pipeline`), when missing;
 *   3. that bundle (or `--bundle <dir>`) published into the local KV that wrangler dev serves (the same
 *      `--persist-to` as wrangler dev), when the local `bundle/active` names another version;
 *   4. `wrangler dev`, with this terminal's stdio and signals; other flags go to it unchanged.
 * Steps 2–3 failing is not fatal: the Worker then starts without a bundle and answers in degraded mode (/health says why).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { access, copyFile, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BundleError } from "../core/bundle/errors";
import type { BundleKvWriter } from "../core/bundle/kv";
import { manifestKey, parseStoredManifestText } from "../core/bundle/kv-layout";
import { parseManifestText } from "../core/bundle/manifest";
import { formatBytes, publishBundle, readActiveVersion } from "../core/bundle/store";
import { defaultBundleDirectory, ensureBundle } from "./lib/default-bundle";
import { readBundleDirectory } from "./lib/kv-bundle-directory";
import { openLocalKv } from "./lib/kv-local";
import { servingPublishOptions } from "../core/serving/bundle-manifest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_DEV_VARS = "INGEST_TOKEN=dev-ingest-token\nADMIN_TOKEN=dev-admin-token\n";

const { bundleOption, persistTo, wranglerArgs } = splitArguments(process.argv.slice(2));
const DEFAULT_TRAIN_END = "20220503";
const bundleDirectory = bundleOption === undefined ? join(root, defaultBundleDirectory(DEFAULT_TRAIN_END)) : resolve(bundleOption);
// Everything below (the pipeline, wrangler dev, relative --persist-to) works from the repository root, as under npm.
process.chdir(root);

await ensureDevVars();
if (bundleOption === undefined) await ensureDefaultBundle();
await publishBundleLocally();
await runWranglerDev(wranglerArgs);

/** `--bundle` is ours; `--persist-to` is wrangler's and ours (publish where wrangler dev reads); the rest is wrangler's. */
function splitArguments(args: readonly string[]): { bundleOption?: string; persistTo?: string; wranglerArgs: string[] } {
  let bundle: string | undefined;
  let persist: string | undefined;
  const rest: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (flag === "--bundle" || flag === "--persist-to") {
      const value = inline ?? args[++index];
      if (value === undefined) throw new Error(`${flag} needs a directory`);
      if (flag === "--bundle") bundle = value;
      else {
        persist = value;
        rest.push("--persist-to", value);
      }
      continue;
    }
    rest.push(arg);
  }
  if (!rest.some((arg) => arg === "--ip" || arg.startsWith("--ip="))) rest.unshift("--ip", "127.0.0.1");
  if (!rest.some((arg) => arg === "--port" || arg.startsWith("--port="))) rest.unshift("--port", "8787");
  return { bundleOption: bundle, persistTo: persist, wranglerArgs: rest };
}

async function ensureDevVars(): Promise<void> {
  const devVars = join(root, ".dev.vars");
  const example = join(root, ".dev.vars.example");
  if (await exists(devVars)) return;
  if (!(await exists(example))) {
    await writeFile(example, DEFAULT_DEV_VARS);
    say(`created .dev.vars.example with development tokens`);
  }
  await copyFile(example, devVars);
  say(`created .dev.vars from .dev.vars.example`);
}

async function ensureDefaultBundle(): Promise<void> {
  if (await exists(join(bundleDirectory, "manifest.json"))) return;
  if (!(await exists(join(root, "scripts", "pipeline.ts")))) {
    say("no bundles/default and no scripts/pipeline.ts to build it: the Worker will run without a model bundle (degraded, see /health)");
    return;
  }
  const started = performance.now();
  try {
    // The same build the eval harness uses for the default training window (train through 2022-05-03).
    await ensureBundle(defaultBundleDirectory(DEFAULT_TRAIN_END), "data/kuairand-pure", DEFAULT_TRAIN_END, say);
    say(`built bundles/default in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    say(`${(error as Error).message}: the Worker will run without a model bundle (degraded, see /health)`);
  }
}

/** Publishes the bundle into the local KV unless `bundle/active` already names its version. */
async function publishBundleLocally(): Promise<void> {
  const manifestPath = join(bundleDirectory, "manifest.json");
  let version: string;
  try {
    version = parseManifestText(await readFile(manifestPath, "utf8"), manifestPath).version;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      if (bundleOption !== undefined) say(`${manifestPath} does not exist: the Worker will serve whatever the local KV holds`);
      return;
    }
    say(`${manifestPath} is unusable, not publishing it: ${(error as Error).message}`);
    return;
  }
  const started = performance.now();
  const local = await openLocalKv({ configPath: join(root, "wrangler.toml"), persistTo });
  try {
    const active = await readActiveVersion(local.kv).catch(() => null);
    if (active === version) {
      await warnIfRebuiltWithSameVersion(local.kv, version);
      say(`local KV already serves bundle ${version}`);
      return;
    }
    const bundle = await readBundleDirectory(bundleDirectory);
    const report = await publishBundle(local.kv, bundle.manifest, bundle.files, { ...servingPublishOptions(bundle.manifest), log: (line) => say(`  ${line}`) });
    say(`published bundle ${version} locally (${report.valuesWritten} values, ${formatBytes(report.bytesWritten)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    say(`could not publish ${bundleDirectory} (the Worker serves whatever the local KV already holds):\n${error.message}`);
  } finally {
    await local.dispose();
  }
}

/** Same version, different files: versions are immutable in KV, so the Worker would keep serving the old bytes. */
async function warnIfRebuiltWithSameVersion(kv: BundleKvWriter, version: string): Promise<void> {
  const storedText = await kv.getText(manifestKey(version));
  if (storedText === null) return;
  const stored = parseStoredManifestText(storedText, manifestKey(version));
  const local = parseManifestText(await readFile(join(bundleDirectory, "manifest.json"), "utf8"));
  const same = JSON.stringify(Object.entries(stored.files).sort()) === JSON.stringify(Object.entries(local.files).sort());
  if (!same) say(`warning: ${bundleDirectory} has different files than the published ${version}; give the new bundle a new version to serve it`);
}

async function runWranglerDev(extraArgs: readonly string[]): Promise<never> {
  const wranglerBin = join(createRequire(import.meta.url).resolve("wrangler/package.json"), "..", "bin", "wrangler.js");
  const child = spawn(process.execPath, [wranglerBin, "dev", ...extraArgs], { cwd: root, stdio: "inherit" });
  // The first signal is passed on (wrangler shuts workerd down cleanly); a second one means "now": SIGKILL.
  let signalsSeen = 0;
  const passOn = (signal: NodeJS.Signals) => {
    signalsSeen++;
    if (child.exitCode === null && child.signalCode === null) child.kill(signalsSeen === 1 ? signal : "SIGKILL");
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => passOn(signal));
  // `npm start` runs us under `sh -c`; a SIGTERM to npm kills that shell, not us. Being re-parented means whoever
  // started us is gone: stop wrangler dev rather than leave it running with nobody to stop it.
  const launcher = process.ppid;
  const watchLauncher = setInterval(() => {
    if (process.ppid !== launcher) {
      clearInterval(watchLauncher);
      passOn("SIGTERM");
    }
  }, 1000);
  watchLauncher.unref();
  const code = await waitForExit(child);
  process.exit(code);
}

function waitForExit(child: ChildProcess): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 128 + signalNumber(signal))));
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function say(line: string): void {
  console.error(`[start] ${line}`);
}
