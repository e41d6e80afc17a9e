// Local publishing end to end: bundle directory -> the local KV that `wrangler dev` serves -> the Worker's /health.
import { spawn, type ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packArrays } from "../../../core/bundle/packed";
import { patternBytes, sampleBundle } from "../../../core/bundle/sample";
import { copyFixtureBundle } from "../../support/fixture-bundle";
import { loadBundleDirectory } from "../../../scripts/lib/kv-bundle-directory";
import { openLocalKv } from "../../../scripts/lib/kv-local";
import { publishDirectory } from "../../../scripts/lib/kv-publish";
import { loadBundle, readActiveVersion } from "../../../core/bundle/store";
import { offlineOnlyFiles } from "../../../core/serving/bundle-manifest";
import { isItemTowerFile } from "../../../core/live-items/embed";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..", "..");
const wranglerBin = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const tsxBin = join(root, "node_modules", "tsx", "dist", "cli.mjs");

let work: string;
let persistTo: string;

async function writeBundleDirectory(directory: string, version: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const { manifest, files: bytes } = await sampleBundle(version, files, { serving: { note: "test" } });
  for (const [path, content] of bytes) {
    await mkdir(dirname(join(directory, path)), { recursive: true });
    await writeFile(join(directory, path), content);
  }
  await writeFile(join(directory, "manifest.json"), JSON.stringify(manifest, null, 2));
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "bundle-publish-test-"));
  persistTo = join(work, "state");
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("npm run publish -- --local", () => {
  it("publishes into wrangler's local KV: wrangler's own CLI and wrangler dev read it, and a new version is picked up without a restart", async () => {
    const v1 = join(work, "v1");
    const big = patternBytes(26 * 1024 * 1024 + 5, 3); // over the 25 MiB value limit: two chunks
    // a real bundle (the Worker decodes it) with one extra file too big for one KV value
    await copyFixtureBundle(v1, "local-v1", { "extra/large.bin": big });
    const v1Directory = await loadBundleDirectory(v1);
    const v1Files = v1Directory.files;
    const report = await publishDirectory(v1, { kind: "local", configPath: join(root, "wrangler.toml"), persistTo, binding: "BUNDLES" }, { log: () => {} });
    // one value per file serving reads (the offline-only ones stay out), one more for the large file's second chunk,
    // then manifest, versions index and pointer
    const offline = offlineOnlyFiles(v1Directory.manifest);
    expect(offline.length).toBeGreaterThan(0);
    expect(report).toMatchObject({ version: "local-v1", upload: "uploaded", activated: true, valuesWritten: v1Files.size - offline.length + 1 + 3 });
    console.log(`local publish of ${(big.byteLength / 2 ** 20).toFixed(0)} MiB: ${JSON.stringify(report.seconds)}`);

    // Read back through the same namespace: every byte and hash as published.
    const local = await openLocalKv({ configPath: join(root, "wrangler.toml"), persistTo });
    try {
      expect(await readActiveVersion(local.kv)).toBe("local-v1");
      const loaded = await loadBundle(local.kv, "local-v1");
      expect([...loaded.files.keys()].sort()).toEqual([...v1Files.keys()].filter((path) => !offline.includes(path)).sort());
      // loadBundle checked every file's size and sha256 against the manifest (gzip-stored ones after inflating)
      expect(loaded.manifest.kv_storage).toMatchObject({ chunks: { "extra/large.bin": 2, "config/serving.json": 1 }, omitted: offline });
    } finally {
      await local.dispose();
    }

    // wrangler's own `kv key get --local --binding BUNDLES` finds the pointer: same namespace id, same persistence.
    const { stdout } = await run(process.execPath, [wranglerBin, "kv", "key", "get", "bundle/active", "--local", "--binding", "BUNDLES", "--persist-to", persistTo, "--text"], { cwd: root });
    expect(stdout.trim()).toBe("local-v1");

    // wrangler dev, configured only by wrangler.toml and --persist-to, serves that bundle.
    const port = await freePort();
    const dev: ChildProcess = spawn(
      process.execPath,
      [wranglerBin, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo, "--var", "BUNDLE_REFRESH_SECONDS:0", "--show-interactive-dev-session=false"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let devOutput = "";
    dev.stdout?.on("data", (chunk: Buffer) => (devOutput += chunk.toString()));
    dev.stderr?.on("data", (chunk: Buffer) => (devOutput += chunk.toString()));
    try {
      const health = async () => (await fetch(`http://127.0.0.1:${port}/health`)).json() as Promise<{ status: string; bundle: { version: string; files: number; bytes: number } | null; degraded: string[] }>;
      const waitFor = async (predicate: (body: Awaited<ReturnType<typeof health>>) => boolean, what: string) => {
        const deadline = Date.now() + 60_000;
        let last: unknown = "no answer";
        while (Date.now() < deadline) {
          try {
            const body = await health();
            last = body;
            if (predicate(body)) return body;
          } catch (error) {
            last = (error as Error).message;
          }
          await new Promise((resolveSleep) => setTimeout(resolveSleep, 250));
        }
        throw new Error(`timed out waiting for ${what}; last /health: ${JSON.stringify(last)}\nwrangler dev output:\n${devOutput}`);
      };
      const first = await waitFor((body) => body.bundle !== null, "wrangler dev to load the bundle");
      // the Worker holds what serving reads: every file but the offline-only ones and the item towers (published, but read only once a live item needs them)
      const held = (path: string) => !offline.includes(path) && !isItemTowerFile(path);
      expect(first).toMatchObject({ status: "ok", degraded: [], bundle: { version: "local-v1", files: [...v1Files.keys()].filter(held).length } });
      expect(first.bundle?.bytes).toBe([...v1Files].reduce((sum, [path, bytes]) => sum + (held(path) ? bytes.byteLength : 0), 0));

      // Publish v2 while wrangler dev runs: the Worker switches on its next check, no restart.
      const v2 = join(work, "v2");
      await copyFixtureBundle(v2, "local-v2");
      await publishDirectory(v2, { kind: "local", configPath: join(root, "wrangler.toml"), persistTo, binding: "BUNDLES" }, { log: () => {} });
      const second = await waitFor((body) => body.bundle?.version === "local-v2", "wrangler dev to switch to local-v2");
      expect(second).toMatchObject({ status: "ok", bundle: { version: "local-v2", files: [...v1Files.keys()].filter(held).length - 1 } });
    } finally {
      dev.kill("SIGTERM");
      await new Promise((resolveExit) => (dev.exitCode !== null ? resolveExit(undefined) : dev.once("exit", resolveExit)));
    }
  }, 180_000);
});

describe("scripts/publish.ts", () => {
  const cli = (args: string[]) =>
    run(process.execPath, [tsxBin, join(root, "scripts", "publish.ts"), ...args], { cwd: root }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  it("refuses a corrupt bundle (exit 1) and writes nothing", async () => {
    const directory = join(work, "corrupt");
    await writeBundleDirectory(directory, "corrupt-v1", { "a.bin": patternBytes(100, 1), "b.json": "[1,2]" });
    await writeFile(join(directory, "a.bin"), patternBytes(100, 2)); // same size, other bytes
    await rm(join(directory, "b.json"));
    const statePath = join(work, "corrupt-state");
    const result = await cli(["--bundle", directory, "--local", "--persist-to", statePath]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: bundle corrupt-v1 is corrupt; nothing was uploaded:/);
    expect(result.stderr).toMatch(/a\.bin: sha256 [0-9a-f]+ does not match the manifest's/);
    expect(result.stderr).toMatch(/b\.json: missing/);
    const local = await openLocalKv({ configPath: join(root, "wrangler.toml"), persistTo: statePath });
    try {
      expect(await readActiveVersion(local.kv)).toBeNull();
      expect(await local.kv.getText("bundle/corrupt-v1/manifest.json")).toBeNull();
    } finally {
      await local.dispose();
    }
  }, 60_000);

  it("--remote --dry-run prints the wrangler commands in order, pointer last, and touches nothing", async () => {
    const directory = join(work, "dry");
    await writeBundleDirectory(directory, "dry-v1", { "models/m.onnx": patternBytes(50, 1), "lists/l.json": "[]" });
    const result = await cli(["--bundle", directory, "--remote", "--dry-run", "--chunk-bytes", "20"]);
    expect(result.code).toBe(0);
    const commands = result.stderr.split("\n").filter((line) => line.startsWith("[dry run] wrangler"));
    const keys = commands.map((line) => /kv key put (\S+)/.exec(line)?.[1]);
    expect(keys).toEqual([
      "bundle/dry-v1/files/lists/l.json",
      "bundle/dry-v1/files/models/m.onnx#0",
      "bundle/dry-v1/files/models/m.onnx#1",
      "bundle/dry-v1/files/models/m.onnx#2",
      "bundle/dry-v1/manifest.json",
      "bundle/versions",
      "bundle/active",
    ]);
    for (const line of commands) expect(line).toMatch(/--binding BUNDLES --remote --config \S+wrangler\.toml --path <file>/);
  }, 60_000);

  it("explains usage mistakes (exit 2)", async () => {
    const result = await cli(["--local"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: --bundle <dir> is required\nusage: npm run publish/);
    expect((await cli(["--bundle", "x", "--local", "--remote"])).stderr).toMatch(/choose one of --local and --remote/);
  }, 60_000);
});
