// A small model bundle for tests that need a real one (the funnel, the Worker's routes), built by the real
// pipeline from seeded synthetic data. Built once per code version and cached in the temp directory: the key
// hashes the code the bundle depends on, so a change to features, models or the pipeline rebuilds it.
import { spawn } from "node:child_process";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_SOURCES, sourceHash as bundleSourceHash } from "../../scripts/lib/source-hash";
import { syntheticDay, writeSyntheticKuaiRand } from "../../scripts/models/synthetic-kuairand";

export const FIXTURE_DATA_OPTIONS = { users: 400, items: 320, days: 5, seed: 11 } as const;
/** The fixture is trained through its fourth day; the fifth is left for tests that need "future" events. */
export const FIXTURE_TRAIN_END = syntheticDay(3);

const INPUTS = [...BUNDLE_SOURCES, "scripts/models/synthetic-kuairand.ts"];

/** A hash of the code a bundle depends on (and of `salt`): bundles built by tests are cached under it. */
export function sourceHash(salt: string = JSON.stringify(FIXTURE_DATA_OPTIONS)): Promise<string> {
  return bundleSourceHash(INPUTS, salt);
}

/** The directory of the fixture bundle, building it first when this code version has none. */
export async function fixtureBundleDirectory(): Promise<{ bundle: string; data: string }> {
  const root = join(tmpdir(), `explore-edge-ranker-fixture-${await sourceHash()}`);
  const bundle = join(root, "bundle");
  const data = join(root, "data");
  if (await exists(join(bundle, "manifest.json"))) return { bundle, data };
  const building = `${root}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(join(building, "data"), { recursive: true });
  await writeSyntheticKuaiRand(join(building, "data"), FIXTURE_DATA_OPTIONS);
  await run(["--import", "tsx", "scripts/pipeline.ts", "--data", join(building, "data"), "--train-end", FIXTURE_TRAIN_END, "--out", join(building, "bundle"), "--seed", "5"]);
  // another process may have finished first; either copy is the same bundle
  await rename(building, root).catch(async () => rm(building, { recursive: true, force: true }));
  return { bundle, data };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** Runs `node <args>` from the repository root; rejects with the whole output when it exits non-zero. */
export function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`node ${args.join(" ")} exited with ${code}\n${output}`))));
  });
}

/**
 * A copy of the fixture bundle under another version, optionally with extra files (listed in its manifest with
 * their hashes): for tests that publish and serve a real bundle, several versions of it, or a large one.
 */
export async function copyFixtureBundle(target: string, version: string, extraFiles: Readonly<Record<string, Uint8Array | string>> = {}): Promise<void> {
  const { bundle } = await fixtureBundleDirectory();
  const { buildManifestFiles } = await import("../../core/bundle/manifest");
  const manifest = JSON.parse(await readFile(join(bundle, "manifest.json"), "utf8")) as { version: string; files: Record<string, unknown> };
  const files = new Map<string, Uint8Array>();
  for (const path of Object.keys(manifest.files)) files.set(path, new Uint8Array(await readFile(join(bundle, ...path.split("/")))));
  for (const [path, content] of Object.entries(extraFiles)) files.set(path, typeof content === "string" ? new TextEncoder().encode(content) : content);
  for (const [path, bytes] of files) {
    await mkdir(join(target, ...path.split("/").slice(0, -1)), { recursive: true });
    await writeFile(join(target, ...path.split("/")), bytes);
  }
  await writeFile(join(target, "manifest.json"), JSON.stringify({ ...manifest, version, files: await buildManifestFiles(files) }, null, 2));
}
